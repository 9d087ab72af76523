"""The operator's and auditor's documents point only at files that exist.

Checks the README, the changelog and the documents of issue 7 (other pages are their
authors'): Markdown links to local files; the ``docs/...``, ``tests/...``,
``tools/...``, ``protos/...`` and ``bench/...`` paths the text names; the code it names.
And the README links every document, so none is out of a newcomer's reach.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

from tests.docs._tools import DOCS, ROOT

_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_PATH = re.compile(r"(?<![\w/.])((?:docs|tests|tools|protos|bench)/[\w./-]*\w)")


PAGES = (
    "ARCHITECTURE",
    "PROTOCOL",
    "THREAT_MODEL",
    "OPERATIONS",
    "COMPLIANCE",
    "CLI",
    "DASHBOARD",
    "ADAPTERS",
    "DEVELOPING",
    "DEPENDENCIES",
    "FUZZING",
)


def _pages() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *(DOCS / f"{name}.md" for name in PAGES)]


def test_local_links_resolve() -> None:
    broken = []
    for page in _pages():
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_the_readme_links_every_document() -> None:
    """A newcomer finds every page from the README: each ``docs/*.md`` and the changelog."""
    readme = ROOT / "README.md"
    targets = _LINK.findall(readme.read_text(encoding="utf-8"))
    linked = {(readme.parent / target).resolve() for target in targets}
    documents = [ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]
    assert len(documents) > 10
    missing = [str(d.relative_to(ROOT)) for d in documents if d.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"


def test_named_paths_exist() -> None:
    missing = []
    for page in _pages():
        for path in _PATH.findall(page.read_text(encoding="utf-8")):
            if "<" in path or "*" in path:
                continue
            if not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)} names {path}")
    assert not missing, missing


_PACKAGES = ("psi", "ledger", "token_incentive", "adapters", "gateway", "cli", "scenarios")
_ROOTS = "|".join(_PACKAGES)
_DOTTED = re.compile(rf"`((?:{_ROOTS})(?:\.\w+)+)(?:\(|`)")
# `gateway.sqlite`, `gateway.log`, `member.toml`: file names, not code.
_FILE_SUFFIXES = frozenset({"sqlite", "log", "toml", "json", "jsonl", "csv", "snap", "url"})
_SOURCE = re.compile(rf"(?<![\w/.])((?:{_ROOTS})/[\w/]*\w\.py)")


def _config_key(dotted: str) -> bool:
    """``gateway.workers``, ``ledger.orderer``: a config key, not code."""
    from gateway._config import _SECTIONS

    section, _, key = dotted.partition(".")
    cls = _SECTIONS.get(section)
    return cls is not None and key in {f.name for f in dataclasses.fields(cls)}


def _resolve(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def test_named_code_exists() -> None:
    """Every `package.module.Name.attr` and `package/file.py` a document names is real."""
    missing = []
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        for dotted in sorted(set(_DOTTED.findall(text))):
            if dotted.rpartition(".")[2] in _FILE_SUFFIXES or _config_key(dotted):
                continue
            if not _resolve(dotted):
                missing.append(f"{page.relative_to(ROOT)} names {dotted}")
        for path in sorted(set(_SOURCE.findall(text))):
            if not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)} names {path}")
    assert not missing, missing
