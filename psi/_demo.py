"""A whole membership query in one process: what ``riskshare demo`` runs until the gateway does.

A responder lists a few thousand identifiers (phones, ID numbers, bank cards,
generated deterministically from a seed and valid under normaliser v1, check digits
included), builds its index in a temporary SQLite file, and commits it. A querier
verifies the snapshot against that commitment, blinds a handful of identifiers (some
listed, some not), has the responder evaluate them with a DLEQ proof, verifies the
proof, finalizes, and looks the tags up. Nothing is mocked: this is the production
code path minus the network.

The report masks every identifier (first three and last two characters kept): it is
printed, and identifiers must not reach terminals or logs in full.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from psi import _group as g
from psi._errors import PsiError
from psi._oprf import generate_key_pair
from psi._query import prepare_query
from psi._snapshot import Snapshot
from psi._store import Entry, IndexStore

__all__ = ["DemoQuery", "DemoReport", "membership_demo"]

_LIST = "transaction_fraud"
_ID_TYPES = ("phone", "cn_id", "bank_card")
_REASONS = {1: "confirmed fraud", 2: "mule account", 3: "identity theft"}
_NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: the demo's fixed clock, so runs repeat


@dataclass(frozen=True, slots=True)
class DemoQuery:
    """One queried identifier and its answer."""

    id_type: str
    masked: str
    listed: bool
    hit: bool
    reason: str | None
    listed_month: int | None


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What the demo did, with timings (seconds) and sizes (bytes)."""

    list_type: str
    listed: int
    epoch: int
    key_id: str
    tags_root: str
    snapshot_bytes: int
    build_s: float
    query_s: float
    queries: tuple[DemoQuery, ...]

    @property
    def hits(self) -> int:
        return sum(q.hit for q in self.queries)

    @property
    def correct(self) -> bool:
        """Every listed identifier was found and no other."""
        return all(q.hit == q.listed for q in self.queries)


class _Det:
    # A deterministic stream of digits from SHA-256 in counter mode, for test data only.
    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.n = 0

    def digits(self, k: int) -> str:
        out = ""
        while len(out) < k:
            self.n += 1
            block = hashlib.sha256(self.seed + self.n.to_bytes(8, "big")).digest()
            out += str(int.from_bytes(block, "big"))[1:40]
        return out[:k]


def _cn_id(d: _Det) -> str:
    # Region, a birth date in 1960-1999, sequence, and the ISO 7064 MOD 11-2 check.
    s = d.digits(12)
    body = (
        f"11{s[0:4]}19{60 + int(s[4:6]) % 40:02d}{1 + int(s[6:8]) % 12:02d}"
        f"{1 + int(s[8:10]) % 28:02d}{s[9:12]}"
    )
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))
    return body + "10X98765432"[total % 11]


def _phone(d: _Det) -> str:
    s = d.digits(10)
    return "1" + "3456789"[int(s[0]) % 7] + s[1:10]


def _bank_card(d: _Det) -> str:
    body = "622202" + d.digits(12)
    total = 0
    for i, c in enumerate(reversed(body)):
        v = int(c) * (1 if i % 2 else 2)
        total += v - 9 if v > 9 else v
    return body + str((10 - total % 10) % 10)


_MAKERS = {"phone": _phone, "cn_id": _cn_id, "bank_card": _bank_card}


def _mask(value: str) -> str:
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def membership_demo(
    listed: int = 3000,
    queried: int = 8,
    *,
    seed: bytes = b"riskshare-demo-v1",
    workdir: str | Path | None = None,
) -> DemoReport:
    """Run one responder and one querier end to end and report hits and misses.

    ``listed`` identifiers go into the responder's ``transaction_fraud`` index; the
    querier asks about ``queried`` identifiers, half of them listed.
    """
    if listed < 1 or queried < 1:
        raise PsiError("listed and queried must be positive")
    d = _Det(seed)
    entries = []
    for i in range(listed):
        id_type = _ID_TYPES[i % len(_ID_TYPES)]
        reason = 1 + i % len(_REASONS)
        listed_at = _NOW - 86400 * (30 + (i * 7) % 700)
        entries.append(Entry(id_type, _MAKERS[id_type](d), reason, listed_at, None))
    # Half the questions are listed entries spread over the list, half fresh identifiers.
    half = min(queried // 2, listed)
    step = max(1, listed // max(1, half))
    picks = [entries[(k * step + k) % listed] for k in range(half)]
    asked = [(e.id_type, e.value, True) for e in picks]
    fresh = _Det(seed + b"/unlisted")
    while len(asked) < queried:
        id_type = _ID_TYPES[len(asked) % len(_ID_TYPES)]
        asked.append((id_type, _MAKERS[id_type](fresh), False))
    asked.sort(key=lambda a: hashlib.sha256(a[1].encode()).digest())

    rng: g.Rng = os.urandom
    with (
        tempfile.TemporaryDirectory(dir=workdir) as tmp,
        IndexStore(Path(tmp) / "responder.db") as store,
    ):
        t0 = time.perf_counter()
        store.create_list(_LIST, generate_key_pair(rng), labels=True)
        commitment = store.apply(_LIST, entries, now=_NOW).commitment
        build_s = time.perf_counter() - t0
        # The querier side: everything below uses only what a querier receives.
        snapshot_bytes = store.export_snapshot(_LIST)
        t1 = time.perf_counter()
        snapshot = Snapshot.load(snapshot_bytes, commitment)
        pending = prepare_query(_LIST, [(t, v) for t, v, _ in asked], rng)
        evaluated, proof = store.evaluate(_LIST, list(pending.blinded), rng)
        outputs = pending.finish(evaluated, proof, store.public_key(_LIST))
        found = [snapshot.lookup(out) for out in outputs]
        query_s = time.perf_counter() - t1
    queries = tuple(
        DemoQuery(
            id_type=t,
            masked=_mask(v),
            listed=was_listed,
            hit=hit is not None,
            reason=_REASONS.get(hit.label.reason) if hit and hit.label else None,
            listed_month=hit.label.listed_month if hit and hit.label else None,
        )
        for (t, v, was_listed), hit in zip(asked, found, strict=True)
    )
    return DemoReport(
        list_type=_LIST,
        listed=commitment.size,
        epoch=commitment.epoch,
        key_id=commitment.key_id.hex(),
        tags_root=commitment.tags_root.hex(),
        snapshot_bytes=len(snapshot_bytes),
        build_s=build_s,
        query_s=query_s,
        queries=queries,
    )
