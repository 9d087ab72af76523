"""docs/CLI.md is the command tree's own ``--help``, complete and current.

Every command and group of ``riskshare`` has a section; every command (not group) has an
``Example:`` line in its help (STYLE rule 9); the committed file is exactly what the
generator renders now; and the rendering carries no terminal colour or box drawing.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs._tools import DOCS, gen_cli_docs

REGENERATE = "run `.venv/bin/python tools/gen_cli_docs.py` and commit docs/CLI.md"


def _headings(text: str) -> list[str]:
    return re.findall(r"^## (riskshare(?: [a-z0-9-]+)*)$", text, flags=re.MULTILINE)


def test_every_command_has_a_section() -> None:
    gen = gen_cli_docs()
    tree = [entry.name for entry in gen.walk()]
    assert len(tree) > 20, "the command tree looks truncated"
    documented = _headings((DOCS / "CLI.md").read_text(encoding="utf-8"))
    missing = [name for name in tree if name not in documented]
    assert not missing, f"not in docs/CLI.md: {missing}; {REGENERATE}"
    stale = [name for name in documented if name not in tree]
    assert not stale, f"docs/CLI.md documents commands that no longer exist: {stale}; {REGENERATE}"


def test_every_command_has_an_example() -> None:
    gen = gen_cli_docs()
    commands = [entry for entry in gen.walk() if not entry.is_group]
    assert commands
    lacking = [entry.name for entry in commands if not gen.examples(entry)]
    assert not lacking, f"commands whose --help has no 'Example:' line: {lacking}"
    for entry in commands:
        # The example must run the very command it documents.
        for line in gen.examples(entry):
            assert f"{entry.name} " in f"{line} ", f"{entry.name}: example {line!r}"


def test_groups_are_not_empty() -> None:
    gen = gen_cli_docs()
    empty = [e.name for e in gen.walk() if e.is_group and not e.command.list_commands(e.context)]
    assert not empty, f"command groups without commands: {empty}"


def test_committed_reference_is_current() -> None:
    fresh = gen_cli_docs().render()
    committed = (DOCS / "CLI.md").read_text(encoding="utf-8")
    assert committed == fresh, f"docs/CLI.md is stale: {REGENERATE}"


def test_rendering_is_plain_and_stable() -> None:
    gen = gen_cli_docs()
    first, second = gen.render(), gen.render()
    assert first == second
    assert "\x1b" not in first
    assert not re.search(r"[\u2500-\u257f]", first), "box-drawing characters in the reference"
    # click's plain layout: bare section titles, where typer's rich help draws panels.
    assert "\nUsage: riskshare query [OPTIONS]" in first
    assert first.count("\nOptions:\n") >= len(list(gen.walk()))


def test_check_mode_detects_a_stale_file(tmp_path: Path) -> None:
    gen = gen_cli_docs()
    out = tmp_path / "CLI.md"
    assert gen.main(["--out", str(out)]) == 0
    assert gen.main(["--out", str(out), "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("riskshare query", "riskshare qry", 1))
    assert gen.main(["--out", str(out), "--check"]) == 1
