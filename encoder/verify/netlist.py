"""RTL against the mapped netlist, module by module, with the submodules cut out.

``encoder synth --liberty`` maps a design hierarchically: every generated module and every
parameter set of a primitive (``$paramod$<hash>\\enc_requant``) keeps a module of its own in
``netlist.v``; only the input path and its primitives are flattened into the top. A flat
RTL-against-netlist miter of a whole design is beyond ABC in minutes (tiny_dense timed out at
400 s), so each netlist module is proven against the RTL module it came from, with every
submodule instance that both keep *cut*: yosys' ``expose -evert`` turns the instance's inputs
into outputs of the module under proof and its outputs into free inputs, named
``<instance>.<port>`` on both sides, so the miter shares the cut outputs and compares the cut
inputs. What one proof shows: for any values the submodules may return, the module's outputs,
and what it feeds its submodules, are the same; the submodules are proven on their own. Together
the proofs cover the design (the top, with its registers, by induction from the all-zero state).

Which RTL module a ``$paramod`` netlist module is: the parent's instance of the same name in the
RTL, with its literal parameters (``chparam``). The netlist side gets vector ports (the mapped
modules have their port buses split into bits) and its submodule instances retargeted to
black-box stubs with vector ports, so the cut names match the RTL's.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UserError
from ..verif.coverage_spec import instances as rtl_instances_of
from ..verif.gates import BIT, DECL, top_ports
from .equiv import closure, literal_params, module_index
from .prove import Side, prove

_MODULE = re.compile(r"^module\s+(\\\S+|\w+)\s*\(", re.M)
_NL_INST = re.compile(r"^\s*(\\\S+|[A-Za-z_]\w*)\s+(\\\S+|[A-Za-z_][\w$]*)\s*\(", re.M)
_CONN = re.compile(r"\.(\\\S+|\w+)\s*\(\s*([^()]*?)\s*\)")


def _plain(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def split(text: str) -> dict[str, str]:
    """Netlist module name (unescaped) -> its text."""
    out = {}
    for m in _MODULE.finditer(text):
        end = text.find("\nendmodule", m.end())
        out[_plain(m.group(1))] = text[m.start():end + len("\nendmodule")]
    return out


def ports(text: str) -> dict[str, tuple[str, int | None]]:
    """Port base name -> (direction, width or None for a scalar), from a netlist module's split ports."""
    _, _, found = top_ports(text, _plain(_MODULE.match(text).group(1)))
    return {base: (bits[0][0], None if bits[0][1] is None else max(b for _, b, _ in bits) + 1)
            for base, bits in found.items()}


def instances(text: str, known: set[str]) -> list[tuple[str, str, int, int]]:
    """(module, instance, start, end) of every instance of a ``known`` module in a netlist module."""
    out = []
    for m in _NL_INST.finditer(text):
        mod = _plain(m.group(1))
        if mod not in known:
            continue
        end = text.find(");", m.end())
        out.append((mod, _plain(m.group(2).strip()), m.start(), end + 2))
    return out


def rtl_instances(text: str, where: dict[str, str]) -> dict[str, tuple[str, dict[str, int] | None]]:
    """Instance name -> (module, literal parameters or None when one is not literal) in RTL text."""
    return {inst: (mod, literal_params(params)) for mod, inst, params in rtl_instances_of(text, set(where))}


def _stub(name: str, p: dict[str, tuple[str, int | None]]) -> str:
    decl = ", ".join(f"{d} {f'[{w - 1}:0] ' if w else ''}{n}" for n, (d, w) in p.items())
    return f"(* blackbox *)\nmodule {name} ({decl});\nendmodule\n"


def _retarget(body: str, inst: tuple[str, str, int, int], stub: str) -> str:
    """One instance's text with its type set to ``stub`` and its per-bit connections joined into buses."""
    _, name, start, end = inst
    text = body[start:end]
    bits: dict[str, dict[int, str]] = {}
    whole = []
    for c in _CONN.finditer(text):
        pin, sig = c.group(1).strip(), c.group(2).strip() or "1'bx"
        b = BIT.match(pin if pin.startswith("\\") else "")
        if b:
            bits.setdefault(b.group(1), {})[int(b.group(2))] = sig
        else:
            whole.append(f".{_plain(pin)}({sig} )")
    for base, per in bits.items():
        sigs = [(per.get(k, "1'bx") + " ") for k in range(max(per) + 1)][::-1]
        whole.append(f".{base}({{{', '.join(sigs)}}})")
    return f"  {stub} {name} (\n    " + ",\n    ".join(whole) + "\n  );"


def gate_module(text: str, name: str, subs: list[tuple[str, str, int, int]], stubs: dict[str, str]) -> str:
    """A netlist module as ``name`` with vector ports and its submodule instances retargeted to stubs."""
    body = text
    for inst in sorted(subs, key=lambda s: -s[2]):
        body = body[:inst[2]] + _retarget(body, inst, stubs[inst[0]]) + body[inst[3]:]
    p = ports(text)
    head_end = body.find(";") + 1
    decls, assigns = [], []
    for base, (d, w) in p.items():
        if w is None:
            continue
        decls.append(f"  {d} [{w - 1}:0] {base};")
        for k in range(w):
            bit = f"\\{base}[{k}] "
            assigns.append(f"  assign {bit} = {base}[{k}];" if d == "input" else f"  assign {base}[{k}] = {bit};")
    rest = DECL.sub(lambda d: "" if BIT.match(d.group(4)) else d.group(0), body[head_end:])
    header = f"module {name} ({', '.join(p)});"
    return header + "\n" + "\n".join(decls + assigns) + rest + "\n"


