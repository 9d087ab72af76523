"""Pages about the member's health: overview, lists (index status), peers, governance."""

from __future__ import annotations

from gateway._dashboard._context import Context, Params
from gateway._dashboard._credits import credits_view
from gateway._dashboard._format import credits, short_hex, utc
from gateway._dashboard._governance import governance_view
from gateway._dashboard._html import Markup, el, join
from gateway._dashboard._layout import kv, link, page, stat, table, tree
from gateway._dashboard._lists import lists_view, sync_time_ms
from gateway._dashboard._peers import PeerRow, peer_rows
from gateway._dashboard._queries import QueryFilter, list_queries
from gateway._watch_store import read_watch
from ledger import consortium_info, get_member
from token_incentive import CreditsError, current_epoch, regulator_report

__all__ = [
    "governance_page",
    "lists_page",
    "overview_page",
    "peers_page",
    "regulator_page",
    "watch_page",
]


def overview_page(ctx: Context, params: Params) -> bytes:
    store = ctx.store
    state = store.state()
    head = store.head()
    info = consortium_info(state) or {}
    me = get_member(state, ctx.member)
    totals = list_queries(store, ctx.member, QueryFilter(), show=0, cache=ctx.requests)
    gov = governance_view(store)
    balance = credits_view(store, ctx.member).balance
    lists = lists_view(store, ctx.member, ctx.data_dir)
    probes = ctx.probes()
    serving = sum(1 for p in probes.values() if p.status == "serving")
    warnings = [
        el("p", f"Equivocation recorded: {d}", class_="bad") for _, d, _ in store.equivocations()
    ]
    body = [
        *warnings,
        el(
            "div",
            stat("ledger height", store.height, key="height"),
            stat("transactions", store.tx_count(), key="transactions"),
            stat(
                "final height", "—" if gov.final_height is None else gov.final_height, key="final"
            ),
            stat("balance (credits)", credits(balance), key="balance"),
            stat("queries made", totals.made, key="made"),
            stat("queries served", totals.served, key="served"),
            stat(
                "lists published",
                sum(1 for r in lists.rows if r.ledger_epoch is not None),
                key="lists",
            ),
            stat(
                "peers serving",
                f"{serving} of {len(probes)}" if probes else "not probed yet",
                key="peers",
            ),
            class_="stats",
        ),
        kv(
            [
                ("consortium", info.get("name", "—")),
                ("member", f"{ctx.member} ({me.name}, {me.role})" if me else ctx.member),
                ("chain id", el("span", (store.chain_id or b"").hex(), class_="hex")),
                ("head", el("span", head.hash.hex() if head else "—", class_="hex")),
                ("head time (UTC)", utc(head.time if head else None)),
                ("normaliser", info.get("normaliser_version", "—")),
            ]
        ),
        el(
            "p",
            "Read-only: this dashboard answers GET and HEAD only and cannot change the ledger,"
            " the lists or the gateway. Identifiers never appear here.",
            class_="note",
        ),
    ]
    return page("Overview", ctx.member, body, active="/")


def lists_page(ctx: Context, params: Params) -> bytes:
    view = lists_view(ctx.store, ctx.member, ctx.data_dir)
    rows = []
    for r in view.rows:
        sync = r.last_sync
        rows.append(
            (
                r.list_type,
                ", ".join(r.id_types),
                r.state,
                "—" if r.ledger_epoch is None else r.ledger_epoch,
                "—" if r.ledger_size is None else r.ledger_size,
                utc(r.published_at),
                utc(r.expires_at) if r.expires_at else "never",
                "—" if r.index_epoch is None else r.index_epoch,
                "—" if r.index_size is None else r.index_size,
                "—" if r.staged is None else r.staged,
                "—" if sync is None else f"{utc(sync_time_ms(sync))} ({sync.status})",
                r.rejects,
            )
        )
    sources = [
        (
            s.name,
            s.location,
            utc(sync_time_ms(s.last_sync)),
            "—" if s.last_sync is None else s.last_sync.status,
            "—" if s.last_sync is None else s.last_sync.rows_read,
            "—" if s.last_sync is None else s.last_sync.accepted,
            "—" if s.last_sync is None else s.last_sync.rejected,
        )
        for s in view.sources
    ]
    body = [
        *[el("p", p, class_="note") for p in view.problems],
        table(
            [
                "list type",
                "id types",
                "state",
                "ledger epoch",
                "ledger size",
                "published (UTC)",
                "expires (UTC)",
                "index epoch",
                "index size",
                "staged",
                "last sync (UTC)",
                "rejects",
            ],
            rows,
            numeric=[3, 4, 7, 8, 9, 11],
            id_="lists",
        ),
        el("h2", "Sources"),
        table(
            [
                "source",
                "location",
                "last sync (UTC)",
                "status",
                "rows read",
                "accepted",
                "rejected",
            ],
            sources,
            numeric=[4, 5, 6],
            empty="No source registered.",
            id_="sources",
        ),
        el(
            "p",
            "Rejected rows are listed, masked, in the reports directory of the data directory.",
            class_="note",
        ),
    ]
    return page("Index status per list type", ctx.member, body, active="/lists")


