"""CHANGELOG.md names every format version the code defines (STYLE rule 14).

The code is read, not trusted to a list kept by hand, so a format that changes its
version, or a new one, fails here until CHANGELOG.md has a line for it:

- every ledger encoding domain, ``riskshare/<domain>/v<n>``: the ``(domain, version)``
  pairs given to ``ledger.encode``/``decode`` as literals or module constants;
- every other domain tag, a string or bytes literal that is exactly ``riskshare/...``
  (psi's hashes and layouts, the state digest, evidence commitments, log digests);
- every module-level ``..._VERSION = <literal>`` (schema, layout, normaliser and label
  versions), on a line that also names its file, as ``NAME = value``;
- every table a ``CREATE TABLE`` makes (the local SQLite files, one of which,
  ``gateway.sqlite``, has no version number), on a line that also names its file;
- every ``package`` of the ``.proto`` files;
- the project's version, as the newest entry.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from tests.docs._tools import ROOT

CHANGELOG = ROOT / "CHANGELOG.md"
PACKAGES = ("psi", "ledger", "token_incentive", "adapters", "gateway", "cli", "scenarios")
_CODEC_CALLS = frozenset({"encode", "decode"})
_TAG = re.compile(r"riskshare/[a-z0-9][a-z0-9/_.-]*[a-z0-9]\x00?")
_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)")
Constant = str | bytes | int | tuple[object, ...]


def _sources() -> list[Path]:
    """Our hand-written modules (generated protobuf code excluded)."""
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if not {"_pb", "_etcdpb"} & set(path.parts)
    ]


def _literal(node: ast.expr) -> Constant | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):  # not a plain literal
        return None
    return value if isinstance(value, str | bytes | int | tuple) else None


def _module_constants(tree: ast.Module) -> dict[str, Constant]:
    """``NAME = literal`` and ``A, B = literal, literal`` at module level."""
    found: dict[str, Constant] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], _literal(node.value)
        if isinstance(target, ast.Name) and value is not None:
            found[target.id] = value
        elif isinstance(target, ast.Tuple) and isinstance(value, tuple):
            for element, item in zip(target.elts, value, strict=False):
                if isinstance(element, ast.Name) and isinstance(item, str | bytes | int):
                    found[element.id] = item
    return found


def _trees() -> Iterator[tuple[str, ast.Module]]:
    for path in _sources():
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _domain(value: object) -> str | None:
    """``riskshare/<domain>/v<n>`` for a ``(domain, n)`` pair, else ``None``."""
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and re.fullmatch(r"[a-z][a-z0-9-]*", value[0])
        and type(value[1]) is int
    ):
        return f"riskshare/{value[0]}/v{value[1]}"
    return None


def _resolve(node: ast.expr, names: dict[str, Constant]) -> object:
    return names.get(node.id) if isinstance(node, ast.Name) else _literal(node)


def _codec_pair(call: ast.Call, names: dict[str, Constant]) -> object:
    """The ``(domain, version)`` an ``encode``/``decode`` call passes, as far as known."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    if name not in _CODEC_CALLS or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Starred):  # encode(*_REQUEST, ...)
        return _resolve(first.value, names)
    if len(call.args) < 2:
        return None
    return (_resolve(first, names), _resolve(call.args[1], names))


def codec_domains() -> set[str]:
    """Every ``riskshare/<domain>/v<n>`` the ledger codec is asked to encode or decode.

    Names are resolved against the module's own constants first, then any module's
    (``decode(OBJECT_DOMAIN, 1, ...)`` with the constant imported from another module).
    """
    trees = [tree for _, tree in _trees()]
    everywhere: dict[str, Constant] = {}
    for tree in trees:
        everywhere.update(_module_constants(tree))
    found: set[str] = set()
    for tree in trees:
        own = _module_constants(tree)
        names = {**everywhere, **own}
        # A module-level ("domain", n) pair is handed to the codec as *pair.
        candidates: list[object] = list(own.values())
        candidates += [_codec_pair(n, names) for n in ast.walk(tree) if isinstance(n, ast.Call)]
        found |= {tag for tag in map(_domain, candidates) if tag is not None}
    return found


