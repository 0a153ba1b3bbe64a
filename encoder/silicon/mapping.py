"""Map a generated design to a standard-cell library with yosys, module by module.

The same hierarchical flow as the generic estimate (``encoder.rtl_gen.synth``):
each distinct module is synthesized once, so an ECON-T-sized design maps in
minutes. After the coarse and fine ``synth`` steps, flip-flops go to the
library's flip-flops (``dfflibmap``) and logic to its gates (``abc
-liberty``, delay target a fifth of the clock period, so ABC maps for speed
and sizes gates). The netlist is then made readable for OpenSTA and the cell
models (constants to tie cells, port bits split, buffers where a wire
would join two ports) and written as one hierarchical Verilog file.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import interrupts
from ..errors import UserError
from ..pdk import Library, cell_areas, write_mapping, write_plain
from . import fanout
from ..rtl_gen.synth import _paramod_names, _read_stat_json, design_sources, module_tree, yosys_version

ABC_MODULE = re.compile(r"^\d+\.\d+\. Extracting gate netlist of module `(.+?)' to")
# Merged into the top module before mapping (see ``script``): the input path and its primitives.
# Not the configuration blocks: merged, they made the top too big for ABC to map the input path
# well (econt_8x8 programmable: the normalisers' stage 25.3 ns against 15.5 ns beside constant
# weights) and did not buffer the address fanout either (configuration writes at 7.6 MHz both ways).
FLATTENED = ("enc_leading_one", "enc_normalise", "enc_sum_code")
# Loads per net after mapping; above it, a tree of the library's fanout buffer (encoder.silicon.fanout).
MAX_FANOUT = 12
SEQUENTIAL = re.compile(r"\bff\s*\(|\blatch\s*\(")


@dataclass
class Mapped:
    """A design mapped to cells: the netlist file and what stat counted."""

    top: str
    netlist: Path
    liberty: Path                    # complete Liberty text (for OpenSTA)
    area_um2: float
    cells: int
    cells_by_type: dict[str, int]
    flip_flops: int
    seconds: float
    yosys: str
    abc: str
    dont_use: list[str] = field(default_factory=list)
    per_module: list[dict] = field(default_factory=list)   # module, instances, area each
    areas: dict[str, float] = field(default_factory=dict)  # every cell of the library, um^2
    sequential: frozenset[str] = frozenset()               # the library's flip-flops and latches
    log: list[str] = field(default_factory=list)


def front(sources: list[Path], top: str) -> list[str]:
    """The script up to yosys' coarse synthesis. encoder.verify.replay runs it again to the letter: yosys
    orders a multi-operand adder's bits by the order its wires' names were made, so only the same
    commands on the same files build the same compressor trees."""
    return [
        "\n".join(f"read_verilog -defer {s}" for s in sources),
        f"hierarchy -check -top {top}",
        # ABC buffers high fanouts only within the module it maps: the input path's shift amount
        # drives every cell's normaliser across module boundaries. Flattening the input path into
        # the top lets one ABC run see and buffer it (measured: 35 -> 10 ns on a tiny design).
        # Everything else keeps its hierarchy, so each distinct MAC is still mapped once.
        "setattr -mod -set keep_hierarchy 1",
        f"setattr -mod -unset keep_hierarchy {top}_input_path " + " ".join(f"*{m}*" for m in FLATTENED),
        "flatten",
        f"synth -top {top} -run begin:fine",
    ]


def script(sources: list[Path], top: str, maplib: Path, lib: Library, clock_ns: float, abc: str,
           netlist: Path, stat_json: Path) -> str:
    lines = front(sources, top) + [
        "synth -run fine:check",
        f"dfflibmap -liberty {maplib}",
        abc_command(maplib, clock_ns, abc),
        "opt_clean -purge",
        # OpenSTA's 2019 parser and the cell models need plain netlists: no undefined bits,
        # port buses split, constants from tie cells, no port-to-port assignments.
        "setundef -zero",
        "splitnets -ports",
    ]
    if lib.tie:
        cell, hi, lo = lib.tie
        lines.append(f"hilomap -singleton -hicell {cell} {hi} -locell {cell} {lo}")
    if lib.buffer:
        cell, a, y = lib.buffer
        lines.append(f"insbuf -buf {cell} {a} {y}")
    lines += [
        "opt_clean -purge",
        f"tee -q -o {stat_json} stat -json -liberty {maplib} -top {top}",
        f"stat -liberty {maplib} -top {top}",
        f"write_verilog -noattr -noexpr -nohex -nodec {netlist}",
    ]
    return "\n".join(lines) + "\n"


# ABC sees one module at a time, and a module is only part of a register-to-register stage
# (the input path, then a layer's products and tree, all between the same two registers). With
# the clock as its target ABC trades a module's speed for area as if the module had the whole
# period. Measured on econt_8x8 programmable with one stage at conv.tree, at 25 ns: target 25 ns,
# slack -4.08 ns and 6.7527 mm^2; target 5 ns, slack +1.93 ns and 6.7994 mm^2 (+0.7 %).
ABC_TARGET_FRACTION = 0.2


def abc_target_ns(clock_ns: float) -> float:
    return clock_ns * ABC_TARGET_FRACTION


def abc_command(maplib: Path, clock_ns: float, abc: str) -> str:
    """ABC mapping: for speed (default) or area.

    yosys 0.23's liberty script with a delay target maps for delay but does not
    buffer or size gates, so a minimum-size gate ends up driving a fanout of
    hundreds (measured: one o21ai_0 at 14 ns). The script below is yosys'
    own followed by ABC's buffering and gate sizing against the same target.
    """
    if abc == "fast":
        return f"abc -liberty {maplib} -fast"
    d = int(round(abc_target_ns(clock_ns) * 1000))
    steps = ["strash", "&get -n", "&fraig -x", "&put", "scorr", "dc2", "dretime", "strash", "&get -n",
             "&dch -f", f"&nf -D {d}", "&put", "buffer -p", f"upsize -D {d}", f"dnsize -D {d}", "stime -p"]
    return f"abc -liberty {maplib} -D {d} -script +" + ";".join(x.replace(" ", ",") for x in steps)


def map_design(design_dir: str | Path, lib: Library, work: Path, clock_ns: float = 25.0, abc: str = "delay",
               progress: bool = True) -> Mapped:
    """Map ``design_dir`` to ``lib``; the netlist and the Liberty copies go to ``work``."""
    design_dir = Path(design_dir)
    manifest, top, sources = design_sources(design_dir)
    version = yosys_version()
    work.mkdir(parents=True, exist_ok=True)
    plain = write_plain(lib, work / "library.lib")
    maplib, dropped = write_mapping(lib, work / "library_mapping.lib")
    netlist = work / "netlist.v"
    stat_json = work / "stat.json"
    ys = work / "map.ys"
    ys.write_text(script([s.resolve() for s in sources], top, maplib, lib, clock_ns, abc, netlist, stat_json))
    log: list[str] = []
    t0 = time.monotonic()
    rc = _run(ys, log, progress)
    seconds = time.monotonic() - t0
    if rc != 0:
        tail = "\n".join(log[-15:])
        raise UserError(f"yosys failed mapping {design_dir} to {lib.name} (exit {rc}); last lines:\n{tail}")
    stat = _read_stat_json(stat_json)
    text = plain.read_text()
    areas = cell_areas(text)
    if lib.fanout_buffer:
        trees = fanout.buffer_fanout(netlist.read_text(), fanout.pin_directions(text), lib.fanout_buffer,
                                     MAX_FANOUT)
        netlist.write_text(trees.text)
        _add_cells(stat, trees.added, lib.fanout_buffer[0])
        log.append(f"fanout trees: {sum(trees.nets.values())} nets over {MAX_FANOUT} loads buffered with "
                   f"{sum(trees.added.values())} {lib.fanout_buffer[0]} (largest fanout {trees.worst_before})")
    sequential = frozenset(sequential_cells(text))
    by_type, per_module = _totals(stat, top, areas)
    readable = _paramod_names(log)
    for m in per_module:
        m["module"] = readable.get(m["module"], m["module"])
    area = sum(n * areas.get(c, 0.0) for c, n in by_type.items())
    missing = sorted(c for c in by_type if c not in areas)
    if missing:
        raise UserError(f"mapped netlist uses cells without an area in {lib.liberty}: {', '.join(missing[:5])}")
    return Mapped(top=top, netlist=netlist, liberty=plain, area_um2=area, cells=sum(by_type.values()),
                  cells_by_type=by_type, flip_flops=sum(n for c, n in by_type.items() if c in sequential),
                  seconds=seconds, yosys=version,
                  abc=f"abc -liberty, delay target {abc_target_ns(clock_ns):g} ns, buffering and gate sizing; fanout trees "
                  f"over {MAX_FANOUT} loads" if abc != "fast"
                  else "abc -liberty -fast (area)", dont_use=dropped, per_module=per_module, log=log,
                  areas=areas, sequential=sequential)


def _add_cells(stat: dict, added: dict[str, int], cell: str) -> None:
    """Count the fanout buffers into yosys' per-module statistics (the netlist changed after stat)."""
    mods = stat.get("modules", {})
    by_name = {k.lstrip("\\"): k for k in mods}
    for module, n in added.items():
        entry = mods[by_name[module.lstrip("\\")]]
        types = entry.setdefault("num_cells_by_type", {})
        types[cell] = types.get(cell, 0) + n
        entry["num_cells"] = entry.get("num_cells", 0) + n


