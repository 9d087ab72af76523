"""Attack 1: a querier that makes an answered element go uncharged.

The responder's signed receipt records a fact: once a responder has answered, the
ledger records the answer and charges the querier even if the querier's standing
changed in between (its request aged, its list expired, its balance was spent by
another answer, it was removed). Each attack below tries one way of changing the
querier's standing between the answer and its recording; each must end answered and
charged, or refused with a precise status and nothing stored.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import grpc

from gateway._status import REASON_KEY
from ledger import publish_index_body
from tests.adversary._world import (
    ALLOWANCE,
    HONEST,
    LIST,
    OVERDRAFT,
    PRICE,
    Cheater,
    World,
    now_ms,
    phones,
    refusal,
    wait_for,
)


def _outcome(cheater: Cheater, responder: str, values: list[str], **over: Any) -> tuple[str, Any]:
    """("answered", receipt id) or ("refused", (code, reason))."""
    signed, pending = cheater.request(responder, values, **over)
    try:
        cheater.evaluate(signed, pending)
    except grpc.RpcError as error:
        rpc: Any = error
        reason = dict(rpc.trailing_metadata() or ()).get(REASON_KEY, "")
        return "refused", (rpc.code().name, reason, signed.receipt_id)
    return "answered", signed.receipt_id


def _charged(world: World, receipt_ids: list[str], items: int = 1) -> None:
    """Every receipt is on the ledger with its full charge."""
    world.quiet()
    receipts = world.receipts()
    for rid in receipt_ids:
        row = receipts.get(rid)
        assert row is not None, f"answered request {rid} has no receipt on the ledger"
        assert row["charge"] == items * PRICE, row


def _not_stored(world: World, responder: str, refused: list[Any]) -> None:
    stored = {rid for rid, *_ in world.answered(responder)}
    assert not stored & {rid for *_, rid in refused}


def test_a_backdated_request_is_charged_or_refused(world: World) -> None:
    """A request time just inside the freshness window when answered, outside it when
    recorded: freshness is judged on the responder's signed answer time."""
    mallory = world.cheaters["mallory"]
    with world.store() as store:
        ttl: Any = store.state().get("gov.params", "credits.request_ttl_ms")
    answered: list[Any] = []
    refused: list[Any] = []
    for i, margin in enumerate((30, 60, 90, 120, 160, 200, 260, 330, 420, 520)):
        kind, detail = _outcome(mallory, "bank-a", phones(1, i), time=now_ms() - ttl + margin)
        (answered if kind == "answered" else refused).append(detail)
    assert answered, "no backdated request was answered: the attack was not tried"
    for code, reason, _ in refused:
        assert (code, reason) == ("INVALID_ARGUMENT", "stale_request"), (code, reason)
    _not_stored(world, "bank-a", refused)
    _charged(world, answered)


def test_b_a_list_that_expires_after_the_answer_does_not_uncharge_it(world: World) -> None:
    """Reciprocity holds when answered; the querier's list expires before recording."""
    eve = world.cheaters["eve"]
    row = world.state_get("pub.index", f"eve/{LIST}")
    expires = now_ms() + 2500

    def publish(epoch: int, expires_at: int | None) -> None:
        body = publish_index_body(
            list_type=LIST,
            epoch=epoch,
            size=row["size"],
            root=row["root"],
            snapshot_digest=row["snapshot_digest"],
            key_id=row["key_id"],
            expires_at=expires_at,
            evidence_root=row["evidence_root"],
        )
        result = eve.submit("pub.publish_index", body)
        assert result.ok, result.reason
        wait_for(
            lambda: all(
                world.state_get("pub.index", f"eve/{LIST}", m)["epoch"] == epoch for m in HONEST
            ),
            what="eve's publication on every replica",
        )

    publish(row["epoch"] + 1, expires)
    answered: list[Any] = []
    refused: list[Any] = []
    try:
        n = 0
        time.sleep(max(0.0, (expires - 400 - now_ms()) / 1000))
        while now_ms() < expires + 300:
            kind, detail = _outcome(eve, "bank-b", phones(1, 100 + n))
            (answered if kind == "answered" else refused).append(detail)
            n += 1
            time.sleep(0.005)
        assert answered and refused, (len(answered), len(refused))
        for code, reason, _ in refused:
            assert (code, reason) == ("FAILED_PRECONDITION", "stale_list"), (code, reason)
        _not_stored(world, "bank-b", refused)
        _charged(world, answered)
    finally:
        publish(row["epoch"] + 2, None)


