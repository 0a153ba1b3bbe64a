"""Gate-level runs of `encoder sim`: a mapped netlist plus the library's cell models in place of the RTL.

The testbench, stimulus and scoreboard stay those of the RTL run: only the
Verilog the simulator compiles changes. Everything else (ports, latency,
register map, IR) comes from the design directory the netlist was mapped
from, so SYNTHDIR/synth.json must name that directory and its top.

yosys splits the top's port buses into single bits (``\\charges[0]``) for
OpenSTA, but the testbench drives whole buses by their manifest names. The
mapped top is therefore renamed ``<top>__cells`` in a copy of the netlist
and wrapped in a module named like the RTL top with the manifest's ports.
The copy and the wrapper (BUILD_ROOT/netlists/) and the decompressed cell
models (BUILD_ROOT/cells/) are content-addressed, so repeated runs and tests
reuse them, and the build key (the hash of those sources) can never equal an
RTL build's.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from dataclasses import replace
from pathlib import Path

from ..errors import UserError
from ..inputs import read_json
from .design import Design

DECL = re.compile(r"^\s*(input|output|inout)\s+(?:\[(\d+):(\d+)\]\s+)?(\\\S+|[A-Za-z_][\w$]*)\s*;", re.M)
BIT = re.compile(r"^\\(.+)\[(\d+)\]$")


def _write_once(path: Path, text: str) -> Path:
    """Content-addressed files are written whole (temp + rename) so concurrent runs never see half a file."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def load_synth(synth_dir: str | Path, design: Design) -> dict:
    """SYNTHDIR/synth.json checked against ``design``; returns it with the netlist path under "netlist"."""
    sdir = Path(synth_dir)
    spath = sdir / "synth.json"
    if not spath.is_file():
        raise UserError(f"--netlist {sdir}: no synth.json (expected a directory from `encoder synth --liberty`)")
    s = read_json(spath, "synthesis report")
    if not isinstance(s, dict) or "design" not in s or "top" not in s:
        raise UserError(f"{spath}: records no 'design' and 'top' (not from `encoder synth --liberty`?)")
    if Path(str(s["design"])).resolve() != design.dir.resolve():
        raise UserError(f"--netlist {sdir}: mapped from {s['design']}, not from {design.dir}")
    if s["top"] != design.top:
        raise UserError(f"--netlist {sdir}: its top is {s['top']}, the design's is {design.top}")
    netlist = sdir / "netlist.v"
    if not netlist.is_file():
        raise UserError(f"--netlist {sdir}: no netlist.v (run `encoder synth --liberty` to map the design)")
    lib = s.get("liberty") or {}
    if not isinstance(lib, dict) or not lib.get("name"):
        raise UserError(f"{spath}: records no liberty name")
    return {**s, "netlist": netlist}


def library(spec: str):
    """The library the netlist was mapped to, if it ships cell models to simulate with."""
    from ..pdk import resolve
    lib = resolve(spec)
    if not lib.models:
        raise UserError(f"library {spec}: no Verilog cell models known for it, so its netlists cannot be "
                        "simulated (only the built-in libraries ship models)")
    return lib


def cell_models(lib, root: Path) -> Path:
    """The library's models decompressed into one file, with the macros they need defined at its head."""
    h = hashlib.sha256()
    for m in lib.models:
        h.update(Path(m).read_bytes())
    h.update("\0".join(lib.defines).encode())
    dest = root / "cells" / f"{lib.name}-{h.hexdigest()[:16]}" / "cells.v"
    if dest.is_file():
        return dest
    head = []
    for d in lib.defines:
        name, _, value = d.partition("=")
        head.append(f"`define {name} {value}".rstrip())
    parts = ["\n".join(head) + "\n"]
    for m in lib.models:
        with gzip.open(m, "rt") as f:
            parts.append(f.read())
    return _write_once(dest, "\n".join(parts))


def top_ports(netlist_text: str, top: str) -> tuple[int, int, dict[str, list]]:
    """(start, end) of the top module's text and its ports: base name -> [(direction, bit or None, name)]."""
    m = re.search(rf"^module\s+\\?{re.escape(top)}\s*\(", netlist_text, re.M)
    if m is None:
        raise UserError(f"netlist has no module {top}")
    end = netlist_text.find("\nendmodule", m.end())
    head = netlist_text[m.end():netlist_text.find(";", m.end())]
    listed = {p.strip() for p in head.rstrip(")").split(",")}
    ports: dict[str, list] = {}
    for d in DECL.finditer(netlist_text, m.end(), end):
        direction, name = d.group(1), d.group(4)
        if name not in listed and name.rstrip() not in listed:
            continue
        b = BIT.match(name)
        if b:
            ports.setdefault(b.group(1), []).append((direction, int(b.group(2)), name))
        else:
            ports.setdefault(name, []).append((direction, None, name))
    return m.start(), end, ports


def wrapper(design: Design, inner: str, ports: dict[str, list]) -> str:
    """The manifest's top with whole-bus ports around the mapped top's per-bit ports."""
    mports = design.manifest.get("ports", [])
    names = {p["name"]: p for p in mports}
    extra = sorted(set(ports) - set(names))
    if extra:
        raise UserError(f"netlist top {design.top} has ports the manifest does not list: {', '.join(extra[:5])}")
    lines = [f"module {design.top} ({', '.join(p['name'] for p in mports)});"]
    for p in mports:
        rng = f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""
        lines.append(f"  {p['direction']} {rng}{p['name']};")
    conns = []
    for p in mports:
        for direction, bit, name in ports.get(p["name"], []):
            if direction != p["direction"]:
                raise UserError(f"netlist top {design.top}: port {p['name']} is an {direction}, "
                                f"the manifest says {p['direction']}")
            if bit is not None and bit >= p["width"]:
                raise UserError(f"netlist top {design.top}: {name.strip()} is outside {p['name']}[{p['width'] - 1}:0]")
            sig = p["name"] if bit is None else f"{p['name']}[{bit}]"
            pin = f"\\{name[1:]} " if name.startswith("\\") else name
            conns.append(f"    .{pin}({sig})")
    lines.append(f"  {inner} cells (")
    lines.append(",\n".join(conns))
    lines.append("  );")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def gate_level(design: Design, synth_dir: str | Path, root: Path) -> Design:
    """``design`` with the mapped netlist, its wrapper and the cell models as its Verilog sources."""
    s = load_synth(synth_dir, design)
    lib = library(s["liberty"]["name"])
    netlist = Path(s["netlist"])
    text = netlist.read_text()
    start, end, ports = top_ports(text, design.top)
    inner = f"{design.top}__cells"
    renamed = text[:start] + re.sub(rf"^module\s+\\?{re.escape(design.top)}\s*\(", f"module {inner}(",
                                    text[start:], count=1, flags=re.M)
    wrap = wrapper(design, inner, ports)
    h = hashlib.sha256(renamed.encode() + b"\0" + wrap.encode()).hexdigest()[:16]
    gdir = root.resolve() / "netlists" / f"{design.top}-{h}"
    sources = [cell_models(lib, root.resolve()),
               _write_once(gdir / "netlist.v", renamed), _write_once(gdir / "wrapper.v", wrap)]
    info = {"netlist": str(netlist.resolve()), "synth_dir": str(Path(synth_dir).resolve()),
            "library": s["liberty"]["name"], "models": [str(m) for m in lib.models], "defines": lib.defines}
    return replace(design, sources=sources, gate_level=info)

