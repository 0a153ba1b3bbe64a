"""Fanout trees on a mapped netlist: every load keeps its driver through buffers only, and no net
drives more than the limit."""

from __future__ import annotations

import math
import re

from encoder.silicon.fanout import CONNECTION, INSTANCE, MODULE, buffer_fanout

BUF = ("BUF", "A", "X")
PINS = {"DFF": {"CLK": "input", "D": "input", "Q": "output"}, "INV": {"A": "input", "Y": "output"},
        "BUF": {"A": "input", "X": "output"}}


def _netlist(n_loads: int, q: str = "q", sub_loads: int = 0, inner: int = 20) -> str:
    ref = q + " " if q.startswith("\\") else q
    lines = ["module top(clk, d, y);", "  input clk;", "  wire clk;", "  input d;", "  wire d;",
             "  output y;", "  wire y;", f"  wire {ref};",
             f"  DFF ff (\n    .CLK(clk),\n    .D(d),\n    .Q({ref})\n  );"]
    for k in range(n_loads):
        lines.append(f"  INV i{k} (\n    .A({ref}),\n    .Y(o{k})\n  );")
    for k in range(sub_loads):
        lines.append(f"  sub s{k} (\n    .\\a[0] ({ref}),\n    .z(z{k})\n  );")
    lines.append("  assign y = o0;")
    lines.append("endmodule")
    lines += ["module sub(\\a[0] , z);", "  input \\a[0] ;", "  wire \\a[0] ;", "  output z;", "  wire z;"]
    for k in range(inner):
        lines.append(f"  INV j{k} (\n    .A(\\a[0] ),\n    .Y(w{k})\n  );")
    lines += ["  assign z = w0;", "endmodule"]
    return "\n".join(lines) + "\n"


def _graph(text: str, module: str):
    """Per module: load pins by net, and the buffer driving each net (input net of that buffer)."""
    body = next(m.group(3) for m in MODULE.finditer(text) if m.group(1) == module)
    loads, buffer_of = {}, {}
    for st in body.split(";"):
        inst = INSTANCE.match(st)
        if not inst or inst.group(1) in ("input", "output", "wire", "assign"):
            continue
        conns = {p: n.strip() for p, n in CONNECTION.findall(inst.group(3))}
        cell = inst.group(1)
        for pin, net in conns.items():
            if pin in ("A", "CLK", "D", "\\a[0]"):
                loads.setdefault(net, []).append((inst.group(2), pin))
        if cell == "BUF":
            buffer_of[conns["X"]] = conns["A"]
    return loads, buffer_of


def _root(net: str, buffer_of: dict[str, str]) -> tuple[str, int]:
    depth = 0
    while net in buffer_of:
        net, depth = buffer_of[net], depth + 1
    return net, depth


def test_thirty_loads_of_a_flip_flop_get_three_buffers_of_at_most_twelve():
    out = buffer_fanout(_netlist(30), PINS, BUF, 12)
    assert out.added["top"] == 3 and out.worst_before == 30
    loads, buffer_of = _graph(out.text, "top")
    assert max(len(v) for v in loads.values()) <= 12
    for k in range(30):
        net = next(n for n, pins in loads.items() if (f"i{k}", "A") in pins)
        assert _root(net, buffer_of) == ("q", 1)


def test_two_hundred_loads_build_a_two_level_tree_and_every_load_still_reaches_the_flip_flop():
    out = buffer_fanout(_netlist(200, q="\\g[0].m_q[3]"), PINS, BUF, 12)
    groups = math.ceil(200 / 12)                       # 17 leaf buffers, then 2 above them
    assert out.added["top"] == groups + math.ceil(groups / 12)
    loads, buffer_of = _graph(out.text, "top")
    assert max(len(v) for v in loads.values()) <= 12
    roots = {_root(n, buffer_of) for n, pins in loads.items() if any(i.startswith("i") for i, _ in pins)}
    assert roots == {("\\g[0].m_q[3]", 2)}
    # Escaped names are written back with the white space that ends them.
    assert re.search(r"\.A\(\\g\[0\]\.m_q\[3\] \)", out.text)


def test_a_submodule_pin_counts_once_and_its_port_is_buffered_inside_the_submodule():
    out = buffer_fanout(_netlist(4, sub_loads=10), PINS, BUF, 12)
    assert out.added["top"] == 2                       # 4 inverters + 10 submodule pins = 14 loads
    assert out.added["sub"] == 2                       # 20 loads of port a: 12 + 8
    loads, buffer_of = _graph(out.text, "sub")
    assert {_root(n, buffer_of) for n, pins in loads.items() if pins[0][0].startswith("j")} == {("\\a[0]", 1)}
    # The escaped port name keeps the space that ends it where the instance connects it.
    assert re.search(r"\.\\a\[0\] \(", out.text)


def test_nets_under_the_limit_are_left_byte_for_byte():
    text = _netlist(12, inner=12)
    assert buffer_fanout(text, PINS, BUF, 12).text == text
