"""Drive OpenSTA (Debian's ``opensta`` package, command ``sta``) on a mapped netlist.

``Constraints`` states everything the figures depend on; ``sdc`` writes it
as SDC. ``run`` feeds a Tcl script to ``sta`` and returns its output;
OpenSTA reports errors on stdout and keeps going, so any ``Error:`` line
fails the run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import interrupts
from ..errors import UserError

ERROR = re.compile(r"^(Error|error):?\s", re.M)


@dataclass
class Constraints:
    """The timing environment of the encoder block, as a chip designer would state it."""

    clock_ns: float = 25.0
    clock_port: str = "clk"
    input_delay_ns: float = 0.0       # inputs come from flip-flops on the same clock, outside
    output_delay_ns: float = 0.0      # outputs go to flip-flops on the same clock, outside
    driving_cell: str = ""            # library cell that drives every input (set from the library)
    driving_pin: str = ""
    load_pf: float = 0.0              # capacitance on every output (set from the library)
    wire_load: str = "none (cell pins only: no placement yet)"
    clock: str = "ideal (no clock tree: zero skew and latency)"

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (f"clock {self.clock_ns:g} ns on {self.clock_port} ({self.clock}); input delay "
                f"{self.input_delay_ns:g} ns, output delay {self.output_delay_ns:g} ns; inputs driven by "
                f"{self.driving_cell}/{self.driving_pin}; outputs load {self.load_pf:g} pF; wire load: "
                f"{self.wire_load}")


def sdc(c: Constraints) -> str:
    data_in = f"[delete_from_list [all_inputs] [get_ports {c.clock_port}]]"
    lines = [f"create_clock -name clk -period {c.clock_ns:g} [get_ports {c.clock_port}]",
             f"set_input_delay {c.input_delay_ns:g} -clock clk {data_in}",
             f"set_output_delay {c.output_delay_ns:g} -clock clk [all_outputs]"]
    if c.driving_cell:
        lines.append(f"set_driving_cell -lib_cell {c.driving_cell} -pin {c.driving_pin} {data_in}")
    if c.load_pf:
        lines.append(f"set_load {c.load_pf:g} [all_outputs]")
    return "\n".join(lines) + "\n"


def sta_executable() -> str:
    exe = shutil.which("sta")
    if exe is None:
        raise UserError("OpenSTA (command 'sta') not found; install it (Debian/Ubuntu: apt-get install opensta) "
                        "or run `make tools`")
    return exe


def sta_version() -> str:
    out = subprocess.run([sta_executable(), "-version"], capture_output=True, text=True, timeout=60)
    return (out.stdout.strip() or out.stderr.strip() or "unknown").splitlines()[0]


def load_design(liberty: Path, netlist: Path, top: str, constraints: Constraints | None) -> str:
    """Tcl that reads the library and netlist, links the top and applies the constraints."""
    tcl = [f"read_liberty {liberty}", f"read_verilog {netlist}", f"link_design {top}"]
    if constraints is not None:
        tcl.append(sdc(constraints))
    return "\n".join(tcl) + "\n"


def run(tcl: str, work: Path, name: str = "sta", timeout: float = 3600) -> str:
    """Run a Tcl script with ``sta``; the script and its output stay in ``work``."""
    exe = sta_executable()
    work.mkdir(parents=True, exist_ok=True)
    script = work / f"{name}.tcl"
    script.write_text(tcl + "\nexit\n")
    proc = interrupts.popen([exe, "-no_splash", "-exit", str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise UserError(f"OpenSTA did not finish {script} within {timeout:.0f} s") from None
    finally:
        interrupts.release(proc)
    (work / f"{name}.log").write_text(out)
    if proc.returncode != 0 or ERROR.search(out):
        bad = [ln for ln in out.splitlines() if ERROR.match(ln)] or out.splitlines()[-5:]
        raise UserError(f"OpenSTA failed on {script} (exit {proc.returncode}): {' | '.join(bad[:3])}")
    return out
