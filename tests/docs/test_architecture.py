"""docs/ARCHITECTURE.md's package table matches the source.

The "imports of ours" column must be exactly the packages each package imports (by
static reading of every module, generated code excluded), and every module the "pure
core" column names must exist and import no I/O, clock or randomness module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.docs._tools import DOCS, ROOT

PACKAGES = ("psi", "ledger", "token_incentive", "adapters", "scenarios", "gateway", "cli")
# What a pure core may not import (STYLE rule 1): transport, storage, clocks, entropy.
IMPURE = frozenset(
    {"grpc", "sqlite3", "sqlalchemy", "socket", "subprocess", "time", "os", "random", "secrets"}
)


def _table() -> dict[str, tuple[set[str], list[str]]]:
    text = (DOCS / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows: dict[str, tuple[set[str], list[str]]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"`[a-z_]+`", cells[0]):
            continue
        package = cells[0].strip("`")
        imports = set(re.findall(r"`([a-z_]+)`", cells[2]))
        pure = re.findall(r"`(_[a-z_]+)`", cells[3])
        if cells[3].startswith("all of it"):
            pure = ["*"]
        rows[package] = (imports, pure)
    return rows


def _modules(package: str) -> list[Path]:
    return [
        p
        for p in sorted((ROOT / package).rglob("*.py"))
        if not {"_pb", "_etcdpb"} & set(p.parts) and not p.name.endswith(("_pb2.py", "_grpc.py"))
    ]


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_package_is_in_the_table() -> None:
    assert set(_table()) == set(PACKAGES)


def test_imports_of_ours_match_the_source() -> None:
    for package, (documented, _) in _table().items():
        actual = set()
        for path in _modules(package):
            actual |= _imported(path) & set(PACKAGES)
        actual.discard(package)
        assert actual == documented, f"{package} imports {sorted(actual)}, docs say {documented}"


def test_pure_cores_import_no_io() -> None:
    for package, (_, pure) in _table().items():
        paths = _modules(package) if pure == ["*"] else [ROOT / package / f"{m}.py" for m in pure]
        for path in paths:
            assert path.exists(), f"docs/ARCHITECTURE.md names {path.relative_to(ROOT)}"
            bad = _imported(path) & IMPURE
            assert not bad, f"{path.relative_to(ROOT)} is listed as pure but imports {bad}"


def _owners() -> dict[str, str]:
    """Each ledger table -> the package whose contract writes it."""
    from gateway._registry import consortium_registry

    owners: dict[str, str] = {}
    for contract in consortium_registry().contracts:
        modules = {h.__module__.split(".")[0] for h in contract.handlers.values()}
        assert len(modules) == 1, f"{contract.name}'s handlers live in {modules}"
        owners.update(dict.fromkeys(contract.tables, modules.pop()))
    return owners


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _sources() -> list[tuple[str, Path]]:
    """(package, module) for every module of ours outside the tests."""
    out = [(package, path) for package in PACKAGES for path in _modules(package)]
    out += [(d, p) for d in ("bench", "tools") for p in sorted((ROOT / d).rglob("*.py"))]
    return out


def test_no_ledger_table_is_named_outside_its_owner() -> None:
    # Everyone else reads a table through its owner's typed views (ledger.index_row,
    # token_incentive.recorded_receipt, ...), so a table's layout can change in one place.
    owners = _owners()
    assert {"pub.index", "credits.receipts"} <= set(owners)
    strays = [
        f"{path.relative_to(ROOT)} names {name} (owned by {owners[name]})"
        for package, path in _sources()
        for name in _string_constants(path) & set(owners)
        if owners[name] != package
    ]
    assert not strays, "\n".join(strays)


def _private_imports(path: Path, package: str) -> set[str]:
    """Modules of another package of ours, private to it, that ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for name in names:
            parts = name.split(".")
            theirs = parts[0] in PACKAGES and parts[0] != package
            if theirs and any(p.startswith("_") for p in parts[1:]):
                found.add(name)
    return found


def test_no_package_imports_anothers_private_modules() -> None:
    # Each package is used through its public surface (its __init__ and public
    # subpackages), as httpx keeps its private modules private.
    strays = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package, path in _sources()
        for name in sorted(_private_imports(path, package))
    ]
    assert not strays, "\n".join(strays)
