"""Area and timing estimates of a generated design with yosys (generic gates).

The flow keeps the design hierarchical: yosys synthesizes each distinct
module once (a multiplier primitive of given widths, one MAC module
shared by all outputs with the same number of products, ...) and ``stat
-top`` multiplies by the instance counts. A flat sum-of-products of an
ECON-T-sized encoder does not finish in ABC within many minutes; module by
module it takes about a minute with programmable weights and two to three
with constant weights (measured with yosys 0.23 on the chip configuration
and econt_8x8: 36-57 s and 142-196 s).

Steps (one yosys process):
  read the manifest's sources; hierarchy; coarse synthesis (``synth -run
  begin:fine``: proc, word-level optimisation, alumacc); fine synthesis
  (``synth -run fine:check``: techmap to gates, then ``abc -fast`` to
  yosys' default gate library, as a plain ``synth`` does); flip-flops
  legalised to plain D flip-flops (enables and resets become gates, so
  ``stat -tech cmos`` can count them: it knows only plain cells); ``abc -g
  cmos2`` (``-fast`` by default) per module; ``stat -tech cmos -top``; the
  mapped netlist as
  JSON, from which ``gate_levels`` finds the longest combinational path in
  gate levels through the hierarchy (flattening an ECON-T-sized design for
  ``ltp`` takes gigabytes).

``synthesize`` returns a ``SynthReport``; ``write_report`` writes
``synth.json`` and ``synth.txt``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import interrupts
from ..errors import UserError
from ..files import write_text
from ..inputs import read_json

# (pattern in the yosys log, stage name) in the order they appear.
STAGES = [
    (re.compile(r"^\d+\. Executing Verilog-2005 frontend"), "read"),
    (re.compile(r"^\d+\. Executing HIERARCHY pass"), "hierarchy"),
    (re.compile(r"^\d+\.\d+\. Executing PROC pass"), "coarse"),
    (re.compile(r"^\d+\.\d+\. Executing TECHMAP pass"), "techmap"),
    (re.compile(r"^\d+\. Executing DFFLEGALIZE pass"), "flip-flops"),
    (re.compile(r"^\d+\. Executing ABC pass"), "abc"),
    (re.compile(r"^\d+\. Printing statistics"), "stat"),
    (re.compile(r"^\d+\. Executing JSON backend"), "netlist"),
]
DERIVE = re.compile(r"^\d+\.\d+\. Executing AST frontend in derive mode using pre-parsed AST for module `\\(\w+)'")
PARAM = re.compile(r"^\s*Parameter \\(\w+) = (.+)$")
DERIVED = re.compile(r"^Generating RTLIL representation for module `(\$paramod\S+)'")
ABC_MODULE = re.compile(r"^\d+\.\d+\. Extracting gate netlist of module `(.+?)' to")
TRANSISTORS = re.compile(r"Estimated number of transistors:\s+(\d+)")


@dataclass
class SynthReport:
    design: str
    top: str
    weights: str
    flow: str
    yosys: str
    seconds: float
    transistors: int
    cells: int
    cells_by_type: dict[str, int]
    flip_flops: int
    gate_levels: int | None
    modules_synthesized: int
    per_module: list[dict] = field(default_factory=list)     # name, instances, transistors each
    manifest_summary: dict = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [
            f"Design {self.design} (top {self.top}, weights {self.weights})",
            f"yosys {self.yosys}; flow: {self.flow}; {self.seconds:.1f} s",
            "",
            f"Estimated transistors (stat -tech cmos): {self.transistors:,}",
            f"Cells: {self.cells:,}   flip-flops: {self.flip_flops:,}",
            f"Longest combinational path: {self.gate_levels} gate levels" if self.gate_levels is not None
            else "Longest combinational path: not computed (--no-depth)",
            f"Distinct modules synthesized: {self.modules_synthesized}",
            "",
            "Cells by type (whole hierarchy):",
        ]
        for k, v in sorted(self.cells_by_type.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {k:<14} {v:>12,}")
        if self.per_module:
            lines += ["", "Largest contributions (instances x transistors each):"]
            for m in self.per_module[:15]:
                lines.append(f"  {m['instances']:>6} x {m['transistors']:>9,}  {m['module']}")
        ms = self.manifest_summary
        if ms:
            lines += ["", "From the manifest:",
                      f"  multipliers {ms.get('multipliers')}, latency {ms.get('latency')} cycles, "
                      f"register bits {ms.get('register_bits')}"]
        return "\n".join(lines) + "\n"


def _script(sources: list[Path], top: str, abc: str, depth: bool, stat_json: Path, netlist_json: Path) -> str:
    read = "\n".join(f"read_verilog -defer {s}" for s in sources)
    abc_cmd = "abc -g cmos2 -fast" if abc == "fast" else "abc -g cmos2"
    lines = [
        read,
        f"hierarchy -check -top {top}",
        f"synth -top {top} -run begin:fine",
        # The fine step's own abc -fast (XOR/MUX-aware) before the cmos2 mapping, as in a plain
        # `synth; abc -g cmos2`: measured on an ECON-T dense output, 18 % fewer transistors than
        # mapping techmapped gates to cmos2 directly, and no slower.
        "synth -run fine:check",
        "dfflegalize -cell $_DFF_P_ x",
        abc_cmd,
        "opt_clean -purge",
        f"tee -q -o {stat_json} stat -json -tech cmos -top {top}",
        f"stat -tech cmos -top {top}",
    ]
    if depth:
        lines.append(f"write_json {netlist_json}")
    return "\n".join(lines) + "\n"


def yosys_version() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise UserError("yosys not found; install it (Debian/Ubuntu: apt-get install yosys) or run `make tools`")
    out = subprocess.run([exe, "-V"], capture_output=True, text=True).stdout.strip()
    return out.replace("Yosys ", "").split(" (")[0] or out


def design_sources(design_dir: Path) -> tuple[dict, str, list[Path]]:
    """A design directory's manifest, top module and Verilog sources, checked."""
    mpath = design_dir / "manifest.json"
    if not mpath.is_file():
        raise UserError(f"{mpath}: no such file (expected a design directory from `encoder rtl`)")
    manifest = read_json(mpath, "design manifest")
    try:
        top, sources = manifest["top"], [design_dir / str(s) for s in manifest["sources"]]
    except (KeyError, TypeError) as exc:
        raise UserError(f"{mpath}: not a design manifest (no {exc})") from None
    for s in sources:
        if not s.is_file():
            raise UserError(f"{mpath}: sources: {s} does not exist")
    return manifest, top, sources