def _health(row: PeerRow) -> Markup:
    if row.probe is None:
        return el("span", "not probed yet", class_="note")
    css = "good" if row.probe.status == "serving" else "bad"
    detail = f" ({row.probe.detail})" if row.probe.detail else ""
    return el("span", row.probe.status + detail, class_=css)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _snapshots(row: PeerRow) -> Markup:
    parts = []
    for list_type, (held, published) in sorted(row.snapshots.items()):
        held_text = "none" if held is None else str(held)
        css = "good" if held == published else None
        parts.append(el("span", f"{list_type}: {held_text} / {published}", class_=css))
    return join(parts, ", ") if parts else Markup("—")


def peers_page(ctx: Context, params: Params) -> bytes:
    rows = peer_rows(ctx.store, ctx.member, ctx.probes(), ctx.latency(), ctx.held())
    body = [
        el(
            "p",
            "Health: a gRPC health check over this gateway's mutual-TLS channel, every few"
            " seconds. Latency: this gateway's queries to the peer (percentiles are histogram"
            " bucket bounds). Snapshots: epoch held / epoch the peer published.",
            class_="note",
        ),
        table(
            [
                "member",
                "role",
                "address",
                "health",
                "round trip (ms)",
                "probed (UTC)",
                "query batches",
                "mean (ms)",
                "p50 ≤ (ms)",
                "p95 ≤ (ms)",
                "outcomes",
                "snapshots held / published",
            ],
            [
                (
                    r.member,
                    r.role,
                    r.address,
                    _health(r),
                    _ms(r.probe.rtt_ms if r.probe else None),
                    utc(r.probe.at_ms) if r.probe else "—",
                    r.latency.count if r.latency else 0,
                    _ms(r.latency.mean_ms if r.latency else None),
                    _ms(r.latency.p50_ms if r.latency else None),
                    _ms(r.latency.p95_ms if r.latency else None),
                    ", ".join(f"{k}: {v}" for k, v in sorted(r.latency.outcomes.items()))
                    if r.latency
                    else "—",
                    _snapshots(r),
                )
                for r in rows
            ],
            numeric=[4, 6, 7, 8, 9],
            id_="peers",
        ),
    ]
    return page("Peers", ctx.member, body, active="/peers")


def governance_page(ctx: Context, params: Params) -> bytes:
    view = governance_view(ctx.store)
    proposals = [
        (
            el("a", short_hex(p.id, 12), href=f"/ledger/tx/{p.id}", class_="hex"),
            p.proposer,
            p.action,
            tree(p.args),
            utc(p.created_time),
            utc(p.expires_at),
            f"{p.counted} of {view.needed} needed ({', '.join(p.approvals)})",
            p.status,
            "—"
            if p.executed_height is None
            else link(f"/ledger/block/{p.executed_height}", p.executed_height),
        )
        for p in view.proposals
    ]
    members = [
        (
            m.id,
            m.name,
            m.role,
            m.status,
            m.address,
            el("span", short_hex(m.signing_key), class_="hex"),
        )
        for m in view.members
    ]
    body = [
        el(
            "div",
            stat("voters", view.voters, key="voters"),
            stat("approvals needed", view.needed, key="needed"),
            stat(
                "open proposals", sum(1 for p in view.proposals if p.status == "open"), key="open"
            ),
            stat(
                "final height", "—" if view.final_height is None else view.final_height, key="final"
            ),
            class_="stats",
        ),
        el("h2", "Proposals"),
        table(
            [
                "proposal",
                "proposer",
                "action",
                "arguments",
                "proposed (UTC)",
                "expires (UTC)",
                "approvals",
                "status",
                "executed at",
            ],
            proposals,
            empty="No proposal has been made.",
            id_="proposals",
        ),
        el("h2", "Members"),
        table(["id", "name", "role", "status", "address", "signing key"], members, id_="members"),
        el("h2", "Parameters"),
        table(
            ["name", "value"], [(k, tree(v)) for k, v in sorted(view.params.items())], id_="params"
        ),
    ]
    return page("Governance", ctx.member, body, active="/governance")