def literal_tags() -> set[str]:
    """Every string or bytes literal that is exactly a ``riskshare/...`` tag."""
    found: set[str] = set()
    for _, tree in _trees():
        # The pieces of an f-string (``f"riskshare/{domain}/v{version}"``) are not tags.
        fstrings = [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
        inside_fstrings = {id(part) for node in fstrings for part in node.values}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or id(node) in inside_fstrings:
                continue
            value = node.value
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            if isinstance(text, str) and _TAG.fullmatch(text):
                found.add(text.rstrip("\x00"))
    return found


def version_constants() -> set[tuple[str, str]]:
    """``(file, "NAME = value")`` for every module-level ``..._VERSION`` literal."""
    found: set[tuple[str, str]] = set()
    for path, tree in _trees():
        for node in tree.body:
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target, value = node.targets[0], _literal(node.value)
            if (
                isinstance(target, ast.Name)
                and target.id.endswith("VERSION")
                and isinstance(value, str | int)
            ):
                found.add((path, f"{target.id} = {json.dumps(value)}"))
    return found


def sqlite_tables() -> set[tuple[str, str]]:
    """``(file, table)`` for every ``CREATE TABLE`` in the code (temporary ones aside)."""
    found: set[tuple[str, str]] = set()
    for path in _sources():
        for table in _TABLE.findall(path.read_text(encoding="utf-8")):
            found.add((path.relative_to(ROOT).as_posix(), table))
    return found


def proto_packages() -> set[str]:
    found = set()
    for proto in sorted((ROOT / "protos").rglob("*.proto")):
        package = re.search(r"^package ([\w.]+);", proto.read_text(encoding="utf-8"), re.M)
        assert package is not None, proto
        found.add(package.group(1))
    return found


def _changelog() -> str:
    return CHANGELOG.read_text(encoding="utf-8")


def _on_one_line(text: str, *needles: str) -> bool:
    return any(all(needle in line for needle in needles) for line in text.splitlines())


def test_the_scanners_see_the_formats_we_know() -> None:
    """So that a scanner broken by a refactoring cannot pass by finding nothing."""
    assert {"riskshare/tx/v1", "riskshare/credits-request/v1", "riskshare/admin-body/v1"} <= (
        codec_domains()
    )
    assert {"riskshare/psi/snapshot", "riskshare/psi/prf-input/v1"} <= literal_tags()
    assert ("ledger/_schema.py", "SCHEMA_VERSION = 1") in version_constants()
    assert ("gateway/_localstate.py", "answered") in sqlite_tables()
    assert "riskshare.psi.v1" in proto_packages()


def test_every_domain_tag_is_in_the_changelog() -> None:
    text = _changelog()
    missing = sorted(tag for tag in codec_domains() | literal_tags() if f"`{tag}`" not in text)
    assert not missing, f"CHANGELOG.md does not name these format tags: {missing}"


def test_every_version_constant_is_in_the_changelog() -> None:
    text = _changelog()
    missing = sorted(
        f"{path}: {constant}"
        for path, constant in version_constants()
        if not _on_one_line(text, f"`{path}`", f"`{constant}`")
    )
    assert not missing, f"CHANGELOG.md has no line naming file and value: {missing}"


def test_every_sqlite_table_is_in_the_changelog() -> None:
    text = _changelog()
    missing = sorted(
        f"{path}: {table}"
        for path, table in sqlite_tables()
        if not _on_one_line(text, f"`{path}`", f"`{table}`")
    )
    assert not missing, f"CHANGELOG.md has no line naming file and table: {missing}"


def test_every_proto_package_is_in_the_changelog() -> None:
    text = _changelog()
    missing = sorted(p for p in proto_packages() if f"`{p}`" not in text)
    assert not missing, f"CHANGELOG.md does not name these proto packages: {missing}"


def test_the_newest_entry_is_the_projects_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    entries = re.findall(r"^## (\S+)", _changelog(), re.M)
    assert entries, "CHANGELOG.md has no entry"
    assert entries[0] == project["version"]
