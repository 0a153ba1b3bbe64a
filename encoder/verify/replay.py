"""`encoder synth`'s yosys session again, up to its multi-operand adders made into full adders.

yosys builds a ``$macc`` (maccmap, inside the ``techmap`` of ``synth``'s fine stage) as a compressor
tree whose full adders take each column's bits in the order of their wires' names, and a name's place
in that order is when the session first made it (yosys ``IdString`` indices). A module synthesised on
its own therefore gets other trees than the same module inside `encoder synth`'s session: a dense
neuron of econt_8x8 (104 products) built alone and its netlist gave ABC no answer in 300 s, while the
tree `encoder synth` itself built and the netlist are equivalent in 1 s.

So the proof's intermediate design (encoder.verify.coarse) comes from the same session: the same
commands on the same files (encoder.silicon.mapping.front, coarse synthesis included), then the fine
stage up to its ``techmap`` with maccmap run alone, so each ``$macc`` becomes the very tree `encoder
synth` built while the two-operand adders stay word-level cells to cut at. Nothing here is trusted:
step 1 of the proof checks this design against the RTL, step 2 against the netlist. A replay from
another yosys version, or of other sources, only builds other trees, and the proof falls back to the
module's own coarse synthesis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..rtl_gen.synth import design_sources
from ..silicon.mapping import front
from .prove import run_script

# synth's fine stage before its techmap (yosys 0.23 `help synth`), then the tree maccmap builds there.
FINE_BEFORE_TECHMAP = ["opt -fast -full", "memory_map", "opt -full", "maccmap"]


@dataclass
class Replay:
    design: Path                   # every module of the session, as RTLIL
    modules: frozenset[str]        # their names, as netlist.v has them


def replay(design_dir: Path, tmp: Path, timeout: float) -> Replay | None:
    """The session for ``design_dir``'s netlist, written into ``tmp``; None past ``timeout`` seconds."""
    _, top, sources = design_sources(Path(design_dir))
    out = tmp / "replay.il"
    lines = front([s.resolve() for s in sources], top) + FINE_BEFORE_TECHMAP + [
        f"write_rtlil {out.name}"]
    if not run_script(lines, "replay", tmp, timeout, f"replay encoder synth's session for {design_dir}"):
        return None
    names = re.findall(r"^module (\S+)$", out.read_text(), re.M)
    return Replay(out, frozenset(n[1:] if n.startswith("\\") else n for n in names))
