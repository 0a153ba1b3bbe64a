"""The commands and repository paths a README names, and checks of them against the kit.

Used by tests/test_readme_commands.py; `python tests/readme_commands.py [README]` lists what it finds.

Three kinds of command are found:
- lines of fenced ``sh`` blocks (a `# = ` or `#   ` comment line holding a command counts, so the
  spelled-out steps of a make target are checked too; backslash continuations are joined);
- inline code spans starting with `encoder `, `make `, `python ` or `pip ` (they may wrap over lines
  in a paragraph), error messages (`encoder CMD: error: ...`) excepted;
- table cells of the "example" column, which are inline spans too.

Paths are the words of code spans, links, commands and the Python examples' string literals that
start with one of the repository's top-level folders (globs and upper-case placeholders left out,
`{a,b}` lists expanded).

A command written "as run" (from a fenced block or a table example) is parsed whole by the real
parser; a synopsis in prose (`encoder sim DIR [--vectors N] ...`) only has its subcommand and flags
checked, since its placeholders are no values.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Top-level folders of the repository; a code span or link starting with one of them is a path.
REPO_DIRS = ("benchmarks", "configs", "data", "docs", "encoder", "rtl", "tests", "tools")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)")


@dataclass(frozen=True)
class Command:
    text: str        # as written, whitespace collapsed
    line: int        # README line it starts on
    as_run: bool     # from a fenced block or a table's example column: parsed whole


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _fenced_commands(text: str) -> list[Command]:
    found = []
    for m in FENCE.finditer(text):
        if m.group(1) not in ("sh", "bash", "shell", "console"):
            continue
        start = _line_of(text, m.start(2))
        joined, first = "", None
        for i, raw in enumerate(m.group(2).splitlines()):
            line = re.sub(r"^#\s*(=\s*)?", "", raw) if raw.lstrip().startswith("#") else raw
            if first is None:
                first = start + i
            joined += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
            if line.rstrip().endswith("\\"):
                continue
            cmd = re.sub(r"\s+#.*$", "", joined).strip()   # a trailing comment
            if cmd:
                found.append(Command(" ".join(cmd.split()), first, True))
            joined, first = "", None
    return found


def _without_fences(text: str) -> str:
    # Blank the fenced blocks but keep the line count, so spans keep their line numbers.
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _inline_commands(text: str) -> list[Command]:
    prose = _without_fences(text)
    found = []
    for m in SPAN.finditer(prose):
        span = " ".join(m.group(1).replace("\\|", "|").split())
        if not re.match(r"(encoder|make|python|pip) \S", span) or re.match(r"encoder \S+: ", span):
            continue              # not a command, or an error message (`encoder CMD: error: ...`)
        line_start = prose.rfind("\n", 0, m.start()) + 1
        line_end = prose.find("\n", m.end())
        line = prose[line_start:line_end]
        # The example column of a table: the second cell of a row whose first cell is a command name.
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)]
        in_example_cell = line.startswith("|") and len(cells) > 3 and cells[2] == m.group(0)
        found.append(Command(span, _line_of(prose, m.start()), in_example_cell))
    return found


def commands(text: str) -> list[Command]:
    return _fenced_commands(text) + _inline_commands(text)


def _expand_braces(path: str) -> list[str]:
    m = re.search(r"\{([^{}]*,[^{}]*)\}", path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(",")
            for p in _expand_braces(path[:m.start()] + alt + path[m.end():])]


def repo_paths(text: str) -> list[tuple[str, int]]:
    """Paths inside the repository the README names (code spans, links, command arguments)."""
    found = []
    tokens = [(m.group(1), _line_of(text, m.start())) for m in SPAN.finditer(_without_fences(text))]
    tokens += [(m.group(1), _line_of(text, m.start())) for m in LINK.finditer(text)]
    tokens += [(c.text, c.line) for c in _fenced_commands(text)]
    for block in FENCE.finditer(text):             # string literals of the Python examples
        if block.group(1) == "python":
            tokens += [(lit.group(1), _line_of(text, block.start(2) + lit.start()))
                       for lit in re.finditer(r"[\"']([^\"'\n]+)[\"']", block.group(2))]
    for token, line in tokens:
        token = re.sub(r"\{[^{}]*\}", lambda m: m.group(0).replace(",", "\0"), token)  # keep {a,b} whole
        for word in re.split(r"[\s=(),:]+", token):
            word = word.strip("`'\"[]").replace("\0", ",")
            if not word.startswith(tuple(d + "/" for d in REPO_DIRS)) and word not in REPO_DIRS:
                continue
            if any(c in word for c in "*<>$") or re.search(r"/[A-Z]+(/|$)", word):
                continue          # a glob, a placeholder (tests/test_xxx.py is not named so)
            for p in _expand_braces(word):
                found.append((p.rstrip("/.") or p, line))
    return found


def ragged_table_rows(text: str) -> list[str]:
    """Table rows whose number of cells differs from their header's (a cell slipped into the next row)."""
    out, width = [], None
    for n, line in enumerate(_without_fences(text).splitlines(), 1):
        if not line.startswith("|"):
            width = None
            continue
        cells = len(re.split(r"(?<!\\)\|", line.strip().strip("|")))
        if width is None:
            width = cells
        elif cells != width:
            out.append(f"README line {n}: {cells} cells in a table of {width} columns")
    return out


