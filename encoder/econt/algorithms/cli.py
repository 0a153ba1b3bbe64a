"""``encoder econt run``: the chip's output words for whatever algorithm the configuration selects."""

from __future__ import annotations

from pathlib import Path

HELP = "run the configuration's algorithm on eRx words -> the chip's output words (testOutput.csv)"
DESCRIPTION = """\
Run the ECON-T chip on its eRx input words with the algorithm the configuration
selects (Algorithm select / MFC_ALGORITHM_SEL_DENSITY.algo.select):
  0 threshold sum       cells at or above their thresholds, variable-size frames
  1 super trigger cells sums of 4 or 16 cells (stc_type 0-3)
  2 best choice         the highest cells the e-links carry
  3 repeater            every cell's charge
  4 autoencoder         the chip's encoder (weight image in the configuration)
Frames go through the formatter buffer (thresholds buff_t1/t2/t3; frames that do
not fit are replaced by truncated frames). Registers the file leaves out hold
the chip's reset values (see `encoder econt convert`). Writes one row per BX in
the chip's testOutput.csv format: TX_DATA_0..12, 8 hex digits per 32-bit word,
unused e-links 00000000.
"""


def register(sub, raw_formatter, layout_option) -> None:
    r = sub.add_parser("run", help=HELP, description=DESCRIPTION, formatter_class=raw_formatter)
    r.add_argument("--config", required=True, help="ECON-T configuration (init.yaml, any register layout)")
    r.add_argument("--input", required=True, help="testInput.csv (eRx words RX_DATA_0..11)")
    r.add_argument("--out", required=True, help="CSV to write (TX_DATA_0..12)")
    layout_option(r)
    r.add_argument("--force", action="store_true", help="replace an existing output file")
    r.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from ...files import check_writable, write_text
    from ..erx import read_words
    from ..framing import format_tx_csv
    from ..registers import ALGORITHMS, read_config
    from .run import SUPER_TRIGGER_CELL, run_chip

    check_writable(args.out, args.force)
    cfg = read_config(args.config, args.layout)
    words = read_words(args.input)
    res = run_chip(cfg, words)
    write_text(args.out, format_tx_csv(res.words), overwrite=args.force)
    extra = f" (STC type {cfg.stc_type})" if res.algorithm == SUPER_TRIGGER_CELL else ""
    buf = (f"; buffer: {res.t1_truncations} frames truncated at T1, {res.t2_truncations} at T2/T3, "
           f"at most {res.max_fill} words waiting") if not res.notes else f"; {res.notes[0]}"
    print(f"{Path(args.out)}: {len(res.words)} BX of {ALGORITHMS[res.algorithm]}{extra} on {res.n_elinks} "
          f"e-links in {res.seconds:.2f} s{buf}")
    return 0
