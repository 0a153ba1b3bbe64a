"""Stopping on Ctrl-C and SIGTERM: the signal handlers and the child processes they must stop.

Every command treats SIGINT, SIGTERM and SIGHUP alike: the signal becomes a
KeyboardInterrupt in the main thread, so every ``finally`` (temporary files
and folders, claims) runs, and the CLI exits 128 + signal number.

Child processes (simulators, compilers, yosys) are started here, in their
own session and with stdin from /dev/null: the terminal's Ctrl-C reaches
only the kit, which then stops every child it started (SIGTERM to the
child's process group, SIGKILL if it lingers), instead of leaving a
simulator at an interactive prompt nobody sees (Icarus' ``vvp`` stops at
``** VVP Stop(0) **`` on SIGINT unless run with ``-n``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

STOP_GRACE_SECONDS = 3.0
HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal other than SIGINT, delivered as a KeyboardInterrupt so cleanups run alike."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(exc: BaseException) -> int:
    return 128 + getattr(exc, "signum", signal.SIGINT)


# A second signal while the first one unwinds is ignored (cleanup finishes within seconds);
# one arriving after FORCE_EXIT_SECONDS ends the process at once.
FORCE_EXIT_SECONDS = 15.0
_first_signal: float | None = None


_deferring = 0
_pending: int | None = None


@contextlib.contextmanager
def deferred():
    """A few renames that must happen together: a signal arriving meanwhile is raised after them."""
    global _deferring, _pending, _first_signal
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            signum, _pending = _pending, None
            _first_signal = time.monotonic()
            raise KeyboardInterrupt if signum == signal.SIGINT else Interrupted(signum)


def _raise(signum, frame):
    global _first_signal, _pending
    if _deferring:
        _pending = signum
        return
    if _first_signal is not None:
        if time.monotonic() - _first_signal > FORCE_EXIT_SECONDS:
            os._exit(128 + signum)
        return
    _first_signal = time.monotonic()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


@contextlib.contextmanager
def handled():
    """Turn SIGINT, SIGTERM and SIGHUP into KeyboardInterrupt for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    for s in HANDLED:
        with contextlib.suppress(ValueError, OSError):
            saved[s] = signal.signal(s, _raise)
    try:
        yield
    finally:
        stop_all()
        for s, h in saved.items():
            signal.signal(s, h)
        _reset()


# -- children --------------------------------------------------------------------

_lock = threading.Lock()
_children: set[subprocess.Popen] = set()
_stopping = False


def _reset() -> None:
    global _stopping, _first_signal
    with _lock:
        _stopping = False
        _first_signal = None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, STOP_GRACE_SECONDS)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_all() -> None:
    """Stop every running child and refuse new ones until the command ends."""
    global _stopping
    with _lock:
        _stopping = True
        procs = list(_children)
    threads = [threading.Thread(target=_stop, args=(p,)) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def popen(cmd, **kw) -> subprocess.Popen:
    """Start a child in its own session, stdin from /dev/null; ``release`` it when done."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    with _lock:
        if _stopping:
            raise KeyboardInterrupt
        proc = subprocess.Popen(cmd, start_new_session=True, **kw)
        _children.add(proc)
    return proc


def release(proc: subprocess.Popen) -> None:
    """Forget a child; stop it first if it still runs (the caller is unwinding)."""
    _stop(proc)
    with _lock:
        _children.discard(proc)


def call(cmd, **kw) -> int:
    """subprocess.call that an interrupt stops, child included."""
    proc = popen(cmd, **kw)
    try:
        return proc.wait()
    finally:
        release(proc)


def noninteractive(cmd: list[str]) -> list[str]:
    """Icarus' vvp: ``-n`` makes $stop and SIGINT finish instead of waiting at a prompt."""
    cmd = list(cmd)
    for i, part in enumerate(cmd):
        if os.path.basename(str(part)) == "vvp":
            if "-n" not in cmd[i + 1:]:
                cmd.insert(i + 1, "-n")
            break
    return cmd


def patch_cocotb_runner(runner):
    """Run the commands of a cocotb runner (build and test) through ``call``."""
    def execute_cmds(cmds, cwd, stdout=None):
        for cmd in cmds:
            stderr = None if stdout is None else subprocess.STDOUT
            rc = call(noninteractive(cmd), cwd=cwd, env=runner.env, stdout=stdout, stderr=stderr)
            if rc != 0:
                raise RuntimeError(f"Command failed with return code: {rc}")
    runner._execute_cmds = execute_cmds
    return runner


def script_main(main, name: str) -> int:
    """Run a script's ``main()`` (the benchmarks) as the console command runs its subcommands: a
    Ctrl-C or SIGTERM stops the children it started and ends in one line, not a traceback."""
    try:
        with handled():
            return int(main() or 0)
    except KeyboardInterrupt as exc:
        stop_all()
        print(f"{name}: interrupted", file=sys.stderr)
        return exit_code(exc)
