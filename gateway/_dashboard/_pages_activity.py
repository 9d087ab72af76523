"""Pages about this member's activity: queries made and served, credits, ranking."""

from __future__ import annotations

from fractions import Fraction

from gateway._dashboard._charts import bar_chart, step_chart
from gateway._dashboard._context import Context, Params
from gateway._dashboard._credits import credits_view
from gateway._dashboard._credits import ranking_view as load_ranking
from gateway._dashboard._format import BadFilter, credits, parse_time, utc
from gateway._dashboard._html import Markup, el, join
from gateway._dashboard._layout import field, link, page, select, stat, table
from gateway._dashboard._queries import DIRECTIONS, FEEDBACK, QueryFilter, list_queries
from ledger import active_members, consortium_info, list_types
from token_incentive import SETTLEMENT_COMPONENTS, SettlementView

__all__ = ["credits_page", "queries_page", "ranking_page", "read_filter"]

_SHOW = 200


def read_filter(params: Params) -> QueryFilter:
    direction = params.get("direction", "both") or "both"
    if direction not in DIRECTIONS:
        raise BadFilter(f"direction is one of {', '.join(DIRECTIONS)}")
    feedback = params.get("feedback", "")
    if feedback not in FEEDBACK:
        raise BadFilter(f"feedback is one of {', '.join(k for k in FEEDBACK if k)}")
    since = parse_time(params.get("from", ""))
    until = parse_time(params.get("to", ""), end=True)
    return QueryFilter(
        direction=direction,
        peer=params.get("peer", "").strip(),
        list_type=params.get("list_type", "").strip(),
        since_ms=since,
        until_ms=until,
        feedback=feedback,
    )


def _form(ctx: Context, flt: QueryFilter, params: Params) -> Markup:
    state = ctx.store.state()
    peers = [m.id for m in active_members(state, "member") if m.id != ctx.member]
    kinds = sorted(list_types(state))
    return el(
        "form",
        select("direction", "direction", [(d, d) for d in DIRECTIONS], flt.direction),
        select("peer", "peer", [("", "any"), *[(p, p) for p in peers]], flt.peer),
        select("list_type", "list type", [("", "any"), *[(k, k) for k in kinds]], flt.list_type),
        field("from", "from (UTC)", params.get("from", ""), hint="2025-01-31T09:00"),
        field("to", "to (UTC)", params.get("to", ""), hint="2025-01-31"),
        select("feedback", "hit feedback", list(FEEDBACK.items()), flt.feedback),
        el("button", "Filter", type="submit"),
        link("/queries", "clear"),
        method="get",
        action="/queries",
        class_="filters",
        id="query-filters",
    )


def queries_page(ctx: Context, params: Params) -> bytes:
    flt = read_filter(params)
    result = list_queries(ctx.store, ctx.member, flt, show=_SHOW, cache=ctx.requests)
    rows = [
        (
            utc(r.time),
            r.direction,
            r.peer,
            r.list_type,
            r.id_type,
            r.items,
            credits(r.charge),
            r.purpose,
            r.legal_basis,
            r.status,
            r.feedback,
            el(
                "a",
                r.receipt_id[:12] + "…",
                href=f"/ledger/tx/{r.tx_id.hex()}",
                title=r.receipt_id,
                class_="hex receipt",
            ),
        )
        for r in result.rows
    ]
    body = [
        _form(ctx, flt, params),
        el(
            "div",
            stat("queries matched", result.matched, key="matched"),
            stat("made", result.made, key="made"),
            stat("items asked", result.made_items, key="made_items"),
            stat("charged (credits, net)", credits(result.charges), key="charges"),
            stat("served", result.served, key="served"),
            stat("items served", result.served_items, key="served_items"),
            class_="stats",
        ),
        el(
            "p",
            f"Newest {min(_SHOW, result.matched)} of {result.matched} shown. Times are block"
            " times; the receipts carry counts and digests, never the identifiers asked.",
            " Totals cover only the newest receipts (scan limit reached)."
            if result.truncated
            else "",
            class_="note",
        ),
        table(
            [
                "time (UTC)",
                "direction",
                "peer",
                "list type",
                "id type",
                "items",
                "charge",
                "purpose",
                "legal basis",
                "status",
                "hit feedback",
                "receipt",
            ],
            rows,
            numeric=[5, 6],
            empty="No queries match these filters.",
            id_="queries",
        ),
    ]
    return page("Queries made and served", ctx.member, body, active="/queries")


