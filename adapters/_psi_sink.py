"""The sync engine's :class:`IndexSink`, bound to psi's published index (``IndexStore``).

The first change to a list type the store does not publish yet creates it under a
fresh OPRF key (RFC 9497 GenerateKeyPair with the system's randomness); the gateway
publishes that key's id and public key with the epoch commitment. Reason codes default
to 0 when the source gives none. psi refuses anything not in normalised shape, so an
entry our normaliser let through and psi's registry rejects surfaces here as
:class:`IndexBindingError` rather than as a silent miss.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Sequence

from adapters._errors import IndexBindingError
from adapters._index import IndexCommitment
from adapters._model import EntryKey, ListEntry
from psi import Commitment, Entry, IndexStore, PsiError, generate_key_pair

__all__ = ["PsiIndexSink"]


class PsiIndexSink:
    """Applies sync changes to a psi ``IndexStore``."""

    def __init__(
        self,
        store: IndexStore,
        *,
        labels: bool = True,
        rng: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.store = store
        self._labels = labels
        self._rng = rng

    def size(self, list_type: str) -> int:
        if list_type not in self.store.list_types():
            return 0
        return self.store.size(list_type)

    def commitment(self, list_type: str) -> IndexCommitment | None:
        if list_type not in self.store.list_types():
            return None
        return _ours(self.store.commitment(list_type))

    def check(
        self, list_type: str, upserts: Sequence[ListEntry], removes: Sequence[EntryKey]
    ) -> None:
        # Shapes and admitted types are psi's to judge. Label fields need no check here:
        # the row converter bounds reason codes (0-65535) and times (1970-9999), which is
        # exactly what a label can carry (a property test holds the two together).
        registry = self.store.registry
        try:
            for e in upserts:
                registry.check(list_type, e.key.id_type, e.key.value)
            for k in removes:
                registry.check(list_type, k.id_type, k.value)
        except PsiError as exc:
            raise IndexBindingError(f"the index refuses the {list_type} change: {exc}") from exc

    def apply(
        self,
        list_type: str,
        upserts: Sequence[ListEntry],
        removes: Sequence[EntryKey],
        *,
        now: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> IndexCommitment:
        try:
            if list_type not in self.store.list_types():
                self.store.create_list(list_type, generate_key_pair(self._rng), labels=self._labels)
            report = self.store.apply(
                list_type,
                adds=[
                    Entry(
                        e.key.id_type,
                        e.key.value,
                        reason=e.reason_code or 0,
                        listed_at=e.listed_at,
                        expires_at=e.expires_at,
                    )
                    for e in upserts
                ],
                removes=[(k.id_type, k.value) for k in removes],
                now=now,
                progress=progress,
            )
        except PsiError as exc:
            raise IndexBindingError(f"the index refused the {list_type} change: {exc}") from exc
        except sqlite3.Error as exc:
            # The index file itself failed (locked by another process, disk full, ...).
            raise IndexBindingError(f"the index store failed: {exc}") from exc
        return _ours(report.commitment)


def _ours(c: Commitment) -> IndexCommitment:
    return IndexCommitment(c.list_type, c.epoch, c.size, c.tags_root, c.key_id)
