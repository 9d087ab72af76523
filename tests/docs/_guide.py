"""Reading the fenced blocks of a Markdown section, for tests that run documentation."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Block", "blocks", "section", "subsequence_missing"]

_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Block:
    lang: str
    body: str


def section(markdown: str, heading_prefix: str) -> str:
    """The text of the level-2 section whose heading starts with ``heading_prefix``.

    Fenced blocks are skipped while looking for the end, so a ``## `` line inside a
    code block does not end the section.
    """
    lines = markdown.splitlines(keepends=True)
    start = None
    fenced = False
    out: list[str] = []
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            if start is not None:
                break
            if line[3:].startswith(heading_prefix):
                start = len(out)
                continue
        if start is not None:
            out.append(line)
    if start is None:
        raise AssertionError(f"no section '## {heading_prefix}...'")
    return "".join(out)


def blocks(text: str, *langs: str) -> list[Block]:
    """The fenced blocks of ``text`` in order, only those in ``langs`` if given."""
    found = [Block(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]
    return [b for b in found if not langs or b.lang in langs]


def _norm(line: str) -> str:
    return " ".join(line.split())


def subsequence_missing(expected: list[str], actual: str) -> list[str]:
    """The expected lines not found, in order, among the lines of ``actual``.

    Lines are compared with runs of whitespace collapsed; each expected line must come
    after the previous one's match, so outputs shown for one command cannot be matched
    by another command's output printed earlier.
    """
    got = [_norm(line) for line in actual.splitlines()]
    position = 0
    missing = []
    for line in expected:
        want = _norm(line)
        if not want:
            continue
        try:
            position = got.index(want, position) + 1
        except ValueError:
            missing.append(line)
    return missing
