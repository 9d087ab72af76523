"""Attack 6: the invoice-fingerprint oracle was unmetered.

``EvaluateFingerprints`` had no replay check, no element budget and no charge, and its
receipt reached the ledger only if the querier chose to submit it. The registry now
meters it exactly like a list answer: every check before any work, admission under
the querier's lock, and the receipt recorded by the registry itself, which charges the
querier. mallory asks with raw gRPC, her own signatures, and records nothing.
"""

from __future__ import annotations

import os
from functools import partial

from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2
from gateway._scenario_client import ScenarioClient
from gateway._scenarios import scenarios_stub
from psi import encode_elements, key_id
from scenarios.kit import request_fingerprints
from tests.adversary._world import PRICE, World, now_ms, refusal, wait_for


def test_every_fingerprint_evaluation_is_recorded_and_charged_by_the_registry(
    world: World,
) -> None:
    with ScenarioClient(world.net.members["regulator"].data_dir / "admin.sock") as client:
        public, registry_key_id = client.init_registry()
    kid = registry_key_id.hex()
    assert key_id(public).hex() == kid
    wait_for(
        lambda: world.state_get("fpreg.keys", kid, "bank-a") is not None,
        what="the registry key on mallory's replica",
    )
    mallory = world.cheaters["mallory"]
    stub = scenarios_stub(mallory.channel("regulator"))
    before = world.balance("mallory")

    def ask(items: int, seq: int) -> tuple[str, scenarios_pb2.FingerprintEvaluation]:
        pending = request_fingerprints(
            [os.urandom(24) for _ in range(items)],
            querier="mallory",
            registry="regulator",
            family="invoice",
            key_id=kid,
            seq=seq,
            now=now_ms(),
            key=mallory.credentials.signing_key,
            rng=os.urandom,
        )
        message = scenarios_pb2.FingerprintEvaluation(
            signed_request=pending.signed.to_bytes(),
            blinded=encode_elements(list(pending.blinded)),
        )
        return pending.signed.receipt_id, message

    rid, message = ask(4, 1)
    answer = stub.EvaluateFingerprints(message, timeout=30)
    assert len(answer.evaluated) == 4 * 32
    # Asked again, the same request is a replay: refused, not evaluated again.
    found = refusal(partial(stub.EvaluateFingerprints, message, timeout=30))
    assert (found.code, found.reason) == ("ALREADY_EXISTS", "replay"), found
    # mallory records nothing; the registry does, and she is charged for it.
    world.quiet()
    row = world.receipts().get(rid)
    assert row is not None, "the registry did not record its answer"
    assert (row["querier"], row["responder"], row["items"]) == ("mallory", "regulator", 4)
    assert row["charge"] == 4 * PRICE
    assert world.balance("mallory") == before - 4 * PRICE
