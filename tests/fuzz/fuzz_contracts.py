"""Every contract handler of the consortium registry, fed fuzzed transaction bodies.

The executor turns any exception from a handler into a refusal ("contract failed"),
so a crash there never halts the chain — and so a handler that crashes instead of
refusing hides its bug. Here handlers are called directly, as the executor does, over
the state of a real ledger (`tests.fuzz._world`): the contract is that a handler
either applies or raises :class:`ledger.ContractError` (or another
:class:`ledger.LedgerError`), and never writes outside its overlay.

Bodies start from the ones committed in the world (a real receipt, real publications,
a real hit report) or from nothing, and are then mutated field by field with values
chosen from every string literal of the contract packages, integers at their edges,
and byte strings of telling lengths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ledger import (
    PROPOSALS,
    LedgerError,
    Overlay,
    TxContext,
    approve_body,
    decode_transaction,
    get_member,
    propose_body,
    withdraw_body,
)
from tests.fuzz._harness import OneInput, Picker, Target, vocabulary
from tests.fuzz._world import World, build_world
from token_incentive import (
    canary_commit_body,
    canary_reveal_body,
    confirm_body,
    delisted_body,
    evidence_body,
    refund_body,
    resolve_body,
)

MEMBERS = ("bank-a", "bank-b", "regulator", "orderer", "bank-x")


def _bodies(world: World) -> dict[str, list[dict[str, Any]]]:
    """The committed bodies, and well-formed ones for kinds the world did not commit."""
    out: dict[str, list[dict[str, Any]]] = {}
    for raw in world.txs:
        tx = decode_transaction(raw).tx
        out.setdefault(tx.kind, []).append(dict(tx.body))
    request = world.signed_request
    assert request is not None
    rid = request.receipt_id
    proposal = next(key for key, _ in world.store.state().scan(PROPOSALS))
    made: dict[str, list[dict[str, Any]]] = {
        "credits.feedback": [confirm_body(rid), confirm_body(rid, [0])],
        "credits.refund": [refund_body(rid, [bytes(32)], [bytes(32)], bytes(64))],
        "credits.resolve": [resolve_body(rid, "upheld"), resolve_body(rid, "rejected")],
        "credits.delisted": [delisted_body(rid)],
        "credits.evidence": [
            evidence_body(rid, [{"leaf": bytes(32), "index": 0, "size": 1, "proof": []}])
        ],
        "credits.canary_commit": [canary_commit_body([bytes(32)])],
        "credits.canary_reveal": [
            canary_reveal_body(bytes(32), bytes(16), {"list_type": "transaction_fraud"}, rid)
        ],
        "credits.settle": [{"epoch": 0}, {"epoch": 1}],
        "gov.approve": [approve_body(proposal)],
        "gov.withdraw": [withdraw_body(proposal)],
        "gov.propose": [
            propose_body("set_params", {"set": {"gov.proposal_ttl_ms": 86_400_000}, "unset": []})
        ],
    }
    for kind, bodies in made.items():
        out.setdefault(kind, []).extend(dict(b) for b in bodies)
    return out


def _contracts(scratch: Path) -> OneInput:
    world = build_world(scratch / "world")
    registry = world.registry
    kinds = sorted(registry.kinds - {"gov.genesis"})
    bodies = _bodies(world)
    request = world.signed_request
    assert request is not None
    known = [request.receipt_id, *(p for p, _ in world.store.state().scan(PROPOSALS)), *MEMBERS]
    words = (*known, *known, *vocabulary("ledger", "token_incentive", "scenarios"))
    blobs = [
        bytes(32),
        bytes(64),
        request.data,
        request.signature,
        *(v for body in bodies.get("credits.receipt", []) for v in body.values()),
    ]
    head = world.store.head()
    assert head is not None

    def check(data: bytes) -> None:
        pick = Picker(data)
        kind = pick.pick(kinds)
        member = pick.pick(MEMBERS)
        row = get_member(world.store.state(), member)
        body = dict(pick.pick([{}, *bodies.get(kind, []), *bodies.get(kind, [])]))
        for _ in range(pick.int_in(0, 3)):
            key = pick.pick([*body, *words]) if pick.bool() else pick.pick(words)
            if pick.int_in(0, 4):
                body[key] = pick.value(words, blobs)
            else:
                body.pop(key, None)
        ctx = TxContext(
            tx_id=hashlib.sha256(data).digest(),
            kind=kind,
            member=member,
            role=row.role if row is not None else pick.pick(["member", "observer"]),
            seq=pick.integer(),
            time=head.time + pick.pick([0, 1, -1, 60_000, 10**10]),
            body=body,
            height=head.height + 1,
            block_time=head.time + pick.pick([0, 1, 86_400_000, 400 * 86_400_000]),
        )
        overlay = Overlay(world.store.state())
        try:
            registry.apply(overlay, ctx)
        except LedgerError:  # ContractError is the expected one; all refuse the same way
            return

    return check


def _seeds(scratch: Path) -> Iterable[bytes]:
    return [hashlib.sha512(bytes([i])).digest() * 2 for i in range(16)]


TARGETS = [Target("handlers", _contracts, _seeds)]
