"""The list-type policies a member's lists are synced under: the ledger's, not a default.

On a live network ``gov.list_types`` (governance can change it) decides which identifier
types a list type admits and how long an entry stays; ``adapters`` applies whatever
policies it is given. Before a replica exists (a member preparing its first list) there
are none, and the adapters' launch policies apply.
"""

from __future__ import annotations

from pathlib import Path

from adapters import ListTypePolicy
from ledger import Store, list_types

__all__ = ["ledger_policies"]


def ledger_policies(data_dir: Path) -> dict[str, ListTypePolicy] | None:
    """The list-type policies on the member's replica, if the data directory holds one."""
    path = data_dir / "ledger.sqlite"
    if not path.is_file():
        return None
    with Store(path, create=False) as store:
        if store.height < 0:
            return None
        rows = list_types(store.state())
    return {
        name: ListTypePolicy(frozenset(row["id_types"]), int(row["retention_days"]))
        for name, row in rows.items()
    }
