"""In-memory state and the write overlay that makes a transaction all-or-nothing.

A handler writes into an :class:`Overlay` over the committed state. If the handler
returns, the overlay's writes are folded into the next layer down (the block's overlay,
then the store); if it raises, the overlay is dropped and nothing changed.
:class:`MemoryState` is the committed state for tests and for pure simulations.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping

from ledger._contract import State, Value

__all__ = ["TOMBSTONE", "MemoryState", "Overlay"]


class _Tombstone:
    """Marks a key deleted in an overlay, so reads do not fall through to the base."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOMBSTONE"


TOMBSTONE = _Tombstone()


class MemoryState:
    """A dict-backed :class:`State`: tables of keys to values."""

    __slots__ = ("_tables",)

    def __init__(self, tables: Mapping[str, Mapping[str, Value]] | None = None) -> None:
        self._tables: dict[str, dict[str, Value]] = {
            name: dict(rows) for name, rows in (tables or {}).items()
        }

    def get(self, table: str, key: str) -> Value | None:
        return self._tables.get(table, {}).get(key)

    def put(self, table: str, key: str, value: Value) -> None:
        self._tables.setdefault(table, {})[key] = value

    def delete(self, table: str, key: str) -> None:
        self._tables.get(table, {}).pop(key, None)

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, Value]]:
        rows = self._tables.get(table, {})
        for key in sorted(k for k in rows if k.startswith(prefix)):
            yield key, rows[key]

    def tables(self) -> dict[str, dict[str, Value]]:
        """A copy of every non-empty table, for comparisons in tests."""
        return {name: dict(rows) for name, rows in self._tables.items() if rows}


class Overlay:
    """Buffered writes over a base :class:`State`; reads see the buffer first.

    Writes are kept per table, so a scan costs the size of the scanned table's writes,
    not of every write in the block: contracts scan small tables (``gov.params``) on
    every transaction while a block buffers thousands of writes elsewhere.
    """

    __slots__ = ("_base", "_tables")

    def __init__(self, base: State) -> None:
        self._base = base
        self._tables: dict[str, dict[str, Value | _Tombstone]] = {}

    def get(self, table: str, key: str) -> Value | None:
        rows = self._tables.get(table)
        if rows is None or key not in rows:
            return self._base.get(table, key)
        hit = rows[key]
        return None if isinstance(hit, _Tombstone) else hit

    def put(self, table: str, key: str, value: Value) -> None:
        rows = self._tables.get(table)
        if rows is None:
            rows = self._tables[table] = {}
        rows[key] = value

    def delete(self, table: str, key: str) -> None:
        rows = self._tables.get(table)
        if rows is None:
            rows = self._tables[table] = {}
        rows[key] = TOMBSTONE

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, Value]]:
        rows = self._tables.get(table)
        if not rows:
            yield from self._base.scan(table, prefix)
            return
        mine = sorted((k, v) for k, v in rows.items() if k.startswith(prefix))
        base = ((k, v) for k, v in self._base.scan(table, prefix) if k not in rows)
        for key, value in heapq.merge(mine, base, key=lambda kv: kv[0]):
            if not isinstance(value, _Tombstone):
                yield key, value

    @property
    def writes(self) -> dict[tuple[str, str], Value | _Tombstone]:
        """The buffered writes; a deletion is :data:`TOMBSTONE`."""
        return {(t, k): v for t, rows in self._tables.items() for k, v in rows.items()}

    @property
    def tables_written(self) -> frozenset[str]:
        """The tables this overlay has buffered writes for."""
        return frozenset(t for t, rows in self._tables.items() if rows)

    def commit(self) -> None:
        """Fold the buffered writes into the base and clear the buffer."""
        for table, rows in self._tables.items():
            for key, value in rows.items():
                if isinstance(value, _Tombstone):
                    self._base.delete(table, key)
                else:
                    self._base.put(table, key, value)
        self._tables.clear()
