"""Compile cache for Verilator's runtime library, used as make's OBJCACHE.

Every Verilator build compiles the same runtime sources (verilated.cpp,
verilated_vpi.cpp, ...: about 25 s of the 40 s a small design takes) with
the same flags. Run as ``python -m encoder.verif.objcache c++ ARGS...`` for
every compile; sources under $VERILATOR_ROOT/include are looked up by the
hash of the whole command line (flags, defines, paths) and the compiler and
source identity, and copied instead of compiled on a hit. Anything else is
compiled as usual. The cache folder is $ENCODER_OBJCACHE_DIR.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path


def _source_and_target(args: list[str]) -> tuple[str | None, str | None]:
    target = None
    if "-o" in args:
        i = args.index("-o")
        if i + 1 < len(args):
            target = args[i + 1]
    source = args[-1] if args and args[-1].endswith((".cpp", ".cc", ".c")) else None
    return source, target


def _key(args: list[str], source: Path) -> str:
    h = hashlib.sha256()
    h.update("\0".join(args).encode())
    st = source.stat()
    h.update(f"{source.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    compiler = shutil.which(args[0]) or args[0]
    try:
        cst = Path(compiler).resolve().stat()
        h.update(f"{compiler}:{cst.st_size}:{cst.st_mtime_ns}".encode())
    except OSError:
        h.update(compiler.encode())
    return h.hexdigest()[:32]


def main(args: list[str]) -> int:
    root = os.environ.get("VERILATOR_ROOT")
    cache = os.environ.get("ENCODER_OBJCACHE_DIR")
    source, target = _source_and_target(args)
    cacheable = (root and cache and source and target and "-c" in args
                 and Path(source).resolve().is_relative_to(Path(root).resolve() / "include"))
    if not cacheable:
        return subprocess.call(args)
    src = Path(source)
    key = _key(args, src)
    entry = Path(cache) / key
    obj, dep = Path(target), Path(target).with_suffix(".d")
    if (entry / "obj.o").is_file():
        shutil.copyfile(entry / "obj.o", obj)
        if (entry / "obj.d").is_file():
            shutil.copyfile(entry / "obj.d", dep)
        return 0
    rc = subprocess.call(args)
    if rc == 0 and obj.is_file():
        tmp = Path(cache) / f".{key}.{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(obj, tmp / "obj.o")
        if dep.is_file():
            shutil.copyfile(dep, tmp / "obj.d")
        try:
            os.replace(tmp, entry)          # another build may have stored it first: keep theirs
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