def test_c_concurrent_requests_share_one_allowance(world: World) -> None:
    """Six requests at once, each for the whole allowance, at a responder running two
    worker processes: admission is serialised per querier, so one is answered."""
    oscar = world.cheaters["oscar"]
    assert world.balance("oscar") == 0
    requests = [oscar.request("bank-a", phones(ALLOWANCE, 1000 * (k + 1))) for k in range(6)]
    for signed, pending in requests:
        oscar.evaluate_request(signed, pending)  # build everything before the race
    barrier = threading.Barrier(len(requests))

    def race(item: tuple[Any, Any]) -> tuple[str, Any]:
        signed, pending = item
        barrier.wait()
        try:
            oscar.evaluate(signed, pending)
        except grpc.RpcError as error:
            return "refused", error
        return "answered", signed.receipt_id

    with ThreadPoolExecutor(len(requests)) as pool:
        outcomes = list(pool.map(race, requests))
    answered = [d for k, d in outcomes if k == "answered"]
    assert len(answered) == 1, f"{len(answered)} of 6 whole-allowance requests answered"
    for kind, error in outcomes:
        if kind == "refused":
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
    _charged(world, answered, ALLOWANCE)
    assert world.balance("oscar") == -OVERDRAFT


def test_d_a_broadcast_is_charged_by_every_responder(world: World) -> None:
    """Each responder of a broadcast admits against the same balance: what each answers
    is charged, the debt below the floor blocks the next query, and the uncharged
    exposure at any moment is at most one allowance per responder."""
    peggy = world.cheaters["peggy"]
    assert world.balance("peggy") == 0
    requests = [
        peggy.request(r, phones(ALLOWANCE, 20_000 + 1000 * k)) for k, r in enumerate(HONEST)
    ]
    barrier = threading.Barrier(len(requests))

    def ask(item: tuple[Any, Any]) -> str | None:
        signed, pending = item
        barrier.wait()
        try:
            peggy.evaluate(signed, pending)
        except grpc.RpcError:
            return None
        return str(signed.receipt_id)

    with ThreadPoolExecutor(len(requests)) as pool:
        answered = [rid for rid in pool.map(ask, requests) if rid is not None]
    assert len(answered) >= 2, "the broadcast was not answered by several responders"
    _charged(world, answered, ALLOWANCE)
    assert world.balance("peggy") == -len(answered) * ALLOWANCE * PRICE
    # The debt below the overdraft floor blocks the next query, at every responder.
    for responder in HONEST:
        refused = refusal(partial(peggy.ask, responder, phones(1, 30_000)))
        assert (refused.code, refused.reason) == ("RESOURCE_EXHAUSTED", "over_overdraft")


def test_e_a_removed_querier_is_charged_for_what_it_was_answered(world: World) -> None:
    """victor asks without pause while the consortium removes him: whatever a responder
    answered before its replica saw the removal is charged to him all the same."""
    victor = world.cheaters["victor"]
    answered: list[str] = []
    stop = threading.Event()

    def flood() -> None:
        n = 0
        while not stop.is_set():
            for responder in ("bank-b", "bank-c"):
                kind, detail = _outcome(victor, responder, phones(1, 40_000 + n))
                n += 1
                if kind == "answered":
                    answered.append(detail)
                elif detail[0] == "UNAUTHENTICATED":
                    return

    thread = threading.Thread(target=flood)
    thread.start()
    try:
        time.sleep(0.3)
        world.govern("remove", {"id": "victor"})
        wait_for(
            lambda: all(
                world.state_get("gov.members", "victor", m)["status"] == "removed" for m in HONEST
            ),
            what="victor removed on every replica",
        )
    finally:
        time.sleep(0.5)
        stop.set()
        thread.join()
    assert answered
    _charged(world, answered)
