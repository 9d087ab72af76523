"""Ledger explorer pages: blocks, transactions, one transaction, and its inclusion proof.

The proof download is :func:`ledger.proof_document`, the same JSON ``riskshare ledger
proof`` writes, so ``riskshare ledger check-proof`` (or :func:`ledger.verify_tx_proof`)
checks it offline against a proposer key or header hash the auditor trusts.
"""

from __future__ import annotations

import json

from gateway._dashboard._context import Context, NotFound, Params
from gateway._dashboard._format import BadFilter, short_hex, utc
from gateway._dashboard._html import Markup, el, join
from gateway._dashboard._layout import field, kv, link, page, table, tree
from gateway._dashboard._safe import display_body
from ledger import EncodingError, LedgerError, decode_header, decode_transaction, get_member
from ledger import proof_document as ledger_proof_document

__all__ = ["block_page", "ledger_page", "parse_tx_id", "proof_document", "tx_page"]

_PAGE_BLOCKS = 50
_PAGE_TXS = 100


def parse_tx_id(text: str) -> bytes:
    try:
        tx_id = bytes.fromhex(text)
    except ValueError:
        raise NotFound("a transaction id is 64 hex digits") from None
    if len(tx_id) != 32:
        raise NotFound("a transaction id is 64 hex digits")
    return tx_id


def _int(params: Params, name: str) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise BadFilter(f"{name} must be a non-negative integer")
    return int(text)


def _tx_link(tx_id: bytes) -> Markup:
    return el("a", short_hex(tx_id, 20), href=f"/ledger/tx/{tx_id.hex()}", class_="hex")


def ledger_page(ctx: Context, params: Params) -> bytes:
    store = ctx.store
    head = store.height
    before = _int(params, "before")
    top = head if before is None else min(head, before - 1)
    first = max(0, top - _PAGE_BLOCKS + 1)
    blocks = list(reversed(store.blocks_info(first, top - first + 1))) if top >= 0 else []
    rows = [
        (
            link(f"/ledger/block/{b.height}", b.height),
            utc(b.time),
            b.proposer,
            b.tx_count,
            el("span", short_hex(b.hash, 24), class_="hex"),
        )
        for b in blocks
    ]
    older = link("/ledger", "older blocks →", {"before": first}) if first > 0 else ""
    kind = params.get("kind", "").strip()
    member = params.get("member", "").strip()
    txs = store.txs(kind=kind or None, member=member or None, newest_first=True, limit=_PAGE_TXS)
    tx_rows = [
        (
            link(f"/ledger/block/{r.height}", r.height),
            r.index,
            _tx_link(r.tx_id),
            r.kind or "—",
            r.member or "—",
            utc(r.time),
            "ok" if r.ok else el("span", f"refused: {r.reason}", class_="bad"),
        )
        for r in txs
    ]
    body = [
        el("p", f"Head height {head}; {store.tx_count()} transactions.", class_="note"),
        el("h2", "Blocks"),
        table(
            ["height", "time (UTC)", "proposer", "txs", "hash"], rows, numeric=[0, 3], id_="blocks"
        ),
        el("p", older),
        el("h2", "Transactions"),
        el(
            "form",
            field("kind", "kind", kind, hint="credits.receipt"),
            field("member", "submitted by", member, hint="bank-a"),
            el("button", "Filter", type="submit"),
            method="get",
            action="/ledger",
            class_="filters",
        ),
        el("p", f"The newest {_PAGE_TXS} matching transactions.", class_="note"),
        table(
            ["height", "index", "tx id", "kind", "member", "claimed time (UTC)", "result"],
            tx_rows,
            numeric=[0, 1],
            id_="txs",
        ),
    ]
    return page("Ledger explorer", ctx.member, body, active="/ledger")