def credits_page(ctx: Context, params: Params) -> bytes:
    view = credits_view(ctx.store, ctx.member)
    state = ctx.store.state()
    info = consortium_info(state) or {}
    origin = info.get("genesis_time")
    start = origin if isinstance(origin, int) else (view.journal[0].time if view.journal else 0)
    points = [(start, 0)] + [(e.time, e.balance) for e in view.journal]
    head = ctx.store.head()
    chart = step_chart(
        points if view.journal else [],
        title=f"Balance of {ctx.member} over time (credits)",
        fmt=credits,
        end_ms=None if head is None else head.time,
    )
    flows = list_queries(ctx.store, ctx.member, QueryFilter(), show=0, cache=ctx.requests).by_peer
    peers = sorted(flows)
    journal_rows = [
        (
            e.n,
            utc(e.time),
            link(f"/ledger/block/{e.height}", e.height),
            e.kind,
            e.ref[:16] + ("…" if len(e.ref) > 16 else ""),
            credits(e.amount),
            credits(e.balance),
        )
        for e in reversed(view.journal[-100:])
    ]
    body = [
        el(
            "div",
            stat("balance (credits)", credits(view.balance), key="balance"),
            stat("balance at epoch start, B(t)", credits(view.settled), key="settled"),
            stat("statement entries", len(view.journal), key="entries"),
            class_="stats",
        ),
        el("h2", "Credits over time"),
        chart,
        el("h2", "Flows per counterparty"),
        bar_chart(
            peers,
            [
                ("items asked of them", [flows[p].made_items for p in peers]),
                ("items served to them", [flows[p].served_items for p in peers]),
            ],
            title="Items asked and served, per counterparty",
        ),
        bar_chart(
            peers,
            [("credits charged for asking them", [flows[p].charges for p in peers])],
            title="Credits charged for queries, per counterparty",
            fmt=credits,
        ),
        table(
            [
                "counterparty",
                "queries to them",
                "items asked",
                "charged (credits)",
                "queries from them",
                "items served",
            ],
            [
                (
                    p,
                    flows[p].made_queries,
                    flows[p].made_items,
                    credits(flows[p].charges),
                    flows[p].served_queries,
                    flows[p].served_items,
                )
                for p in peers
            ],
            numeric=[1, 2, 3, 4, 5],
            id_="flows",
        ),
        el("h2", "Statement (newest 100)"),
        table(
            ["#", "time (UTC)", "block", "kind", "reference", "amount", "balance"],
            journal_rows,
            numeric=[0, 2, 5, 6],
            id_="journal",
        ),
    ]
    return page("Credits", ctx.member, body, active="/credits")


def _quality(q: Fraction) -> str:
    return f"{float(q):.3f} ({q.numerator}/{q.denominator})"


def _rank_table(shown: SettlementView, balances: dict[str, int], me: str, id_: str) -> Markup:
    return table(
        ["rank", "member", "confirmed hits (TP)", "upheld disputes (FP)", "quality q", "balance"],
        [
            (
                r.rank,
                el("strong", r.member) if r.member == me else r.member,
                r.tp,
                r.fp,
                _quality(r.quality),
                credits(balances.get(r.member, 0)),
            )
            for r in shown.ranking
        ],
        numeric=[0, 2, 3, 5],
        id_=id_,
    )


def _entries_table(shown: SettlementView, id_: str) -> Markup:
    return table(
        ["member", *SETTLEMENT_COMPONENTS],
        [(e.member, *(credits(e.amounts[c]) for c in SETTLEMENT_COMPONENTS)) for e in shown.lines],
        numeric=range(1, len(SETTLEMENT_COMPONENTS) + 1),
        id_=id_,
    )


def ranking_page(ctx: Context, params: Params) -> bytes:
    view = load_ranking(ctx.store)
    body: list[object] = [
        el(
            "p",
            "Quality q = (TP + a0) / (TP + FP + a0 + b0): confirmed hits raise it, upheld"
            " disputes lower it. Ranking orders by q, then by confirmed hits.",
            class_="note",
        )
    ]
    if view.problem:
        body.append(el("p", view.problem, class_="bad"))
    provisional, settled = view.provisional, view.settled
    if provisional is not None:
        body += [
            el("h2", f"Epoch {provisional.epoch} so far (provisional)"),
            el(
                "p",
                f"{utc(provisional.start)} – {utc(provisional.end)} UTC; what a settlement"
                " proposed now would carry.",
                class_="note",
            ),
            _rank_table(provisional, view.balances, ctx.member, "ranking"),
            el("h3", "Settlement components so far (credits)"),
            _entries_table(provisional, "provisional-entries"),
        ]
    if settled is None:
        body.append(el("p", "No epoch has been settled yet.", class_="empty"))
    else:
        body += [
            el("h2", f"Last settled epoch: {settled.epoch}"),
            el("p", f"settled at {utc(settled.time)} UTC", class_="note"),
            _rank_table(settled, view.balances, ctx.member, "settled-ranking"),
            _entries_table(settled, "settled-entries"),
        ]
    return page("Evaluation ranking", ctx.member, join(body), active="/ranking")
