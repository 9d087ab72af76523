"""Attacks 2, 8 and 10: free observer probes, work before checks, a publication race.

2. An observer's canary probes are free, so they were unlimited: 5×10^6 probe
   elements were recorded at no charge. Free probes are now bounded by the observer's
   open canary commitments (one probe element per open canary, per responder and
   epoch, refused beyond), and an observer with no open canary gets no snapshot.
8. ``BucketQuery`` read and encoded buckets before it checked the signed request:
   every RPC now checks first and works second.
10. The background publisher and an operator's ``ReloadIndex`` both published the same
    epoch; the loser was refused by the ledger and the operator saw INTERNAL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from gateway._localnet import load_list
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._stubs import psi_stub
from tests.adversary._world import HONEST, LIST, World, phones, refusal, wait_for


def _commit_canaries(world: World, count: int) -> None:
    regulator = world.cheaters["regulator"]
    result = regulator.submit(
        "credits.canary_commit", {"commitments": [os.urandom(32) for _ in range(count)]}
    )
    assert result.ok, result.reason
    height = result.height
    assert height is not None
    wait_for(lambda: min(world.heights()[m] for m in HONEST) >= height, what="replicas")


def test_observer_probes_are_bounded_by_its_open_canaries(world: World) -> None:
    regulator = world.cheaters["regulator"]
    snapshot = psi_stub(regulator.channel("bank-a")).StreamSnapshot
    request = psi_pb2.StreamSnapshotRequest(list_type=LIST)
    # No canary committed: no free probe, however small, and no snapshot.
    for items in (1, 5000):
        found = refusal(partial(regulator.ask, "bank-a", phones(items), purpose_code="canary"))
        assert (found.code, found.reason) == ("RESOURCE_EXHAUSTED", "canary_bound"), found
    found = refusal(lambda: list(snapshot(request, timeout=30)))
    assert (found.code, found.reason) == ("PERMISSION_DENIED", "permission_denied"), found
    # Three open canaries: three free probe elements per responder this epoch.
    _commit_canaries(world, 3)
    assert list(snapshot(request, timeout=30))
    first = regulator.request("bank-a", phones(2), purpose_code="canary")
    regulator.evaluate(*first)
    found = refusal(partial(regulator.ask, "bank-a", phones(2, 10), purpose_code="canary"))
    assert (found.code, found.reason) == ("RESOURCE_EXHAUSTED", "canary_bound"), found
    last = regulator.request("bank-a", phones(1, 20), purpose_code="canary")
    regulator.evaluate(*last)
    third = regulator.request("bank-b", phones(3, 30), purpose_code="canary")
    regulator.evaluate(*third)
    world.quiet()
    receipts = world.receipts()
    for signed, _ in (first, last, third):
        row = receipts[signed.receipt_id]
        assert (row["canary"], row["charge"]) == (True, 0)
    assert world.balance("regulator") == 0


def test_a_garbage_bucket_query_is_refused_before_any_bucket_is_read(world: World) -> None:
    """A request signed by someone else, asking for buckets of a list far under the
    4096-entry floor: the signature is judged first (reading the buckets would have
    answered 'bucket too small' after doing the work)."""
    mallory = world.cheaters["mallory"]
    signed, pending = mallory.request("bank-a", phones(1), querier="bank-b")
    bucket = psi_pb2.BucketQueryRequest(
        evaluate=mallory.evaluate_request(signed, pending), prefix_bits=1, prefixes=bytes(1)
    )
    stub = psi_stub(mallory.channel("bank-a"))
    found = refusal(partial(stub.BucketQuery, bucket, timeout=30))
    assert (found.code, found.reason) == ("PERMISSION_DENIED", "permission_denied"), found


def test_concurrent_reloads_publish_one_epoch_once(world: World) -> None:
    member = world.net.members["bank-c"]
    before = world.state_get("pub.index", f"bank-c/{LIST}")["epoch"]
    load_list(member, [(LIST, "phone", "13600136000", 1), (LIST, "phone", "13600136001", 2)])

    def reload() -> object:
        with world.admin("bank-c") as client:
            return client.reload()

    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: reload(), range(6)))
    assert len(replies) == 6  # every reload answered; none refused by the ledger
    wait_for(
        lambda: world.state_get("pub.index", f"bank-c/{LIST}")["epoch"] > before,
        what="the new epoch on the ledger",
    )