def block_page(ctx: Context, params: Params, height_text: str) -> bytes:
    if not height_text.isdigit():
        raise NotFound("a height is a non-negative integer")
    height = int(height_text)
    info = ctx.store.block_info(height)
    if info is None:
        raise NotFound(f"no block at height {height}")
    header = decode_header(info.header)
    signers = [m for m, h, _ in ctx.store.checkpoints(height) if h == info.hash]
    txs = ctx.store.txs(from_height=height, to_height=height)
    nav = join(
        [
            link(f"/ledger/block/{height - 1}", "← previous") if height > 0 else "",
            " ",
            link(f"/ledger/block/{height + 1}", "next →") if height < ctx.store.height else "",
        ]
    )
    body = [
        el("p", nav),
        kv(
            [
                ("height", height),
                ("hash", el("span", info.hash.hex(), class_="hex")),
                ("previous", el("span", header.prev.hex(), class_="hex")),
                ("time (UTC)", utc(info.time)),
                ("proposer", info.proposer),
                ("transactions", info.tx_count),
                ("tx root (RFC 9162)", el("span", header.tx_root.hex(), class_="hex")),
                ("state digest", el("span", info.state_digest.hex(), class_="hex")),
                ("checkpoint signers", ", ".join(signers) or "none yet"),
            ]
        ),
        el("h2", "Transactions"),
        table(
            ["index", "tx id", "kind", "member", "seq", "result"],
            [
                (
                    r.index,
                    _tx_link(r.tx_id),
                    r.kind or "—",
                    r.member or "—",
                    r.seq,
                    "ok" if r.ok else el("span", f"refused: {r.reason}", class_="bad"),
                )
                for r in txs
            ],
            numeric=[0, 4],
        ),
    ]
    return page(f"Block {height}", ctx.member, body, active="/ledger")


def tx_page(ctx: Context, params: Params, tx_text: str) -> bytes:
    tx_id = parse_tx_id(tx_text)
    record = ctx.store.tx(tx_id)
    if record is None:
        raise NotFound("no such transaction in this replica")
    try:
        body_tree = display_body(record.kind, decode_transaction(record.raw).tx.body)
    except EncodingError:
        body_tree = "the stored bytes do not decode"
    info = ctx.store.block_info(record.height)
    proposer = None if info is None else get_member(ctx.store.state(), info.proposer)
    key = "" if proposer is None else proposer.signing_key.hex()
    file = f"tx-{tx_id.hex()[:16]}-proof.json"
    check = f"riskshare ledger check-proof {file} --proposer-key {key or '<key>'}"
    body = [
        kv(
            [
                ("tx id", el("span", tx_id.hex(), class_="hex")),
                ("block", link(f"/ledger/block/{record.height}", record.height)),
                ("index in block", record.index),
                ("kind", record.kind or "—"),
                ("submitted by", record.member or "—"),
                ("sequence", record.seq),
                ("claimed time (UTC)", utc(record.time)),
                ("result", "applied" if record.ok else f"refused: {record.reason}"),
                ("parties", ", ".join(ctx.store.tx_parties(record.height, record.index)) or "—"),
            ]
        ),
        el("h2", "Inclusion proof"),
        el(
            "p",
            el(
                "a",
                "Download the inclusion proof (JSON)",
                href=f"/ledger/tx/{tx_id.hex()}/proof.json",
                download=file,
                id="proof-link",
            ),
        ),
        el(
            "p",
            "Check it offline against the proposer key you trust (this replica's copy of ",
            el("code", info.proposer if info else "?"),
            "'s key is shown):",
            class_="note",
        ),
        el("pre", el("code", check)),
        el("h2", "Body"),
        tree(body_tree),
    ]
    return page("Transaction", ctx.member, body, active="/ledger")


def proof_document(ctx: Context, tx_text: str) -> tuple[bytes, str]:
    """The proof JSON and its download file name."""
    tx_id = parse_tx_id(tx_text)
    try:
        document = ledger_proof_document(ctx.store, tx_id)
    except LedgerError:
        raise NotFound("no such transaction in this replica") from None
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return text.encode(), f"tx-{tx_id.hex()[:16]}-proof.json"
