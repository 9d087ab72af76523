"""The narrow interface the sync engine drives the published index through.

The sync engine computes its change set without knowing how the index is built; it
hands each list type's upserts (new entries, and entries whose reason, listing time or
expiry changed, so their encrypted label must be rewritten) and removals to an
:class:`IndexSink` and gets back the new epoch's commitment. One key is never both
upserted and removed in a call.

``apply`` must be atomic per call: either every change is in the index and a new
commitment is returned, or it raises and the index is as before. A sync changes several
list types one call each, so before the first call it asks ``check`` about every list
type's change: whatever the index would refuse is refused while nothing has changed.
``size`` and ``commitment`` let the engine check before each sync that the index is
where staging left it (same epoch, same root, same size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from adapters._model import EntryKey, ListEntry

__all__ = ["IndexCommitment", "IndexSink"]


@dataclass(frozen=True, slots=True)
class IndexCommitment:
    """What the index commits to after a change (DESIGN §4)."""

    list_type: str
    epoch: int
    size: int
    root: bytes
    key_id: bytes


class IndexSink(Protocol):
    def apply(
        self,
        list_type: str,
        upserts: Sequence[ListEntry],
        removes: Sequence[EntryKey],
        *,
        now: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> IndexCommitment:
        """Apply the change atomically; return the commitment of the new epoch.

        ``progress(done, total)`` may be called as upserts are evaluated.
        """
        ...

    def check(
        self, list_type: str, upserts: Sequence[ListEntry], removes: Sequence[EntryKey]
    ) -> None:
        """Raise if ``apply`` would refuse this change; change nothing."""
        ...

    def size(self, list_type: str) -> int:
        """How many entries of ``list_type`` the index holds now."""
        ...

    def commitment(self, list_type: str) -> IndexCommitment | None:
        """The current commitment of ``list_type``, or None if the index has no such list."""
        ...