def synthesize(design_dir: str | Path, abc: str = "fast", depth: bool = True, progress: bool = True,
               log_path: str | Path | None = None, log_overwrite: bool = False) -> SynthReport:
    design_dir = Path(design_dir)
    manifest, top, sources = design_sources(design_dir)
    version = yosys_version()
    with tempfile.TemporaryDirectory(prefix="encoder-synth-") as tmp:
        tmp = Path(tmp)
        stat_json = tmp / "stat.json"
        script = tmp / "synth.ys"
        netlist_json = tmp / "netlist.json"
        script.write_text(_script([s.resolve() for s in sources], top, abc, depth, stat_json, netlist_json))
        log_lines: list[str] = []
        t0 = time.monotonic()
        rc = _run_yosys(script, log_lines, progress, manifest)
        seconds = time.monotonic() - t0
        if log_path is not None:
            write_text(log_path, "\n".join(log_lines) + "\n", overwrite=log_overwrite)
        if rc != 0:
            tail = "\n".join(log_lines[-15:])
            raise UserError(f"yosys failed on {design_dir} (exit {rc}); last lines:\n{tail}")
        stat = _read_stat_json(stat_json)
        levels = gate_levels(json.loads(netlist_json.read_text()), top) if depth else None
    text = "\n".join(log_lines)
    trans = [int(x) for x in TRANSISTORS.findall(text)]
    cells_by_type, per_module, n_mod = _hierarchy_totals(stat, top)
    readable = _paramod_names(log_lines)
    for m in per_module:
        m["module"] = readable.get(m["module"], m["module"])
    ffs = sum(v for k, v in cells_by_type.items() if "DFF" in k)
    return SynthReport(
        design=str(design_dir), top=top, weights=manifest.get("weights", "?"),
        flow=f"hierarchical; synth (abc -fast); dfflegalize; abc -g cmos2{' -fast' if abc == 'fast' else ''}"
             + ("; gate levels through the hierarchy" if depth else ""),
        yosys=version, seconds=seconds, transistors=trans[-1] if trans else 0,
        cells=sum(cells_by_type.values()), cells_by_type=cells_by_type, flip_flops=ffs,
        gate_levels=levels, modules_synthesized=n_mod, per_module=per_module,
        manifest_summary={"multipliers": manifest.get("multipliers", {}).get("total"),
                          "latency": manifest.get("latency"),
                          "register_bits": manifest.get("register_bits", {}).get("total")},
    )


