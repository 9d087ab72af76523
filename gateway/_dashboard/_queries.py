"""Queries made and served, read from the local replica's recorded receipts.

A query between two members is on the ledger as one ``credits.receipt`` transaction:
the responder submits it, and the querier is its party. So "queries I served" are the
receipts this member submitted (``Store.txs(member=me)``), and "queries I made" those
naming it as party (``Store.txs(party=me)``); a peer filter narrows either with the
other index, and a time range becomes a height range (block times never go backwards,
so a binary search over block headers finds it). Only receipts the ledger applied
(``ok``) count: a refused one charged nobody.

What the receipt transaction says is combined with what became of the receipt since
(``credits.receipts``: refunds, hit reports, confirm/dispute feedback). Nothing here
writes, and nothing here holds an identifier: receipts carry counts and digests only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger import EncodingError, Store, StoreState, TxRecord, decode_transaction
from token_incentive import CreditsError, SignedRequest, recorded_receipt

__all__ = [
    "DIRECTIONS",
    "FEEDBACK",
    "RECEIPT_KIND",
    "PeerFlow",
    "QueryFilter",
    "QueryPage",
    "QueryRow",
    "RequestCache",
    "height_range",
    "list_queries",
]

RECEIPT_KIND = "credits.receipt"
DIRECTIONS = ("both", "made", "served")
# Hit-feedback filter values, and what each selects.
FEEDBACK = {
    "": "any",
    "none": "no hits reported",
    "hits": "hits reported",
    "open": "hits awaiting feedback",
    "confirmed": "hits confirmed",
    "disputed": "hits disputed",
    "refunded": "refunded",
}


@dataclass(frozen=True, slots=True)
class QueryFilter:
    direction: str = "both"
    peer: str = ""
    list_type: str = ""
    since_ms: int | None = None
    until_ms: int | None = None
    feedback: str = ""


@dataclass(frozen=True, slots=True)
class QueryRow:
    receipt_id: str
    tx_id: bytes
    height: int
    time: int
    direction: str
    querier: str
    responder: str
    list_type: str
    id_type: str
    items: int
    charge: int
    purpose: str
    legal_basis: str
    status: str
    hit_state: tuple[str, ...] | None

    @property
    def peer(self) -> str:
        return self.responder if self.direction == "made" else self.querier

    @property
    def feedback(self) -> str:
        """``—`` before any hit report; otherwise counts of open/confirmed/disputed hits."""
        if self.hit_state is None:
            return "—"
        if not self.hit_state:
            return "0 hits"
        names = {"r": "open", "c": "confirmed", "d": "disputed"}
        counts = [f"{self.hit_state.count(c)} {n}" for c, n in names.items() if c in self.hit_state]
        return ", ".join(counts)


@dataclass
class PeerFlow:
    """Per counterparty: what this member asked it, and what it asked this member."""

    made_queries: int = 0
    made_items: int = 0
    charges: int = 0
    served_queries: int = 0
    served_items: int = 0


@dataclass
class QueryPage:
    rows: list[QueryRow] = field(default_factory=list)
    matched: int = 0
    made: int = 0
    made_items: int = 0
    # Net of refunds: a refunded receipt's charge was returned.
    charges: int = 0
    served: int = 0
    served_items: int = 0
    by_peer: dict[str, PeerFlow] = field(default_factory=dict)
    # The receipts examined hit the scan limit: totals cover the newest ones only.
    truncated: bool = False


def _first_at_or_after(store: Store, ms: int, head: int) -> int:
    lo, hi = 0, head + 1
    while lo < hi:
        mid = (lo + hi) // 2
        info = store.block_info(mid)
        if info is not None and info.time < ms:
            lo = mid + 1
        else:
            hi = mid
    return lo


def height_range(store: Store, since_ms: int | None, until_ms: int | None) -> tuple[int, int]:
    """Heights of the blocks whose time lies in ``[since_ms, until_ms]`` (may be empty:
    then the first exceeds the second)."""
    head = store.height
    first = 0 if since_ms is None else _first_at_or_after(store, since_ms, head)
    last = head if until_ms is None else _first_at_or_after(store, until_ms + 1, head) - 1
    return first, last


def _feedback_matches(wanted: str, row: QueryRow) -> bool:
    states = row.hit_state
    if wanted == "none":
        return states is None
    if wanted == "hits":
        return states is not None
    if wanted == "refunded":
        return row.status == "refunded"
    code = {"open": "r", "confirmed": "c", "disputed": "d"}.get(wanted)
    return code is not None and states is not None and code in states


@dataclass(frozen=True, slots=True)
class _Request:
    """What a receipt transaction's signed request says (it never changes)."""

    receipt_id: str
    querier: str
    list_type: str
    id_type: str
    items: int
    purpose: str
    legal_basis: str


