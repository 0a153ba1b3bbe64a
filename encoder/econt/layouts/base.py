"""What every layout module provides (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Layout:
    name: str
    registers: dict            # ChipConfig field -> the register's name in this layout's files
    matches: Callable          # (doc) -> bool: the file's top level is this layout's
    read: Callable             # (doc, path: str) -> ChipConfig
    write: Callable            # (cfg: ChipConfig, header: str) -> str


def header_lines(header: str) -> list[str]:
    return [f"# {line}" for line in header.splitlines()] if header else []


def hex_int(v: int) -> str:
    return f"0x{v:x}"
