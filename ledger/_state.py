"""In-memory state and the write overlay that makes a transaction all-or-nothing.

A handler writes into an :class:`Overlay` over the committed state. If the handler
returns, the overlay's writes are folded into the next layer down (the block's overlay,
then the store); if it raises, the overlay is dropped and nothing changed.
:class:`MemoryState` is the committed state for tests and for pure simulations.

:func:`table_token` names the content of one table, so that a value derived from it
(the credit parameters from ``gov.params``, a member from ``gov.members``) can be
computed once and reused until the table changes, instead of being decoded again for
every transaction. A token is ``None`` when no such name can be given (a layer has
pending writes to the table, or the state is of a kind that keeps no versions); the
caller then derives the value afresh. Two equal tokens always mean equal content:
tokens carry a process-unique serial of the state object that issued them and a
version it bumps on every change, so a reused token is never stale.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

from ledger._contract import State, Value

__all__ = ["TOMBSTONE", "MemoryState", "Overlay", "next_serial", "table_token"]

_serials = itertools.count(1)


def next_serial() -> int:
    """A number no other state object in this process has (for :func:`table_token`)."""
    return next(_serials)


def table_token(state: State, table: str) -> Hashable | None:
    """A name for the current content of ``table`` in ``state``, or ``None``.

    Deterministic caches key derived values by it (see the module docstring).
    """
    method: Any = getattr(state, "table_token", None)
    return None if method is None else method(table)


class _Tombstone:
    """Marks a key deleted in an overlay, so reads do not fall through to the base."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOMBSTONE"


TOMBSTONE = _Tombstone()


class MemoryState:
    """A dict-backed :class:`State`: tables of keys to values."""

    __slots__ = ("_serial", "_tables", "_version")

    def __init__(self, tables: Mapping[str, Mapping[str, Value]] | None = None) -> None:
        self._tables: dict[str, dict[str, Value]] = {
            name: dict(rows) for name, rows in (tables or {}).items()
        }
        self._serial = next_serial()
        self._version = 0

    def get(self, table: str, key: str) -> Value | None:
        return self._tables.get(table, {}).get(key)

    def put(self, table: str, key: str, value: Value) -> None:
        self._tables.setdefault(table, {})[key] = value
        self._version += 1

    def delete(self, table: str, key: str) -> None:
        self._tables.get(table, {}).pop(key, None)
        self._version += 1

    def table_token(self, table: str) -> Hashable | None:
        # One version for every table: simple, and MemoryState serves tests and audits.
        return (self._serial, self._version)

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
        layer = self
        while True:
            rows = layer._tables.get(table)
            if rows is not None and key in rows:
                hit = rows[key]
                return None if isinstance(hit, _Tombstone) else hit
            base = layer._base
            if type(base) is not Overlay:
                return base.get(table, key)
            layer = base

    def table_token(self, table: str) -> Hashable | None:
        """The base's token while no layer down to it holds writes to ``table``."""
        layer = self
        while True:
            if layer._tables.get(table):
                return None
            base = layer._base
            if type(base) is not Overlay:
                return table_token(base, table)
            layer = base

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

    def rebase(self, base: State) -> None:
        """Read through to ``base`` from now on, in place of the current base.

        Only for a base that holds exactly what the current one does (the orderer moves
        a block's overlay from the previous block's overlay to the store once that block
        is stored).
        """
        self._base = base

    def wrote(self, table: str) -> bool:
        """Whether this overlay has buffered writes for ``table``."""
        return bool(self._tables.get(table))

    def written_values(self) -> Iterator[Value]:
        """The values buffered by puts (deletions left out), in no particular order."""
        for rows in self._tables.values():
            for value in rows.values():
                if not isinstance(value, _Tombstone):
                    yield value

    def commit(self) -> None:
        """Fold the buffered writes into the base and clear the buffer."""
        base = self._base
        if type(base) is Overlay:
            # An overlay keeps deletions as tombstones too: its tables take ours as they are.
            for table, rows in self._tables.items():
                mine = base._tables.get(table)
                if mine is None:
                    base._tables[table] = dict(rows)
                else:
                    mine.update(rows)
            self._tables.clear()
            return
        for table, rows in self._tables.items():
            for key, value in rows.items():
                if isinstance(value, _Tombstone):
                    self._base.delete(table, key)
                else:
                    self._base.put(table, key, value)
        self._tables.clear()