class RequestCache:
    """Decoded requests by transaction id, so each receipt is decoded once.

    Decoding (canonical CBOR checks of the envelope and the request) is most of what a
    listing costs; a committed transaction's bytes never change, so its decoding can be
    kept. Bounded: past ``limit`` entries it starts again, which costs only time.
    """

    def __init__(self, limit: int = 500_000) -> None:
        self._limit = limit
        self._entries: dict[bytes, _Request | None] = {}
        self._lock = threading.Lock()

    def get(self, record: TxRecord) -> _Request | None:
        with self._lock:
            if record.tx_id in self._entries:
                return self._entries[record.tx_id]
        request = _decode_request(record)
        with self._lock:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[record.tx_id] = request
        return request


def _decode_request(record: TxRecord) -> _Request | None:
    try:
        body = decode_transaction(record.raw).tx.body
        signed = SignedRequest.from_parts(body["request"], body["request_sig"])
    except (EncodingError, CreditsError, KeyError, TypeError):
        return None
    r = signed.request
    return _Request(
        signed.receipt_id,
        r.querier,
        r.list_type,
        r.id_type,
        r.item_count,
        r.purpose_code,
        r.legal_basis,
    )


def _decode(
    record: TxRecord, direction: str, state: StoreState, cache: RequestCache
) -> QueryRow | None:
    request = cache.get(record)
    if request is None:
        return None
    row = recorded_receipt(state, request.receipt_id)
    if row is None:
        return None
    return QueryRow(
        receipt_id=request.receipt_id,
        tx_id=record.tx_id,
        height=record.height,
        time=row.time,
        direction=direction,
        querier=request.querier,
        responder=str(record.member),
        list_type=request.list_type,
        id_type=request.id_type,
        items=request.items,
        charge=row.charge,
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        status=row.status,
        hit_state=row.hit_state,
    )


def _records(
    store: Store, me: str, flt: QueryFilter, first: int, last: int, limit: int
) -> Iterator[tuple[TxRecord, str]]:
    """Receipt transactions of either direction, newest first, merged."""
    peer = flt.peer or None
    common: dict[str, Any] = {
        "kind": RECEIPT_KIND,
        "ok": True,
        "from_height": first,
        "to_height": last,
        "newest_first": True,
        "limit": limit,
    }
    made: list[TxRecord] = []
    served: list[TxRecord] = []
    if flt.direction in ("both", "made"):
        made = store.txs(party=me, member=peer, **common)
    if flt.direction in ("both", "served"):
        served = store.txs(member=me, party=peer, **common)
    tagged = [(r, "made") for r in made] + [(r, "served") for r in served]
    tagged.sort(key=lambda t: (t[0].height, t[0].index), reverse=True)
    yield from tagged[:limit]


def list_queries(
    store: Store,
    me: str,
    flt: QueryFilter,
    *,
    show: int = 200,
    scan_limit: int = 100_000,
    cache: RequestCache | None = None,
) -> QueryPage:
    """The receipts matching ``flt``: the newest ``show`` rows and totals over all."""
    cache = cache if cache is not None else RequestCache()
    page = QueryPage()
    first, last = height_range(store, flt.since_ms, flt.until_ms)
    if first > last:
        return page
    scanned = 0
    state = store.state()
    for record, direction in _records(store, me, flt, first, last, scan_limit):
        scanned += 1
        row = _decode(record, direction, state, cache)
        if row is None:
            continue
        if flt.list_type and row.list_type != flt.list_type:
            continue
        if flt.feedback and not _feedback_matches(flt.feedback, row):
            continue
        page.matched += 1
        flow = page.by_peer.setdefault(row.peer, PeerFlow())
        if direction == "made":
            page.made += 1
            page.made_items += row.items
            net = 0 if row.status == "refunded" else row.charge
            page.charges += net
            flow.made_queries += 1
            flow.made_items += row.items
            flow.charges += net
        else:
            page.served += 1
            page.served_items += row.items
            flow.served_queries += 1
            flow.served_items += row.items
        if len(page.rows) < show:
            page.rows.append(row)
    page.truncated = scanned >= scan_limit
    return page
