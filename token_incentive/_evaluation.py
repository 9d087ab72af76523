"""Evaluation (去伪存真): hit reports, confirm/dispute feedback, disputes, canaries.

Hits. The responder never learns what hit, so the querier reports it: one
``credits.hits`` transaction lists, for every identifier that hit, the receipts of the
responders that answered yes to it — one receipt for a directed query, several for a
broadcast. That gives k_x for each hit x. A receipt's hits are reported once, within its
feedback window, by its querier, and never exceed its item count. Each hit starts
``reported`` ("r").

Feedback (``credits.feedback``), by the querier, within the window, on reported hits of
its own receipt: ``confirm`` ("c", final) or ``dispute`` (opens a dispute; at most one
per receipt). Silence until the window closes counts as confirmed: settlement pays
every hit still "r" or "c".

Disputes are ledger objects keyed by receipt id, ``kind`` ``hit`` (filed by a querier)
or ``canary`` (filed by an observer). Their life: ``filed`` → ``opened`` (the holder,
i.e. the responder, opens the evidence it committed for each disputed entry: a salted
evidence hash and its RFC 9162 inclusion proof against the ``evidence_root`` of the
index the receipt was answered from, verified here) → ``upheld`` or ``rejected`` by an
observer. "rejected" needs an opening; "upheld" needs an opening or the holder's
deadline (``dispute_open_ms`` after filing) to have passed. The filer may not judge its
own dispute while another observer is active. An upheld dispute counts each disputed
hit as a false positive for the holder at the next settlement (penalty γ each) and
records an obligation to delist, discharged by ``credits.delisted`` once the holder
has published a newer index epoch. A rejected dispute pays its hits at the next
settlement.

Canaries catch responders that list indiscriminately (harvested or enumerated
identifiers, "always yes"). An observer first commits to synthetic canary identifiers
(``credits.canary_commit``: salted SHA-256 commitments, so nothing is revealed), plants
them where only an indiscriminate lister would pick them up, and later probes
responders with canary queries (purpose ``canary``: free, unrewarded). In snapshot mode
the answer is fixed by the responder's committed index and its VOPRF proof, so knowing
a probe is a probe does not let a responder answer it differently. A yes on a canary is
revealed with ``credits.canary_reveal``: the commitment's opening (salt and the canary
record), and the probe's receipt, recorded after the commitment. It files a ``canary``
dispute against the responder, which may still open evidence for the identifier
before an observer resolves it, so an observer cannot frame a responder that holds
real evidence for an entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from ledger import (
    ContractError,
    EncodingError,
    ProofError,
    State,
    TxContext,
    Value,
    active_members,
    encode,
    index_row,
    leaf_hash,
    verify_inclusion,
)
from token_incentive._book import (
    CANARIES,
    CANARY_PROBES,
    DELIST,
    DISPUTES,
    EPOCH_HITS,
    QUEUE,
    RECEIPTS,
    epoch_at,
    epoch_key,
    probe_key,
    update_schedule,
)
from token_incentive._errors import MessageError
from token_incentive._params import params_from_state
from token_incentive._util import field, window_open

__all__ = [
    "EVALUATION_HANDLERS",
    "EVALUATION_ROLES",
    "canary_commitment",
    "canary_probes",
    "open_canaries",
]

_CANARY = ("credits-canary", 1)
_CANARY_RECORD = frozenset({"list_type", "id_type", "normaliser_version", "value"})
_MAX_BATCH = 4096


def canary_commitment(salt: bytes, record: Mapping[str, str]) -> bytes:
    """SHA-256 of the canary record and salt, canonically encoded: what an observer commits."""
    if set(record) != _CANARY_RECORD or not all(isinstance(v, str) for v in record.values()):
        raise MessageError(f"a canary record has exactly the text fields {sorted(_CANARY_RECORD)}")
    try:
        return hashlib.sha256(encode(*_CANARY, {"salt": salt, **record})).digest()
    except EncodingError as exc:
        raise MessageError(f"bad canary record: {exc}") from None


def _own_receipt(state: State, ctx: TxContext, rid: str) -> dict[str, Any]:
    r: Any = state.get(RECEIPTS, rid)
    if r is None:
        raise ContractError(f"no receipt {rid}")
    if r["querier"] != ctx.member:
        raise ContractError(f"receipt {rid} is not {ctx.member}'s: feedback is its querier's")
    return dict(r)


def _hits(state: State, ctx: TxContext) -> None:
    items = field(ctx.body, "items", list)
    if not 1 <= len(items) <= _MAX_BATCH:
        raise ContractError(f"a hit report lists 1 to {_MAX_BATCH} identifiers")
    p = params_from_state(state)
    receipts: dict[str, dict[str, Any]] = {}
    ks: dict[str, list[int]] = {}
    for item in items:
        if not isinstance(item, list) or not item or not all(isinstance(x, str) for x in item):
            raise ContractError("each hit lists the receipt ids of the responders that said yes")
        if len(set(item)) != len(item):
            raise ContractError("a receipt appears twice for one hit")
        for rid in item:
            if rid not in receipts:
                r = _own_receipt(state, ctx, rid)
                if r["status"] != "recorded" or r["canary"]:
                    raise ContractError(f"receipt {rid} takes no hits (status {r['status']})")
                if r["hits"] is not None:
                    raise ContractError(f"the hits of receipt {rid} were reported before")
                if not window_open(r, ctx.block_time, p):
                    raise ContractError(f"the feedback window of receipt {rid} has closed")
                receipts[rid] = r
                ks[rid] = []
            ks[rid].append(len(item))
        group = [receipts[rid] for rid in item]
        if len({r["responder"] for r in group}) != len(group):
            raise ContractError("one hit lists two receipts of the same responder")
        if len({r["list_type"] for r in group}) != 1:
            raise ContractError("one hit lists receipts of different list types")
    for rid, r in receipts.items():
        if len(ks[rid]) > r["items"]:
            raise ContractError(f"receipt {rid} has {r['items']} items, not {len(ks[rid])} hits")
        state.put(RECEIPTS, rid, {**r, "hits": ks[rid], "hit_state": ["r"] * len(ks[rid])})
        state.put(EPOCH_HITS, f"{epoch_key(r['epoch'])}/{rid}", 1)


def _select(r: Mapping[str, Any], wanted: list[Any]) -> list[int]:
    states = r["hit_state"]
    if not wanted:
        chosen = [i for i, st in enumerate(states) if st == "r"]
        if not chosen:
            raise ContractError("this receipt has no open hits")
        return chosen
    if any(isinstance(i, bool) or not isinstance(i, int) for i in wanted):
        raise ContractError("hits are named by their index in the receipt")
    if len(set(wanted)) != len(wanted) or not all(0 <= i < len(states) for i in wanted):
        raise ContractError(f"hit indices must be distinct and in [0, {len(states)})")
    closed = [i for i in wanted if states[i] != "r"]
    if closed:
        raise ContractError(f"hits {closed} were already confirmed or disputed")
    return sorted(wanted)


def _new_dispute(
    kind: str,
    rid: str,
    filer: str,
    r: Mapping[str, Any],
    hits: list[int],
    ks: list[int],
    reason: str,
    ctx: TxContext,
    extra: Mapping[str, Value] | None = None,
) -> dict[str, Value]:
    return {
        "kind": kind,
        "receipt": rid,
        "filer": filer,
        "holder": r["responder"],
        "list_type": r["list_type"],
        "hits": list(hits),
        "ks": list(ks),
        "reason": reason,
        "status": "filed",
        "filed_at": ctx.block_time,
        "filed_height": ctx.height,
        "openings": None,
        "opened_at": None,
        "resolver": None,
        "resolved_at": None,
        "note": None,
        "settled_in": None,
        **(extra or {}),
    }


def _feedback(state: State, ctx: TxContext) -> None:
    body = ctx.body
    rid = field(body, "receipt", str)
    action = field(body, "action", str)
    wanted = body.get("hits", [])
    if action not in ("confirm", "dispute") or not isinstance(wanted, list):
        raise ContractError("feedback is confirm or dispute, on a list of hit indices")
    p = params_from_state(state)
    r = _own_receipt(state, ctx, rid)
    if not window_open(r, ctx.block_time, p):
        raise ContractError(f"the feedback window of receipt {rid} has closed")
    if r["hits"] is None:
        raise ContractError(f"no hits were reported on receipt {rid}")
    if action == "dispute" and state.get(DISPUTES, rid) is not None:
        raise ContractError(f"receipt {rid} already has a dispute")
    chosen = _select(r, wanted)
    states = list(r["hit_state"])
    for i in chosen:
        states[i] = "c" if action == "confirm" else "d"
    state.put(RECEIPTS, rid, {**r, "hit_state": states})
    if action == "dispute":
        reason = body.get("reason") or "false_positive"
        subjects = body.get("subjects")
        if not isinstance(reason, str) or len(reason) > 256:
            raise ContractError("a dispute's reason is text of at most 256 characters")
        if subjects is not None and (
            not isinstance(subjects, list)
            or len(subjects) != len(chosen)
            or not all(isinstance(s, bytes) and len(s) == 32 for s in subjects)
        ):
            raise ContractError("subjects are one 32-byte commitment per disputed hit")
        ks = [r["hits"][i] for i in chosen]
        state.put(
            DISPUTES,
            rid,
            _new_dispute(
                "hit", rid, ctx.member, r, chosen, ks, reason, ctx, {"subjects": subjects}
            ),
        )


def _dispute(state: State, rid: str) -> dict[str, Any]:
    d: Any = state.get(DISPUTES, rid)
    if d is None:
        raise ContractError(f"no dispute on receipt {rid}")
    return dict(d)


def _evidence(state: State, ctx: TxContext) -> None:
    rid = field(ctx.body, "dispute", str)
    openings = field(ctx.body, "openings", list)
    d = _dispute(state, rid)
    if d["holder"] != ctx.member:
        raise ContractError("only the holder of the disputed entries opens their evidence")
    if d["status"] != "filed":
        raise ContractError(f"dispute {rid} is {d['status']}, not awaiting evidence")
    if len(openings) != len(d["hits"]):
        raise ContractError(f"open exactly one evidence leaf per disputed hit ({len(d['hits'])})")
    r: Any = state.get(RECEIPTS, rid)
    root = r["index"]["evidence_root"]
    if not isinstance(root, bytes):
        raise ContractError("the index this receipt was answered from commits no evidence root")
    kept: list[Value] = []
    for o in openings:
        if not isinstance(o, dict) or set(o) != {"leaf", "index", "size", "proof"}:
            raise ContractError("an opening is {leaf, index, size, proof}")
        leaf, index, size, proof = o["leaf"], o["index"], o["size"], o["proof"]
        if not isinstance(leaf, bytes) or len(leaf) != 32:
            raise ContractError("an evidence leaf is a 32-byte salted hash")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (index, size)):
            raise ContractError("an opening's index and size are integers")
        if not isinstance(proof, list) or not all(isinstance(x, bytes) for x in proof):
            raise ContractError("an inclusion proof is a list of hashes")
        try:
            verify_inclusion(leaf_hash(leaf), index, size, proof, root)
        except ProofError as exc:
            raise ContractError(f"evidence opening does not verify: {exc}") from None
        kept.append({"leaf": leaf, "index": index, "size": size})
    state.put(
        DISPUTES, rid, {**d, "status": "opened", "openings": kept, "opened_at": ctx.block_time}
    )


def _resolve(state: State, ctx: TxContext) -> None:
    rid = field(ctx.body, "dispute", str)
    verdict = field(ctx.body, "verdict", str)
    note = ctx.body.get("note", "")
    if verdict not in ("upheld", "rejected") or not isinstance(note, str) or len(note) > 1024:
        raise ContractError("a verdict is upheld or rejected, with a note of at most 1024 chars")
    d = _dispute(state, rid)
    if d["status"] not in ("filed", "opened"):
        raise ContractError(f"dispute {rid} was already resolved ({d['status']})")
    if d["filer"] == ctx.member and any(
        m.id != ctx.member for m in active_members(state, "observer")
    ):
        raise ContractError("the filer of a dispute may not resolve it while another observer can")
    p = params_from_state(state)
    opened = d["status"] == "opened"
    if verdict == "rejected" and not opened:
        raise ContractError("a dispute can be rejected only on evidence the holder has opened")
    if verdict == "upheld" and not opened and ctx.block_time < d["filed_at"] + p.dispute_open_ms:
        raise ContractError(
            f"the holder may open its evidence until {d['filed_at'] + p.dispute_open_ms}"
        )
    state.put(
        DISPUTES,
        rid,
        {
            **d,
            "status": verdict,
            "resolver": ctx.member,
            "resolved_at": ctx.block_time,
            "note": note,
        },
    )
    # Accounted by the settlement of the epoch the verdict falls in, never earlier, so a
    # verdict cannot move the quality weights of the epoch it was given in.
    epoch = epoch_at(update_schedule(state, ctx.block_time, p.epoch_ms), ctx.block_time)
    state.put(QUEUE, f"{epoch_key(epoch)}/{rid}", 1)
    r: Any = state.get(RECEIPTS, rid)
    if d["kind"] == "hit":
        states = list(r["hit_state"])
        for i in d["hits"]:
            states[i] = "u" if verdict == "upheld" else "v"
        state.put(RECEIPTS, rid, {**r, "hit_state": states})
    if verdict == "upheld":
        pub = index_row(state, d["holder"], d["list_type"])
        state.put(
            DELIST,
            f"{d['holder']}/{d['list_type']}/{rid}",
            {
                "holder": d["holder"],
                "list_type": d["list_type"],
                "dispute": rid,
                "since": ctx.block_time,
                "index_epoch": -1 if pub is None else pub.epoch,
                "status": "open",
                "fulfilled_at": None,
            },
        )


def _delisted(state: State, ctx: TxContext) -> None:
    rid = field(ctx.body, "dispute", str)
    d = _dispute(state, rid)
    key = f"{d['holder']}/{d['list_type']}/{rid}"
    ob: Any = state.get(DELIST, key)
    if ob is None or d["holder"] != ctx.member:
        raise ContractError(f"{ctx.member} has no obligation to delist for dispute {rid}")
    if ob["status"] != "open":
        raise ContractError("this obligation was already discharged")
    pub = index_row(state, d["holder"], d["list_type"])
    if pub is None or pub.epoch <= ob["index_epoch"]:
        raise ContractError("publish a new index epoch without the entry first")
    state.put(
        DELIST,
        key,
        {**ob, "status": "fulfilled", "fulfilled_at": ctx.block_time, "epoch": pub.epoch},
    )


def open_canaries(state: State, observer: str) -> int:
    """How many of ``observer``'s canaries are committed and not yet revealed.

    It bounds the observer's free probes: each open canary may be probed once per
    responder and epoch (:func:`canary_probes`).
    """
    return sum(
        1
        for _, c in state.scan(CANARIES)
        if isinstance(c, dict) and c["observer"] == observer and c["status"] == "committed"
    )


def canary_probes(state: State, epoch: int, observer: str, responder: str) -> int:
    """Probe elements ``observer`` had recorded free at ``responder`` in ``epoch``."""
    used: Any = state.get(CANARY_PROBES, probe_key(epoch, observer, responder))
    return int(used or 0)


def _canary_commit(state: State, ctx: TxContext) -> None:
    commitments = field(ctx.body, "commitments", list)
    if not 1 <= len(commitments) <= _MAX_BATCH:
        raise ContractError(f"commit 1 to {_MAX_BATCH} canaries at a time")
    limit = params_from_state(state).max_canaries
    if open_canaries(state, ctx.member) + len(commitments) > limit:
        raise ContractError(
            f"an observer holds at most {limit} open canaries (credits.max_canaries):"
            " each one buys free probes"
        )
    if not all(isinstance(c, bytes) and len(c) == 32 for c in commitments):
        raise ContractError("a canary commitment is a 32-byte hash")
    if len(set(commitments)) != len(commitments):
        raise ContractError("canary commitments must be distinct")
    for c in commitments:
        if state.get(CANARIES, c.hex()) is not None:
            raise ContractError(f"canary {c.hex()} was committed before")
        state.put(
            CANARIES,
            c.hex(),
            {
                "observer": ctx.member,
                "height": ctx.height,
                "time": ctx.block_time,
                "status": "committed",
                "receipt": None,
            },
        )


def _canary_reveal(state: State, ctx: TxContext) -> None:
    body = ctx.body
    commitment = field(body, "commitment", bytes)
    salt = field(body, "salt", bytes)
    record = field(body, "record", dict)
    rid = field(body, "receipt", str)
    if not 16 <= len(salt) <= 64:
        raise ContractError("a canary salt is 16 to 64 bytes")
    c: Any = state.get(CANARIES, commitment.hex())
    if c is None or c["status"] != "committed":
        raise ContractError("no open canary commitment matches")
    if canary_commitment(salt, record) != commitment:
        raise ContractError("the salt and record do not open the commitment")
    r: Any = state.get(RECEIPTS, rid)
    if r is None or not r["canary"] or r["status"] != "recorded":
        raise ContractError(f"receipt {rid} is not a recorded canary probe")
    if c["height"] >= r["height"]:
        raise ContractError("the canary was committed after the probe was answered")
    if record["list_type"] != r["list_type"] or record["id_type"] != r["id_type"]:
        raise ContractError("the canary's list and identifier types are not the probe's")
    if state.get(DISPUTES, rid) is not None:
        raise ContractError(f"receipt {rid} already has a dispute")
    state.put(CANARIES, commitment.hex(), {**c, "status": "revealed", "receipt": rid})
    state.put(
        DISPUTES,
        rid,
        _new_dispute(
            "canary",
            rid,
            ctx.member,
            r,
            [0],
            [1],
            "canary",
            ctx,
            {"canary": {"commitment": commitment, "record": dict(record)}},
        ),
    )


EVALUATION_HANDLERS: dict[str, Callable[[State, TxContext], None]] = {
    "credits.hits": _hits,
    "credits.feedback": _feedback,
    "credits.evidence": _evidence,
    "credits.resolve": _resolve,
    "credits.delisted": _delisted,
    "credits.canary_commit": _canary_commit,
    "credits.canary_reveal": _canary_reveal,
}

_MEMBER = frozenset({"member"})
_OBSERVER = frozenset({"observer"})
EVALUATION_ROLES: dict[str, frozenset[str]] = {
    "credits.hits": _MEMBER,
    "credits.feedback": _MEMBER,
    "credits.evidence": _MEMBER,
    "credits.delisted": _MEMBER,
    "credits.resolve": _OBSERVER,
    "credits.canary_commit": _OBSERVER,
    "credits.canary_reveal": _OBSERVER,
}
