"""Every command the README shows is one the kit has: make targets, encoder subcommands and flags, paths.

The README's commands are run for real only by hand (many take minutes to hours); this keeps them from
drifting away from the Makefile and the CLI in between. The checker itself is shown to fail on
synthetic README snippets with a wrong flag, subcommand, target or path.
"""

import re
from pathlib import Path

import pytest

import encoder
from encoder.cli import build_parser
from readme_commands import ROOT, Command, check_encoder_command, commands, problems, ragged_table_rows, repo_paths

README = (ROOT / "README.md").read_text()


def test_every_readme_command_flag_make_target_and_path_exists():
    assert problems(README) == []


def test_every_readme_table_row_has_its_header_s_number_of_cells():
    assert ragged_table_rows(README) == []
    # The defect this catches: a row that lost its last cell, which slid into the next row.
    assert ragged_table_rows("| a | b |\n|---|---|\n| `x` |\n| `y` | z \\| w | v |\n") == [
        "README line 3: 1 cells in a table of 2 columns", "README line 4: 3 cells in a table of 2 columns"]


def test_the_readme_commands_are_found_fenced_inline_and_in_tables():
    found = {c.text for c in commands(README)}
    # One of each kind, so that a change of the README's layout cannot silently leave the check empty.
    assert "make demo" in found                                                  # fenced block
    assert any(c.startswith("encoder econt decode-input tests/data/econt/testInput.csv") for c in found)  # `# =` line
    assert any(c.startswith("encoder data synth --modules 100000") for c in found)  # table example
    assert any(c.startswith("encoder sim DIR [--sim icarus|verilator]") for c in found)  # synopsis in prose
    assert any(c.startswith("make train export golden") for c in found)          # make target table
    assert len([c for c in commands(README) if c.as_run]) >= 30


def test_python_api_names_in_the_readme_exist():
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    names = set(re.findall(r"\bencoder\.(\w+)\(", block))
    assert {"load_data", "from_keras", "load_ir", "evaluate", "emd"} <= names
    assert [n for n in sorted(names) if not callable(getattr(encoder, n, None))] == []


SNIPPET = """
| command | example | writes |
|---|---|---|
| `sim` | `encoder sim out/design --sim icarus {sim_flag} 2000 --out out/simrun` | runs |

```sh
make {target}
encoder {sub} --modules 10 --out out/d.npz
```

Synopsis: `encoder rtl IR --out DIR [{rtl_flag} N]`, see `{path}`.
"""
GOOD = dict(sim_flag="--vectors", target="econt-check", sub="data synth", rtl_flag="--pipeline",
            path="rtl/enc_mul.v")


def test_snippet_with_real_flags_targets_and_paths_passes():
    assert problems(SNIPPET.format(**GOOD)) == []


@pytest.mark.parametrize("field, bad, expected", [
    ("sim_flag", "--vector-count", "no option --vector-count"),            # table example, a flag
    ("rtl_flag", "--pipe-depth", "no option --pipe-depth"),                # synopsis in prose, a flag
    ("sub", "data generate", "no subcommand 'generate'"),                   # fenced block, a subcommand
    ("target", "econt-test", "make -n econt-test"),                        # a make target
    ("path", "rtl/enc_multiplier.v", "no such path in the repository: rtl/enc_multiplier.v"),
])
def test_snippet_with_one_wrong_name_fails_naming_it(field, bad, expected):
    found = problems(SNIPPET.format(**{**GOOD, field: bad}))
    assert len(found) == 1 and expected in found[0], found


def test_a_run_as_written_command_is_parsed_whole_a_synopsis_only_for_its_flags():
    parser = build_parser()
    # --vectors takes an integer: a command given as run must have one, a synopsis may say N.
    assert "invalid int value" in check_encoder_command(
        Command("encoder sim out/d --vectors many", 1, True), parser)
    assert check_encoder_command(Command("encoder sim DIR [--vectors N]", 1, False), parser) is None
    # A required option left out of a command given as run.
    assert "required" in check_encoder_command(Command("encoder data synth --modules 5", 1, True), parser)


def test_brace_lists_in_paths_are_each_checked():
    assert [p for p, _ in repo_paths("`configs/econt_8x8_{2,3}elinks.yaml`")] == [
        "configs/econt_8x8_2elinks.yaml", "configs/econt_8x8_3elinks.yaml"]
    assert problems("`configs/econt_8x8_{2,9}elinks.yaml`") == [
        "README line 1: no such path in the repository: configs/econt_8x8_9elinks.yaml"]