# -- checks --------------------------------------------------------------------------------------

def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _resolve(parser: argparse.ArgumentParser, words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The (sub)parser a command's leading words select, and the words that name it."""
    path = []
    while words:
        subs = _subparsers(parser)
        if not subs or words[0] not in subs:
            break
        parser = subs[words[0]]
        path.append(words.pop(0))
    return parser, path


def check_encoder_command(cmd: Command, parser: argparse.ArgumentParser) -> str | None:
    """None if the command is one the parser takes, else what is wrong."""
    words = cmd.text.split()[1:]
    sub, path = _resolve(parser, list(words))
    if not path:
        return f"no subcommand {words[0] if words else '(none)'!r}"
    if _subparsers(sub) and len(path) == len(words):
        return None                                   # `encoder econt`, a group named alone
    if _subparsers(sub):
        return f"encoder {' '.join(path)}: no subcommand {words[len(path)]!r}"
    options = set(sub._option_string_actions)
    for word in words:
        flag = re.sub(r"[\]\[,.]+$", "", word.lstrip("[")).split("=")[0]
        if flag.startswith("--") and flag != "--" and flag not in options:
            return f"encoder {' '.join(path)}: no option {flag}"
    if not cmd.as_run:
        return None
    argv = shlex.split(cmd.text.replace("[", " ").replace("]", " "))[1:]
    try:
        _parse_quietly(parser, argv)
    except _ParseError as exc:
        return f"encoder {' '.join(path)}: {exc}"
    return None


class _ParseError(Exception):
    pass


def _parse_quietly(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    def fail(message):
        raise _ParseError(message)
    parsers = [parser]
    while parsers:                       # every parser's error() raises instead of exiting
        p = parsers.pop()
        p.error = fail
        parsers.extend(_subparsers(p).values())
    parser.parse_args(argv)


def make_targets(cmd: Command) -> tuple[list[str], list[str]]:
    """(targets, VAR=value assignments) of a `make ...` command; a placeholder value is left out."""
    targets, assigns = [], []
    for word in cmd.text.split()[1:]:
        if "=" in word:
            name, value = word.split("=", 1)
            if value and value != "..." and not re.fullmatch(r"[A-Z]+", value):
                assigns.append(f"{name}={value.split('|')[0]}")
        elif not word.startswith("-"):
            targets.append(word)
    return targets, assigns


def check_make_command(cmd: Command, root: Path = ROOT) -> str | None:
    if " -C " in f" {cmd.text} ":
        return None                       # a generated design's own Makefile (tests/test_api.py runs it)
    targets, assigns = make_targets(cmd)
    for target in targets or ["help"]:
        err = _dry_run(str(root), target, tuple(assigns))
        if err:
            return f"make -n {target} {' '.join(assigns)}: {err}"
    return None


@lru_cache(maxsize=None)
def _dry_run(root: str, target: str, assigns: tuple[str, ...]) -> str | None:
    # The README names most targets several times; one dry run each.
    res = subprocess.run(["make", "-n", "-C", root, target, *assigns], capture_output=True, text=True, timeout=60)
    return None if res.returncode == 0 else (res.stderr.strip().splitlines() or ["failed"])[-1]


def problems(text: str, root: Path = ROOT) -> list[str]:
    """Everything in a README's commands and paths that the kit does not have, one line each."""
    from encoder.cli import build_parser
    parser = build_parser()
    out = []
    for cmd in commands(text):
        head = cmd.text.split()[0]
        if head == "encoder":
            err = check_encoder_command(cmd, parser)
        elif head == "make":
            err = check_make_command(cmd, root)
        else:
            paths = [w for w in cmd.text.split()[1:] if w.startswith(tuple(d + "/" for d in REPO_DIRS))]
            err = next((f"no file {p}" for p in paths if not (root / p).exists()), None)
        if err:
            out.append(f"README line {cmd.line}: `{cmd.text}`: {err}")
    for path, line in repo_paths(text):
        if not (root / path).exists():
            out.append(f"README line {line}: no such path in the repository: {path}")
    return out


if __name__ == "__main__":
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "README.md").read_text()
    for c in commands(readme):
        print(f"{c.line:5d} {'run ' if c.as_run else 'text'} {c.text}")
    print("\n".join(problems(readme)) or "no problems")
