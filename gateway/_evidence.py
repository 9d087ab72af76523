"""Evidence roots on the ledger, and the holder's side of a dispute.

The adapters commit every entry's evidence, per list epoch, in an RFC 9162 tree whose
root and size they record in the staging store (``lists.sqlite``) next to the psi
index epoch the list was published as (``adapters.EpochRecord``). This module joins
the two sides:

- **Publishing** (:func:`epoch_evidence`): for the psi index epoch the recorder commits
  with ``pub.publish_index``, the staging epoch that produced it, its evidence root and
  the list's expiry. The tree size is the index size (the adapters refuse an index
  whose size differs from the epoch's), so the ``size`` already in ``pub.index`` pins
  the tree an opening must be checked against. The list's expiry is the latest expiry
  of the entries it holds, when every entry has one: after it, a member that stopped
  syncing publishes nothing in date, and reciprocity stops admitting its queries. A
  list with any entry that never expires has no expiry.
- **Opening** (:func:`dispute_openings`): the holder of a disputed entry opens, for
  each disputed hit, the evidence it committed in the epoch its receipt was answered
  from (``credits.evidence``), with the identifier the querier named off the ledger.
- **Checking** (:func:`published_size`): the size an arbitrator compares an opening's
  tree size with, read from the holder's ``pub.publish_index`` transaction for that
  epoch (the receipt copies the epoch and roots, not the size).

Identifiers pass through here only on the holder's own host, from its own staging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters import (
    STAGING_FILE,
    EvidenceOpening,
    Staging,
    evidence_commitment,
    open_entry_evidence,
)
from gateway._errors import GatewayError
from ledger import Store
from token_incentive import dispute_of, evidence_body, recorded_receipt

__all__ = [
    "DisputeOpenings",
    "EpochEvidence",
    "dispute_openings",
    "epoch_evidence",
    "published_size",
    "staging_epoch",
]

# Staging epochs searched back from the newest for the one an index epoch came from.
_SEARCH = 10_000


@dataclass(frozen=True, slots=True)
class EpochEvidence:
    """What the ledger records with an index epoch besides the index commitment."""

    staging_epoch: int
    evidence_root: bytes
    size: int
    # ms since the epoch; None when some entry never expires.
    expires_at: int | None


def staging_epoch(staging: Staging, list_type: str, index_epoch: int) -> Any | None:
    """The staging epoch record (``adapters.EpochRecord``) psi published as ``index_epoch``."""
    latest = staging.epoch(list_type)
    if latest is None:
        return None
    for number in range(latest.epoch, max(0, latest.epoch - _SEARCH), -1):
        record = staging.epoch(list_type, number)
        if record is None or record.index_epoch is None:
            continue
        if record.index_epoch == index_epoch:
            return record
        if record.index_epoch < index_epoch:
            return None
    return None


def _expiry_ms(staging: Staging, list_type: str, epoch: int) -> int | None:
    # The entries listed at a staging epoch are the versions added at or before it and
    # not closed by then (adapters._staging keeps versions as validity intervals).
    count, with_expiry, latest = staging.db.execute(
        "SELECT COUNT(*), COUNT(expires_at), MAX(expires_at) FROM entries WHERE list_type = ?"
        " AND added_epoch <= ? AND (removed_epoch IS NULL OR removed_epoch > ?)",
        (list_type, epoch, epoch),
    ).fetchone()
    if not count or with_expiry != count or latest is None:
        return None
    return int(latest) * 1000  # staging keeps Unix seconds, the ledger milliseconds


def epoch_evidence(data_dir: Path, list_type: str, index_epoch: int) -> EpochEvidence | None:
    """The evidence root, size and expiry of the list epoch psi published as ``index_epoch``.

    None when the member keeps no staging store, or none of its epochs became this index
    epoch (an index changed outside the adapters, e.g. a key rotation not yet synced).
    """
    path = data_dir / STAGING_FILE
    if not path.is_file():
        return None
    with Staging(path) as staging:
        record = staging_epoch(staging, list_type, index_epoch)
        if record is None:
            return None
        return EpochEvidence(
            staging_epoch=record.epoch,
            evidence_root=record.evidence_root,
            size=record.size,
            expires_at=_expiry_ms(staging, list_type, record.epoch),
        )


@dataclass(frozen=True, slots=True)
class DisputeOpenings:
    dispute_id: str
    body: dict[str, Any]
    openings: tuple[EvidenceOpening, ...]


def dispute_openings(
    data_dir: Path, store: Store, dispute: str, member: str, values: Sequence[str]
) -> DisputeOpenings:
    """The ``credits.evidence`` body opening the disputed entries of one of our receipts.

    ``values`` are the disputed identifiers, one per disputed hit in the dispute's order
    (for a canary dispute, the revealed canary value is used when none is given).
    """
    state = store.state()
    d = dispute_of(state, dispute)
    if d["holder"] != member:
        raise GatewayError(f"dispute {d['id'][:16]} is against {d['holder']}, not {member}")
    if d["status"] != "filed":
        raise GatewayError(f"dispute {d['id'][:16]} is {d['status']}, not awaiting evidence")
    receipt = recorded_receipt(state, d["id"])
    if receipt is None:
        raise GatewayError(f"no receipt {d['id'][:16]} on the local replica")
    if not values and d["kind"] == "canary":
        values = [str(d["canary"]["record"]["value"])]
    if len(values) != len(d["hits"]):
        raise GatewayError(
            f"the dispute names {len(d['hits'])} hit(s); give one identifier for each, in order"
        )
    root, epoch = receipt.evidence_root, receipt.index_epoch
    if not isinstance(root, bytes) or epoch is None:
        raise GatewayError("the index this receipt was answered from committed no evidence root")
    list_type, id_type = receipt.list_type, receipt.id_type
    path = data_dir / STAGING_FILE
    if not path.is_file():
        raise GatewayError(f"no staging store at {path}")
    with Staging(path) as staging:
        record = staging_epoch(staging, list_type, epoch)
    if record is None:
        raise GatewayError(f"no {list_type} list epoch became index epoch {epoch}")
    if record.evidence_root != root:
        raise GatewayError("the staging epoch's evidence root is not the one on the ledger")
    openings: list[EvidenceOpening] = []
    rows: list[dict[str, Any]] = []
    for value in values:
        opening, _ = open_entry_evidence(data_dir, list_type, id_type, value, epoch=record.epoch)
        leaf = evidence_commitment(opening.key, opening.evidence_ref, opening.salt)
        openings.append(opening)
        rows.append(
            {
                "leaf": leaf,
                "index": opening.leaf_index,
                "size": opening.tree_size,
                "proof": list(opening.proof),
            }
        )
    return DisputeOpenings(d["id"], evidence_body(d["id"], rows), tuple(openings))


def published_size(store: Store, holder: str, list_type: str, epoch: int) -> int | None:
    """The size ``holder`` published for ``list_type`` at index ``epoch`` (None: never)."""
    for tx in store.txs(member=holder, kind="pub.publish_index", ok=True, newest_first=True):
        body = tx.decoded().tx.body
        if body.get("list_type") == list_type and body.get("epoch") == epoch:
            return int(body["size"])
    return None
