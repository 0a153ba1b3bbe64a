"""Writing outputs safely: the one place every output of the kit goes through.

Guarantees (the README's "Guarantees" section states them for users):

- An output is written under a hidden temporary name beside it and renamed
  into place when complete, so a reader never sees half a file or half a
  folder. A replaced folder is moved aside, the new one renamed in, and only
  then the old one deleted.
- An existing output is replaced only with ``overwrite`` (``--force``); the
  final rename refuses to land on a name that appeared meanwhile, so two runs
  racing for one name cannot both report success.
- While a process writes an output it holds a claim (a lock file beside it);
  a second process asking for the same output is refused at once.
- Temporary names carry the host and process id. A later run for the same
  output removes the leftovers of processes that no longer exist (``kill
  -9``, a power cut), and puts back a folder that was moved aside and never
  replaced.
- Outputs get the permissions the umask allows, like any file the user makes.
- Inside ``inputs.inputs_scope`` (the CLI), an output that is one of the
  command's inputs, or a folder holding one, is refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from . import interrupts
from .errors import UserError
from .inputs import read_yaml, refuse_input  # noqa: F401 (read_yaml: its long-standing import path)

_TAG = "~enc-"
_HOST = (socket.gethostname().split(".")[0] or "host").replace("-", "_")
# A claim or temp file of another host cannot be checked for life; after this long it is stale anyway.
FOREIGN_STALE_SECONDS = 24 * 3600


# -- permissions ---------------------------------------------------------------

def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)          # no /proc: read it the racy way, once per call
    os.umask(mask)
    return mask


def _chmod_default(path: Path, folder: bool) -> None:
    """mkstemp/mkdtemp create 0600/0700 whatever the umask; give what a plain open/mkdir would."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


# -- temporary names, claims and stale leftovers --------------------------------------

def _prefix(path: Path) -> str:
    return f".{path.name}.{_TAG}"


def _owner_alive(host: str, pid: int, mtime: float) -> bool:
    if host != _HOST:
        return time.time() - mtime < FOREIGN_STALE_SECONDS
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse(name: str, prefix: str) -> tuple[str, int, str] | None:
    """(host, pid, kind) of a name made by ``_temp_name``, else None."""
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix):].split("-", 3)
    if len(parts) < 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def _temp_name(path: Path, kind: str) -> str:
    return f"{_prefix(path)}{_HOST}-{os.getpid()}-{kind}-"


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def clean_stale(path: str | os.PathLike) -> list[Path]:
    """Remove what dead writers of ``path`` left beside it; returns what was removed.

    A folder moved aside for a replacement that never happened is put back
    when ``path`` itself is missing.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    prefix = _prefix(path)
    removed = []
    try:
        names = [n for n in os.listdir(parent) if n.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        info = _parse(name, prefix)
        if info is None:
            continue
        entry = parent / name
        try:
            mtime = entry.lstat().st_mtime
        except OSError:
            continue
        if _owner_alive(info[0], info[1], mtime):
            continue
        if info[2] == "old" and not os.path.lexists(path):
            with contextlib.suppress(OSError):
                os.rename(entry, path)
                continue
        _remove(entry)
        removed.append(entry)
    claim = _claim_path(path)
    owner = _claim_owner(claim)
    if owner is not None:
        with contextlib.suppress(OSError):
            if not _owner_alive(owner[0], owner[1], claim.stat().st_mtime):
                claim.unlink()
                removed.append(claim)
    return removed


def clean_stale_in(folder: str | os.PathLike) -> list[Path]:
    """clean_stale for every output in ``folder`` (a folder of the kit's own, as sim/build/runs)."""
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if name.startswith(".") and f".{_TAG}" in name:
            removed += clean_stale(Path(folder) / name[1:name.index(f".{_TAG}")])
    return removed


def _claim_path(path: Path) -> Path:
    return path.parent / f"{_prefix(path)}claim"


def _claim_owner(claim: Path) -> tuple[str, int] | None:
    try:
        host, pid = claim.read_text().split()[:2]
        return host, int(pid)
    except (OSError, ValueError):
        return None


def _refuse_claimed(path: Path) -> None:
    claim = _claim_path(path)
    owner = _claim_owner(claim)
    if owner is None or owner == (_HOST, os.getpid()):
        return
    try:
        mtime = claim.stat().st_mtime
    except OSError:
        return
    if _owner_alive(owner[0], owner[1], mtime):
        raise UserError(f"{path}: another encoder process (pid {owner[1]} on {owner[0]}) is writing this "
                        "output; wait for it or choose another output")
    with contextlib.suppress(OSError):
        claim.unlink()


_held: dict[Path, int] = {}


@contextlib.contextmanager
def claim(path: str | os.PathLike):
    """Hold ``path`` for this process; another process claiming it meanwhile gets a one-line refusal."""
    path = Path(path)
    lock = _claim_path(path).resolve()
    if lock in _held:
        _held[lock] += 1
    else:
        for _ in range(3):
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                _refuse_claimed(path)          # raises while the owner lives, removes a dead one's claim
                time.sleep(0.05)               # or the owner is still writing its pid into it
                continue
            except OSError as exc:
                raise UserError(f"{path}: cannot write there ({exc.strerror})") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{_HOST} {os.getpid()}\n")
            break
        else:
            raise UserError(f"{path}: cannot claim the output name (another process keeps taking it)")
        _held[lock] = 1
    try:
        yield path
    finally:
        _held[lock] -= 1
        if not _held[lock]:
            del _held[lock]
            with contextlib.suppress(OSError):
                lock.unlink()


# -- checks before the work ----------------------------------------------------------

def _existing_parent(path: Path) -> Path:
    p = path.absolute().parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable(path: str | os.PathLike, overwrite: bool = False, marker: str | None = None) -> Path:
    """Refuse, before any work, an output that could not or should not be written.

    ``marker``: for a folder output, the file every earlier output of the
    same kind holds; a folder without it is never offered for --force.
    """
    path = Path(path)
    refuse_input(path)
    clean_stale(path)
    _refuse_claimed(path)
    if os.path.lexists(path):
        _refuse_replacing_foreign_dir(path, marker)
    if os.path.lexists(path) and not overwrite:
        raise UserError(f"{path}: already exists; pass --force to replace it")
    parent = _existing_parent(path)
    if not parent.is_dir():
        raise UserError(f"{path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot write in {parent} (permission denied)")
    return path


def _refuse_replacing_foreign_dir(path: Path, marker: str | None) -> None:
    """--force replaces an earlier output of the same kind, never an unrelated folder."""
    if not path.is_dir() or path.is_symlink():
        return
    here = Path.cwd().resolve()
    real = path.resolve()
    if real == here or real in here.parents:
        raise UserError(f"{path}: is the current folder or holds it; refusing to replace it")
    if (real / ".git").exists() or (real / "pyproject.toml").exists() or (real / "setup.py").exists():
        raise UserError(f"{path}: holds a source tree; refusing to replace it")
    if marker and any(real.iterdir()) and not (real / marker).exists():
        raise UserError(f"{path}: exists and is not an earlier output of this command (no {marker}); "
                        "it is never replaced, not even with --force; choose another output")


def discard(path: str | os.PathLike, marker: str) -> bool:
    """--force for a command that resumes its output folder (``study``): remove the earlier output so
    the command starts over. Same refusals as any --force (a foreign folder, the current folder, a
    source tree, an input, a claimed output). The folder is renamed aside in one step and then
    deleted: an interrupt leaves either the whole old folder or none (a dead process's leftover is
    removed by ``clean_stale``, never put back). Returns whether something was removed."""
    path = check_writable(path, True, marker)
    if not os.path.lexists(path):
        return False
    gone = path.parent / (_temp_name(path, "discard") + os.urandom(4).hex())
    with interrupts.deferred():
        os.rename(path, gone)
    _remove(gone)
    return True


# -- atomic writes ---------------------------------------------------------------------

def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename that fails if ``dst`` exists (renameat2 RENAME_NOREPLACE where the kernel has it)."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is not None:
        at_fdcwd, noreplace = -100, 1
        if fn(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), noreplace) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise UserError(f"{dst}: appeared while this command ran (another run?); pass --force to "
                            "replace it or choose another output")
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(dst))
    if os.path.lexists(dst):
        raise UserError(f"{dst}: appeared while this command ran (another run?); pass --force to "
                        "replace it or choose another output")
    os.rename(src, dst)


