"""Small helpers for writing readable Verilog-2001 text."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir.fixed import FixedFormat


def vec(bits: int) -> str:
    """Declaration range of a bits-wide vector ('' for one bit)."""
    return "" if bits == 1 else f"[{bits - 1}:0]"


def literal(value: int, bits: int) -> str:
    """A sized literal of a (possibly negative) value in two's complement."""
    if value < 0:
        return f"-{bits}'d{-value}"
    return f"{bits}'d{value}"


def fmt_name(fmt: FixedFormat) -> str:
    return f"{'s' if fmt.signed else 'u'}{fmt.bits}.{fmt.frac}"


def range_name(lo: int, hi: int, frac: int) -> str:
    """e.g. s13.7 for the smallest type holding [lo, hi] at frac."""
    from .plan import width
    signed, bits = width(lo, hi)
    return f"{'s' if signed else 'u'}{bits}.{frac}"


@dataclass
class Node:
    """A wire in an adder tree with its exact value range (codes)."""

    name: str
    bits: int
    lo: int
    hi: int
    zeros: int = 0        # low bits known to be zero (alignment shifts): a register stage skips them

    @property
    def signed(self) -> bool:
        return self.lo < 0


def extend(node: Node, bits: int) -> str:
    """node widened to bits (sign- or zero-extension by its range)."""
    if bits == node.bits:
        return node.name
    if bits < node.bits:
        raise ValueError(f"{node.name}: cannot narrow {node.bits} to {bits} bits")
    fill = f"{node.name}[{node.bits - 1}]" if node.signed else "1'b0"
    return f"{{{{{bits - node.bits}{{{fill}}}}}, {node.name}}}"


def concat_lsb_first(items: list[str]) -> str:
    """Concatenation whose first item lands in the least significant bits."""
    if len(items) == 1:
        return items[0]
    return "{" + ", ".join(reversed(items)) + "}"


class Writer:
    """Collects lines with indentation."""

    def __init__(self):
        self.lines: list[str] = []
        self.flops = 0        # flip-flops the text declares (counted where written, for the manifest)

    def __call__(self, line: str = "", indent: int = 0):
        self.lines.append(("    " * indent + line).rstrip())

    def block(self, text: str, indent: int = 0):
        for line in text.splitlines():
            self(line, indent)

    def extend(self, other: "Writer"):
        """Append another writer's lines (a module body written before its ports were known)."""
        self.lines.extend(other.lines)
        self.flops += other.flops

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def ports_block(ports: list[tuple[str, str, str]], indent: int = 1) -> list[str]:
    """Aligned port declarations: (direction and type, range, name [// comment])."""
    w_dir = max(len(d) for d, _, _ in ports)
    w_rng = max(len(r) for _, r, _ in ports)
    out = []
    for i, (d, r, rest) in enumerate(ports):
        name, _, comment = rest.partition("//")
        sep = "," if i < len(ports) - 1 else ""
        line = f"{d:<{w_dir}} {r:<{w_rng}} {name.strip()}{sep}"
        if comment:
            line = f"{line:<60} // {comment.strip()}"
        out.append("    " * indent + line.rstrip())
    return out