def watch_page(ctx: Context, params: Params) -> bytes:
    """Watchlists: books by size, whom they are evaluated against, and alerts. A book
    line is named by its number and the member's own reference, never its identifier."""
    view = read_watch(ctx.data_dir / "watch.sqlite")
    evaluated: dict[str, list[str]] = {}
    for e in view.evaluations:
        evaluated.setdefault(e.book, []).append(f"{e.responder} (epochs {e.epoch}–{e.until - 1})")
    books = [
        (b.name, b.list_type, b.id_type, b.size, "; ".join(evaluated.get(b.name, [])) or "—")
        for b in view.books
    ]
    alerts = [
        (
            a.book,
            a.line,
            a.ref or "—",
            a.responder,
            a.list_type,
            a.epoch,
            utc(a.raised_ms),
            "open" if a.cleared_ms is None else f"cleared {utc(a.cleared_ms)}",
        )
        for a in view.alerts
    ]
    open_count = sum(1 for a in view.alerts if a.cleared_ms is None)
    body = [
        el("p", f"{open_count} open alert(s).", class_="note"),
        table(
            [
                "book",
                "line",
                "reference",
                "listed by",
                "list type",
                "epoch",
                "raised (UTC)",
                "state",
            ],
            alerts,
            numeric=[1, 5],
            empty="No alert.",
            id_="alerts",
        ),
        el("h2", "Books"),
        table(
            ["book", "list type", "id type", "identifiers", "evaluated under the key of"],
            books,
            numeric=[3],
            empty="No book watched (riskshare watch add).",
            id_="books",
        ),
    ]
    return page("Watchlists", ctx.member, body, active="/watch")


def _counts(by_status: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())) or "—"


def regulator_page(ctx: Context, params: Params) -> bytes:
    """The regulator's epoch report (``token_incentive.regulator_report``): per member,
    from the ledger alone; ``?epoch=N`` (default: the epoch in progress)."""
    state = ctx.store.state()
    head = ctx.store.head()
    raw = params.get("epoch", "").strip()
    try:
        # The epoch of the newest block: a page reads the ledger, not the clock.
        epoch = int(raw) if raw else current_epoch(state, 0 if head is None else head.time)
    except (ValueError, CreditsError):
        epoch = 0
    epoch = max(0, epoch)
    rows = [
        (
            r.member,
            r.made,
            r.items_made,
            credits(r.charged),
            credits(r.refunded),
            r.served,
            r.items_served,
            r.hits_reported,
            r.hits_received,
            r.confirmed,
            r.disputed,
            _counts(r.disputes_filed),
            _counts(r.disputes_against),
            r.watched,
        )
        for r in regulator_report(state, epoch)
    ]
    body = [
        el(
            "p",
            f"Epoch {epoch}, computed from this replica's ledger alone (no identifier is on"
            " the ledger); riskshare regulator report --epoch N prints the same.",
            class_="note",
        ),
        table(
            [
                "member",
                "made",
                "items",
                "charged",
                "refunded",
                "served",
                "items served",
                "hits reported",
                "hits received",
                "confirmed",
                "disputed",
                "disputes filed",
                "disputes against",
                "watched identifiers",
            ],
            rows,
            numeric=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13],
            empty="No activity in this epoch.",
            id_="report",
        ),
    ]
    return page("Regulator's report", ctx.member, body, active="/regulator")
