"""``--tmr full``: every register of a module triplicated, by rewriting its clocked blocks.

A register ``X`` written in ``always @(posedge clk)`` becomes an
``enc_tmr_reg`` (three copies behind a bitwise majority voter) named
``u_tmr_X`` whose output is the voted ``X``; the clocked block becomes a
next-state block, ``always @*``, that starts from the voted value
(``X_next = X;``) and then does what the clocked block did, with ``X <=``
turned into ``X_next =``. So every copy loads, every cycle, the next state
computed from voted values: a register that loads only on an enable takes
the voted value back when it does not, and a flipped copy is rewritten at the
next edge. Resets stay where they were, in the next-state logic. The logic
itself is untouched: the rewrite works on any module written in this style,
generated or hand-written, so a change to a primitive (rtl/enc_*.v) carries
over to its triplicated form without a second copy to keep in step.

The voters' disagreement flags (``err``) are left unconnected here: only the
configuration banks count their upsets (``enc_cfg_block_tmr``).
"""

from __future__ import annotations

import re


# Hand-written primitives with registers -> their triplicated form (a file written by rewrite()).
RENAMES = {
    "enc_cfg_ctrl": "enc_cfg_ctrl_tmr",
    "enc_frame_cfg": "enc_frame_cfg_tmr",
    "enc_elink_frame": "enc_elink_frame_tmr",
    "enc_cfg_block_tmr": "enc_cfg_block_tmr_full",
}

_ALWAYS = re.compile(r"^([ \t]*)always\s*@\(posedge clk\)\s*", re.M)
_DECL = re.compile(r"^([ \t]*)(output\s+)?reg\s+(\[[^\]]+\]\s*)?(\w+)[ \t]*([;,]?)", re.M)
# A nonblocking assignment at the start of a statement (after ; begin else or an if's condition).
_NBA = re.compile(r"((?:^|;|\bbegin\b|\belse\b|\))\s*)(\w+)(\s*\[[^\]]*\])?\s*<=")


def _match_paren(text: str, i: int) -> int:
    """Index just past the parenthesis that closes the one at ``i``."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    raise RuntimeError("tmr full: unbalanced parentheses in a clocked block")


def _statement_end(text: str, i: int) -> int:
    """Index just past the statement starting at ``i`` (begin..end, if/else, or up to ';')."""
    while text[i].isspace():
        i += 1
    if text.startswith("begin", i):
        depth = 0
        for m in re.finditer(r"\b(begin|end)\b", text[i:]):
            depth += 1 if m.group(1) == "begin" else -1
            if depth == 0:
                return i + m.end()
        raise RuntimeError("tmr full: unbalanced begin/end in a clocked block")
    if re.match(r"if\s*\(", text[i:]):
        j = _match_paren(text, text.index("(", i))
        j = _statement_end(text, j)
        m = re.match(r"\s*else\b", text[j:])
        return _statement_end(text, j + m.end()) if m else j
    return text.index(";", i) + 1


def _width(rng: str | None) -> str:
    """WIDTH of enc_tmr_reg for a declaration's range: an integer where it is one, else an expression."""
    if not rng:
        return "1"
    hi, lo = (s.strip() for s in rng.strip()[1:-1].split(":"))
    if re.fullmatch(r"[\d\s+\-*()]+", hi + lo):       # digits and + - * ( ) only: safe to evaluate
        return str(eval(hi, {"__builtins__": {}}) - eval(lo, {"__builtins__": {}}) + 1)
    if lo == "0" and hi.endswith("-1"):                # a parameter expression: kept as text
        return hi[:-2]
    return f"({hi}) - ({lo}) + 1"


