"""The register layouts of ECON-T configuration files, and which one a file uses.

The chip's configuration files exist in several layouts across its generations:

- ``rw``: ``ECON-T: RW: <block>: registers: <reg>: value`` with bit fields as
  ``params: <field>: param_value`` (the prototype's test software, AE/init.yaml);
- ``rw-flat``: the same blocks with bit fields written as flat registers
  (``FMTBUF_ALL: registers: eporttx_numen: value: 5``);
- ``intermediate``: top-level blocks ``Algorithm`` (or ``ConfigAlgo``),
  ``AlgoThreshold``, ``AlgoDroplsb``, ``Cal``, ``Mux``, ``FormatterBuffer:
  Global`` and ``Encoder`` (the emulator's test vectors, algorithms/*/init.yaml);
- ``production``: the production chip's blocks ``ConfigAlgo``, ``AlgoThreshold``,
  ``AlgoDroplsb``, ``Cal``, ``Mux``, ``Encoder`` and ``FormatterBuffer`` with
  decimal values, an ``active_etxs`` bit mask and the 144-bit
  ``keep_auto_encoder_bits`` latent mask (which tells it from ``intermediate``).

In every layout a register the file leaves out holds the chip's reset value
(resets.py). Each layout is a ``base.Layout``: ``matches(doc)`` (the top level is
this layout's), ``read(doc, path)``, ``write(cfg, header)`` and ``registers``
(ChipConfig field -> the register's name in that layout's files, for messages).
"""

from __future__ import annotations

from ...errors import UserError
from . import intermediate, production, rw

LAYOUTS = {
    "rw": rw.NESTED,
    "rw-flat": rw.FLAT,
    "intermediate": intermediate.LAYOUT,
    "production": production.LAYOUT,
}
DEFAULT_WRITE_LAYOUT = "production"
LAYOUT_NAMES = tuple(LAYOUTS)


def field_register(layout: str | None, name: str) -> str | None:
    lay = LAYOUTS.get(layout or "")
    return lay.registers.get(name) if lay is not None else None


def _top_keys(doc) -> str:
    if not isinstance(doc, dict):
        return f"a {type(doc).__name__}, not a mapping"
    keys = [str(k) for k in doc][:8]
    return "top-level keys " + (", ".join(keys) if keys else "(none)") + (" ..." if len(doc) > 8 else "")


def detect(doc) -> str:
    """The name of the layout ``doc`` is written in; one-line error naming what was found otherwise."""
    found = [name for name, lay in LAYOUTS.items() if lay.matches(doc)]
    # rw and rw-flat match the same top level; the rw reader tells them apart by the fields it meets.
    if set(found) >= {"rw", "rw-flat"}:
        found = [rw.flavour(doc)] + [f for f in found if f not in ("rw", "rw-flat")]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UserError(f"not an ECON-T configuration in a known layout ({_top_keys(doc)}; "
                        f"layouts read: {', '.join(LAYOUT_NAMES)})")
    raise UserError(f"ambiguous layout: {_top_keys(doc)} fit {', '.join(found)}; give --layout")


def read_document(doc, path: str, layout: str | None = None):
    """A ChipConfig from a parsed file (``layout`` None: detect it)."""
    if layout is None:
        layout = detect(doc)
    elif layout not in LAYOUTS:
        raise UserError(f"unknown layout {layout!r}; layouts: {', '.join(LAYOUT_NAMES)}")
    elif not LAYOUTS[layout].matches(doc):
        raise UserError(f"not in layout {layout} ({_top_keys(doc)})")
    cfg = LAYOUTS[layout].read(doc, path)
    cfg.layout = layout
    return cfg


def write_document(cfg, header: str, layout: str) -> str:
    if layout not in LAYOUTS:
        raise UserError(f"unknown layout {layout!r}; layouts: {', '.join(LAYOUT_NAMES)}")
    return LAYOUTS[layout].write(cfg, header)