def plan(netlist_text: str, top: str, design_dir: Path, sources: list[str]) -> list[dict]:
    """Per netlist module, top-down from the top: {"netlist": name, "rtl": module, "params", "subs": the
    instances to cut, "inline": netlist modules proven inside this one}, {"netlist", "within": parent}
    for an inlined one, or {"netlist", "error"}. A submodule whose parameters are not literals in the
    RTL text (set from the parent's: ``.SHIFT(SHIFT)``) is not cut but proven inside its parent, the
    netlist's own module for it included on the netlist side."""
    mods = split(netlist_text)
    if top not in mods:
        raise UserError(f"netlist.v has no module {top} (not a netlist of this design?)")
    where, texts = module_index(design_dir, sources)
    origin: dict[str, tuple[str, dict | None]] = {top: (top, {})}
    out, queue, seen = [], [top], set()
    while queue:
        n = queue.pop(0)
        if n in seen or n not in mods:
            continue
        seen.add(n)
        rtl, params = origin[n]
        subs = instances(mods[n], set(mods))
        rtl_subs = rtl_instances(texts[where[rtl]], where)
        # An instance inside a generate block is g_round.u_round in the netlist, u_round in the text.
        found = {i: rtl_subs.get(i) or rtl_subs.get(i.rsplit(".", 1)[-1]) for _, i, _, _ in subs}
        missing = [i for i, r in found.items() if r is None]
        if missing:
            out.append({"netlist": n, "error": f"instances {', '.join(missing[:3])} not in the RTL {rtl}"})
            continue
        cut = [s for s in subs if found[s[1]][1] is not None]
        inline = _inlined(mods, [s[0] for s in subs if found[s[1]][1] is None])
        for mod, inst, _, _ in cut:
            origin.setdefault(mod, found[inst])
            queue.append(mod)
        out.append({"netlist": n, "rtl": rtl, "params": params, "subs": cut, "inline": inline})
        out += [{"netlist": m, "within": n} for m in inline if m not in seen]
        seen.update(inline)
    return out


def _inlined(mods: dict[str, str], names: list[str]) -> list[str]:
    """``names`` and every netlist module below them."""
    todo, done = list(names), []
    while todo:
        m = todo.pop()
        if m not in done:
            done.append(m)
            todo += [s[0] for s in instances(mods[m], set(mods))]
    return done


def compare(netlist_text: str, top: str, design_dir: Path, sources: list[str], liberty: Path, tmp: Path,
            timeout: float, log=print, only=None, prover=prove) -> list[dict]:
    """One row per netlist module: {"module", "rtl", "result", "seconds", "detail", "cut", "inside": the netlist
    modules proven within it (no row of their own)}; ``only``: a
    predicate on the netlist module name (the others are skipped); ``prover(gold, gate, timeout=)``:
    encoder.verify.prove.prove unless given."""
    mods = split(netlist_text)
    where, texts = module_index(design_dir, sources)
    stub_names = {m: f"cut__{re.sub(r'[^A-Za-z0-9_]', '_', m)}" for m in mods}
    stubs = tmp / "stubs.v"
    stubs.write_text("".join(_stub(stub_names[m], ports(t)) for m, t in mods.items()))
    rows = []
    for k, item in enumerate(plan(netlist_text, top, design_dir, sources)):
        n = item["netlist"]
        if only is not None and not only(n):
            continue
        if "error" in item:
            rows.append({"module": n, "result": "error", "seconds": 0.0, "detail": item["error"]})
            log(f"  {n:<40} error           {item['error']}")
            continue
        if "within" in item:
            continue                                # proven with its parent (a row of its own there)
        cut = sorted({inst for _, inst, _, _ in item["subs"]})
        gate_file = tmp / f"gate_{k}.v"
        gate_file.write_text(gate_module(mods[n], f"gate_{k}", item["subs"], stub_names)
                             + "".join(mods[m] + "\n" for m in item["inline"]))
        r = prover(Side([design_dir / f for f in closure(item["rtl"], where, texts)], item["rtl"], item["params"],
                        cut=cut),
                   Side([gate_file, stubs], f"gate_{k}", liberty=[liberty], cut=cut, netlist_name=n), timeout=timeout)
        if item["inline"]:
            r["detail"] += f"; with {len(item['inline'])} netlist submodule(s) inside"
        label = item["rtl"] + ("" if not item["params"] else f" {item['params']}")
        rows.append({"module": n, "rtl": label, "cut": cut, "inside": item["inline"], **r})
        log(f"  {n[-40:]:<40} {r['result']:<15} {r['seconds']:>7} s  {r['detail']}")
    return rows