def rewrite(text: str, renames: dict[str, str] | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The module text with every clocked register triplicated, and (register, WIDTH) in text order.

    ``renames``: module name -> name, applied to the module's own name and to its instances (the
    triplicated primitives)."""
    blocks = []                                   # (start, end, indent, body, names)
    for m in _ALWAYS.finditer(text):
        end = _statement_end(text, m.end())
        body = text[m.end():end]
        names = []
        for nm in _NBA.finditer(body):
            if nm.group(2) not in names:
                names.append(nm.group(2))
        if not names:
            raise RuntimeError("tmr full: a clocked block without a register assignment")
        blocks.append((m.start(), end, m.group(1), body, names))
    if not blocks:
        out = text
        regs = []
    else:
        clocked = list(dict.fromkeys(n for b in blocks for n in b[4]))
        decls = {}
        for d in _DECL.finditer(text):
            if d.group(4) in clocked:
                decls[d.group(4)] = d
        missing = [n for n in clocked if n not in decls]
        if missing:
            raise RuntimeError(f"tmr full: register {missing[0]!r} has no reg declaration")
        # The next-state name: X_next, unless the module has that name already.
        nxt = {n: f"{n}_next" if not re.search(rf"\b{n}_next\b", text) else f"{n}_tmr_next" for n in clocked}
        edits = []                                # (start, end, replacement)
        regs = []
        inst_at_decl = {n for n, d in decls.items() if not d.group(2) and d.group(5) == ";"}
        for n in clocked:
            d = decls[n]
            rng = (d.group(3) or "").strip()
            width = _width(rng or None)
            regs.append((n, width))
            sp = f"{rng} " if rng else ""
            if n in inst_at_decl:
                ind = d.group(1)
                edits.append((d.start(), d.end(), "\n".join([
                    f"{ind}wire {sp}{n};  // triplicated: three copies behind a majority voter",
                    f"{ind}reg  {sp}{nxt[n]};",
                    f"{ind}{_instance(n, nxt[n], width)}"])))
            else:                                 # an output port: a wire, its triplet after the block
                edits.append((d.start(), d.end(), f"{d.group(1)}{d.group(2)}wire {sp}{n}{d.group(5)}"))
        for start, end, ind, body, names in blocks:
            inner = ind + "    "
            new_body = _NBA.sub(lambda nm: f"{nm.group(1)}{nxt[nm.group(2)]}{nm.group(3) or ''} =", body).strip()
            if new_body.startswith("begin") and "\n" in new_body:
                # begin ... end: its statements, already indented one level in
                new_body = new_body[len("begin"):new_body.rindex("end")].strip("\n").rstrip()
                stmts = new_body.split("\n")
            else:
                stmts = [inner + ln.strip() if k == 0 else ln for k, ln in enumerate(new_body.split("\n"))]
            lines = [f"{ind}// next state from the voted values: a copy hit by an upset is rewritten each cycle"]
            # A register loaded every cycle by one assignment needs no hold value.
            simple = len(names) == 1 and len(stmts) == 1 and re.match(rf"\s*{nxt[names[0]]}\b", stmts[0])
            lines += [f"{ind}always @* begin"] + ([] if simple else [f"{inner}{nxt[n]} = {n};" for n in names])
            lines += stmts
            lines.append(f"{ind}end")
            ports = [n for n in names if n not in inst_at_decl]
            for n in ports:
                rng = (decls[n].group(3) or "").strip()
                lines.insert(1 + ports.index(n), f"{ind}reg  {rng + ' ' if rng else ''}{nxt[n]};")
                lines.append(f"{ind}{_instance(n, nxt[n], _width(rng or None))}")
            edits.append((start, end, "\n".join(lines)))
        out = text
        for s, e, r in sorted(edits, reverse=True):
            out = out[:s] + r + out[e:]
        # err (the voters' disagreement) is left open on purpose
        out = out.replace("`default_nettype none\n",
                          "`default_nettype none\n/* verilator lint_off PINCONNECTEMPTY */\n", 1)
        out = out.replace("\n`default_nettype wire",
                          "\n/* verilator lint_on PINCONNECTEMPTY */\n`default_nettype wire", 1)
    for old, new in (renames or {}).items():
        out = re.sub(rf"\b{old}(\s+#\(|\s+\w+\s*\(|\s*\()", rf"{new}\1", out)
    return out, regs


def _instance(name: str, nxt: str, width: str) -> str:
    return (f"enc_tmr_reg #(.WIDTH({width})) u_tmr_{name} (.clk(clk), .rst(1'b0), .load(1'b1), "
            f".d({nxt}), .q({name}), .err());")


def primitive(name: str, text: str) -> str:
    """The triplicated form of hand-written primitive ``name`` (a key of RENAMES), as a file."""
    new = RENAMES[name]
    body, regs = rewrite(text, RENAMES)
    head = [
        f"// {new}: {name} (rtl/{name}.v) with every register triplicated, for encoder rtl --tmr full.",
        f"// Written by encoder.rtl_gen.tmr_full from {name}.v: each register",
        f"// ({', '.join(r for r, _ in regs)})",
        "// is an enc_tmr_reg (three copies, bitwise majority voter) loading every cycle the next state",
        "// computed from the voted values; the logic is the original's. Regenerate rather than edit.",
    ]
    return "\n".join(head) + "\n" + body