def _commit(tmp: Path, path: Path, overwrite: bool) -> None:
    refuse_input(path)
    with interrupts.deferred():           # Ctrl-C lands before or after the renames, never between
        _rename_into_place(tmp, path, overwrite)


def _rename_into_place(tmp: Path, path: Path, overwrite: bool) -> None:
    if not overwrite or not os.path.lexists(path):
        _rename_noreplace(tmp, path)
        return
    if not path.is_dir() and not tmp.is_dir():
        os.replace(tmp, path)                       # atomic for files
        return
    # Folders cannot be swapped in one step: move the old one aside (a dead process's aside
    # folder is put back by clean_stale), rename the new one in, then delete the old one.
    aside = path.parent / (_temp_name(path, "old") + os.urandom(4).hex())
    os.rename(path, aside)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(aside, path)
        raise
    _remove(aside)


@contextlib.contextmanager
def _writing(path: Path, overwrite: bool, folder: bool, marker: str | None = None):
    path = check_writable(path, overwrite, marker)
    made = _make_parents(path)
    try:
        with _claimed_temp(path, overwrite, folder) as tmp:
            yield tmp
    except BaseException:
        for d in made:                 # folders made for an output that never came
            with contextlib.suppress(OSError):
                d.rmdir()
        raise


def _make_parents(path: Path) -> list[Path]:
    """Create the missing parents of ``path``; returns them deepest first."""
    missing = []
    p = path.absolute().parent
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot create {exc.filename or path.parent} ({exc.strerror})") from None
    return missing


@contextlib.contextmanager
def _claimed_temp(path: Path, overwrite: bool, folder: bool):
    with claim(path):
        try:
            if folder:
                tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=_temp_name(path, "new")))
            else:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_name(path, "new"),
                                           suffix=path.suffix or ".tmp")
                os.close(fd)
                tmp = Path(tmp)
            _chmod_default(tmp, folder)
        except OSError as exc:
            raise UserError(f"{path}: cannot write there ({exc.strerror})") from None
        try:
            yield tmp
            _commit(tmp, path, overwrite)
        finally:
            if os.path.lexists(tmp):
                _remove(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False):
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary name keeps the suffix, so writers that append one (NumPy's
    savez) or pick a format from it behave as for the real name.
    """
    with _writing(Path(path), overwrite, folder=False) as tmp:
        yield tmp


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, overwrite: bool = False, marker: str | None = None):
    """Yield a temporary directory beside ``path``; it becomes ``path`` on success.

    ``marker``: a file every earlier output of this kind holds (manifest.json
    of a design); --force then refuses to replace a folder without it.
    """
    with _writing(Path(path), overwrite, folder=True, marker=marker) as tmp:
        yield tmp


def write_text(path, text: str, overwrite: bool = False) -> Path:
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)


def save_npz(path, overwrite: bool = False, **arrays) -> Path:
    with atomic_path(path, overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return Path(path)