def sequential_cells(text: str) -> set[str]:
    """Cells with an ``ff`` or ``latch`` group: the library's flip-flops and latches."""
    from ..pdk import _cell_spans
    return {name for name, start, end in _cell_spans(text) if SEQUENTIAL.search(text, start, end)}


def _totals(stat: dict, top: str, areas: dict[str, float]) -> tuple[dict[str, int], list[dict]]:
    """Cells by type over the whole hierarchy and each module's own area, from stat -json."""
    by_type, instances, mods = module_tree(stat, top)
    if not instances:
        raise UserError(f"yosys stat did not report the top module {top}")
    per = []
    for name, n in instances.items():
        own = sum(m * areas.get(c, 0.0) for c, m in mods[name].get("num_cells_by_type", {}).items()
                  if c.lstrip("\\") not in mods)
        per.append({"module": name, "instances": n, "area_um2": round(own, 3), "total_um2": round(n * own, 3)})
    per.sort(key=lambda m: -m["total_um2"])
    return by_type, per


def _run(ys: Path, log: list[str], progress: bool) -> int:
    from tqdm import tqdm
    proc = interrupts.popen(["yosys", "-s", str(ys)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    bar = tqdm(desc="map to cells", unit="module", disable=not progress or None, leave=False)
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            log.append(line)
            m = ABC_MODULE.match(line)
            if m:
                bar.update(1)
                bar.set_postfix_str(m.group(1)[-40:])
        return proc.wait()
    finally:
        interrupts.release(proc)
        bar.close()