def _run_yosys(script: Path, log_lines: list[str], progress: bool, manifest: dict) -> int:
    """Run yosys, turning its log into a progress bar (stage, then ABC module by module)."""
    from tqdm import tqdm
    proc = interrupts.popen(["yosys", "-s", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    names = [s for _, s in STAGES]
    bar = tqdm(total=len(names), desc="yosys", unit="stage", disable=not progress or None)
    abc_bar = None
    done = 0
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            log_lines.append(line)
            for i, (pat, name) in enumerate(STAGES):
                if i >= done and pat.match(line):
                    bar.update(i + 1 - done)
                    done = i + 1
                    bar.set_postfix_str(name)
                    break
            m = ABC_MODULE.match(line)
            if m and progress:
                if abc_bar is None:
                    abc_bar = tqdm(desc="abc", unit="module", disable=None, leave=False)
                abc_bar.update(1)
                abc_bar.set_postfix_str(m.group(1)[-40:])
        return proc.wait()
    finally:
        interrupts.release(proc)          # stops yosys if we are unwinding
        if abc_bar is not None:
            abc_bar.close()
        bar.close()


def gate_levels(netlist: dict, top: str) -> int:
    """Longest combinational path of the mapped design in gate levels, through the hierarchy.

    Like yosys' ``ltp -noff`` on a flattened netlist, without flattening
    (which needs gigabytes for an ECON-T-sized design): every module's depth
    is computed once, and an instance adds its module's depth (its longest
    input-to-output or flip-flop path, a safe upper bound for any one arc)
    to the paths through it. Paths start at input ports and flip-flop
    outputs and end at output ports and flip-flop inputs.
    """
    mods = netlist.get("modules", {})
    memo: dict[str, int] = {}

    def depth(name: str) -> int:
        if name in memo:
            return memo[name]
        mod = mods[name]
        arrival: dict[int, int] = {}
        for port in mod.get("ports", {}).values():
            if port["direction"] == "input":
                for b in port["bits"]:
                    if isinstance(b, int):
                        arrival[b] = 0
        pending = []            # (cell inputs, outputs, weight)
        sinks: list[list] = []
        for cell in mod.get("cells", {}).values():
            ctype = cell["type"]
            dirs = cell.get("port_directions", {})
            conns = cell.get("connections", {})
            ins = [b for p, bits in conns.items() if dirs.get(p) == "input" for b in bits if isinstance(b, int)]
            outs = [b for p, bits in conns.items() if dirs.get(p) == "output" for b in bits if isinstance(b, int)]
            if "DFF" in ctype:
                for b in outs:
                    arrival[b] = 0
                sinks.append(ins)
                continue
            w = depth(ctype) if ctype in mods else 1
            pending.append((ins, outs, w))
        # Kahn's order over nets: a cell fires once all its input nets have arrived.
        driven = {b for _, outs, _ in pending for b in outs}
        users: dict[int, list[int]] = {}
        missing = []
        for i, (ins, _, _) in enumerate(pending):
            need = {b for b in ins if b not in arrival and b in driven}
            missing.append(len(need))
            for b in need:
                users.setdefault(b, []).append(i)
        ready = [i for i, n in enumerate(missing) if n == 0]
        while ready:
            i = ready.pop()
            ins, outs, w = pending[i]
            t = max((arrival.get(b, 0) for b in ins), default=0) + w
            for b in outs:
                if b in arrival and arrival[b] >= t:
                    continue
                first = b not in arrival
                arrival[b] = t
                if first:
                    for j in users.get(b, ()):
                        missing[j] -= 1
                        if missing[j] == 0:
                            ready.append(j)
        ends = [b for port in mod.get("ports", {}).values() if port["direction"] == "output"
                for b in port["bits"] if isinstance(b, int)]
        ends += [b for ins in sinks for b in ins]
        memo[name] = max((arrival.get(b, 0) for b in ends), default=0)
        return memo[name]

    return depth(top)


def _paramod_names(log_lines: list[str]) -> dict[str, str]:
    """yosys names parameterised modules by a hash; spell them out as name(PARAM=value, ...)."""
    names, current, params = {}, None, []
    for line in log_lines:
        m = DERIVE.match(line)
        if m:
            current, params = m.group(1), []
            continue
        if current is None:
            continue
        m = PARAM.match(line)
        if m:
            params.append(f"{m.group(1)}={m.group(2).strip()}")
            continue
        m = DERIVED.match(line)
        if m:
            names[m.group(1).lstrip("\\")] = f"{current}({', '.join(params)})"
            current = None
    return names


def _read_stat_json(path: Path) -> dict:
    """stat -json output. yosys 0.23 prints the hierarchy table (plain text) between the
    "modules" and "design" objects when a top module is known: such lines are dropped."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    keep = [ln for ln in text.splitlines() if ln.strip()[:1] in ("{", "}", '"', "]", "")]
    text = "\n".join(keep)
    start = text.find("{")
    return json.loads(text[start:]) if start >= 0 else {}


def module_tree(stat: dict, top: str) -> tuple[dict[str, int], dict[str, int], dict[str, dict]]:
    """From ``stat -json``: cells by type over the whole hierarchy, how many times each module is
    instantiated, and each module's own stat entry (names without yosys' leading backslash)."""
    mods = {k.lstrip("\\"): v for k, v in stat.get("modules", {}).items()}
    if top not in mods:
        return {}, {}, mods
    memo: dict[str, dict[str, int]] = {}

    def totals(name):
        if name not in memo:
            out: dict[str, int] = {}
            for cell, n in mods[name].get("num_cells_by_type", {}).items():
                sub = cell.lstrip("\\")
                if sub in mods:
                    for c, m in totals(sub).items():
                        out[c] = out.get(c, 0) + n * m
                else:
                    out[cell] = out.get(cell, 0) + n
            memo[name] = out
        return memo[name]

    instances: dict[str, int] = {top: 1}
    order = [top]
    for name in order:                      # breadth first: parents before children
        for cell, n in mods[name].get("num_cells_by_type", {}).items():
            sub = cell.lstrip("\\")
            if sub in mods:
                if sub not in instances:
                    order.append(sub)
                instances[sub] = instances.get(sub, 0) + n * instances[name]
    return totals(top), instances, mods


def _hierarchy_totals(stat: dict, top: str) -> tuple[dict[str, int], list[dict], int]:
    """Cells by type over the whole hierarchy, and each module's share, from stat -json."""
    by_type, instances, mods = module_tree(stat, top)
    per = []
    for name, n in instances.items():
        t = mods[name].get("estimated_num_transistors")
        own_t = int(str(t).rstrip("+")) if t not in (None, "") else 0
        per.append({"module": name, "instances": n, "transistors": own_t, "total": n * own_t})
    per.sort(key=lambda m: -m["total"])
    return by_type, per, len(mods)


def write_report(report: SynthReport, out_dir: str | Path, force: bool = False) -> tuple[Path, Path]:
    from ..files import write_text
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    j = write_text(out_dir / "synth.json", json.dumps(asdict(report), indent=1) + "\n", overwrite=force)
    t = write_text(out_dir / "synth.txt", report.to_text(), overwrite=force)
    return j, t
