"""Index status per list type: what is staged, what the index holds, what the ledger says.

Three sources, each authoritative for one thing:

- the staging store (``lists.sqlite``, through :func:`adapters.lists_status`): entries
  staged, the last sync feeding each list type and the rows it rejected;
- the published index (``index.sqlite``): the current epoch and its size;
- the ledger (``pub.index``): the epoch the consortium sees, its size, when it was
  published and when it expires.

An index epoch above the ledger's is waiting for the gateway's recorder to publish it.
Neither file is created when it is missing (the page says so instead): reading status
must not leave traces in a data directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters import (
    INDEX_FILE,
    STAGING_FILE,
    AdapterError,
    PsiIndexSink,
    SyncRecord,
    lists_status,
)
from ledger import INDEX, Store, list_types
from psi import IndexStore, PsiError

__all__ = ["ListRow", "ListsView", "SourceRow", "lists_view", "sync_time_ms"]


def sync_time_ms(record: SyncRecord | None) -> int | None:
    """When a sync ended (or began, if it has not ended), in milliseconds; staging keeps
    Unix seconds, like every ``now`` the adapters take."""
    if record is None:
        return None
    return (record.finished_at or record.started_at) * 1000


@dataclass
class ListRow:
    list_type: str
    id_types: tuple[str, ...] = ()
    ledger_epoch: int | None = None
    ledger_size: int | None = None
    published_at: int | None = None
    expires_at: int | None = None
    key_id: str = ""
    root: bytes = b""
    index_epoch: int | None = None
    index_size: int | None = None
    staged: int | None = None
    last_sync: SyncRecord | None = None
    rejects: int = 0

    @property
    def state(self) -> str:
        if self.index_epoch is None and self.ledger_epoch is None:
            return "not published"
        if self.ledger_epoch is None or (
            self.index_epoch is not None and self.index_epoch > self.ledger_epoch
        ):
            return "waiting to be published"
        return "published"


@dataclass(frozen=True, slots=True)
class SourceRow:
    name: str
    location: str
    last_sync: SyncRecord | None


@dataclass
class ListsView:
    rows: list[ListRow] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def lists_view(store: Store, member: str, data_dir: Path) -> ListsView:
    view = ListsView()
    state = store.state()
    rows: dict[str, ListRow] = {}
    for name, spec in sorted(list_types(state).items()):
        rows[name] = ListRow(name, tuple(str(t) for t in spec.get("id_types", ())))
        pub: Any = state.get(INDEX, f"{member}/{name}")
        if isinstance(pub, dict):
            row = rows[name]
            row.ledger_epoch = int(pub["epoch"])
            row.ledger_size = int(pub["size"])
            row.published_at = pub.get("published_at")
            row.expires_at = pub.get("expires_at")
            row.key_id = str(pub.get("key_id", ""))
            row.root = bytes(pub.get("root", b""))
    index_path = data_dir / INDEX_FILE
    if not index_path.is_file():
        view.problems.append("no index yet: import a list with `riskshare lists import`")
        view.rows = list(rows.values())
        return view
    try:
        index = IndexStore(index_path, pool=None)
    except PsiError as exc:
        view.problems.append(f"the index cannot be read: {exc}")
        view.rows = list(rows.values())
        return view
    try:
        for name in index.list_types():
            commitment = index.commitment(name)
            row = rows.setdefault(name, ListRow(name))
            row.index_epoch, row.index_size = commitment.epoch, commitment.size
        if (data_dir / STAGING_FILE).is_file():
            status = lists_status(data_dir, sink=PsiIndexSink(index))
            for entry in status.lists:
                row = rows.setdefault(entry.list_type, ListRow(entry.list_type))
                row.staged, row.last_sync, row.rejects = (
                    entry.entries,
                    entry.last_sync,
                    entry.rejects,
                )
            view.sources = [SourceRow(n, loc, s) for n, loc, s in status.sources]
        else:
            view.problems.append("no staging store: lists were not imported through adapters")
    except (AdapterError, PsiError) as exc:
        view.problems.append(f"list status cannot be read: {exc}")
    finally:
        index.close()
    view.rows = list(rows.values())
    return view
