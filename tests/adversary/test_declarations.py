"""Attack 7: unchecked declarations (issue 14).

trudy runs no gateway. Her list exists only as declarations she signs herself
(``pub.add_oprf_key``, ``pub.publish_index``) and whatever servicer she runs on her
address. She tries:

- registering an OPRF key that is no group element (the identity, a non-canonical
  encoding) or another member's key, and declarations no index can have (more entries
  than any snapshot can count, an empty list with a non-empty Merkle root, an epoch
  beyond 63 bits): each refused by the ledger with the reason, nothing stored;
- declaring a list of 5,000 entries under a digest of her choice while the snapshot she
  serves holds one entry. Every snapshot comes with the responder's signed statement of
  what it served (``ledger.ServedSnapshot``); an honest gateway's snapshot sync finds
  her bytes contradict her declaration, and files her own statement on the ledger
  (``pub.complain``). Her list is suspended: an honest responder refuses her queries
  (``suspended_list``: no reciprocity) and it earns no grant, until she publishes a new
  epoch — after which she is answered, and charged, again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from gateway._localnet import load_list
from gateway._pb.riskshare.ledger.v1 import ledger_pb2
from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from gateway._stubs import ledger_stub
from ledger import (
    EMPTY_ROOT,
    MAX_INDEX_SIZE,
    ServedSnapshot,
    add_oprf_key_body,
    publish_index_body,
)
from psi import Commitment, IndexStore
from psi._formats import encode_snapshot, parse_snapshot, snapshot_digest
from tests.adversary._world import (
    HONEST,
    LIST,
    Cheater,
    Refusal,
    World,
    phones,
    refusal,
    wait_for,
)

pytestmark = pytest.mark.slow


def _ledger_refusal(cheater: Cheater, kind: str, body: dict[str, Any]) -> Refusal:
    """How the orderer refuses ``kind`` signed by ``cheater`` (raw gRPC)."""
    with cheater.world.store() as store:
        chain = store.chain_id
    assert chain is not None
    raw = cheater.sign(kind, body, chain=chain).raw
    stub = ledger_stub(cheater.channel("orderer"))
    return refusal(
        lambda: stub.SubmitTransaction(ledger_pb2.SubmitRequest(transaction=raw, wait=True))
    )


def test_an_oprf_key_must_be_a_group_element_of_ones_own(world: World) -> None:
    trudy = world.signer("trudy")
    bank_a_key = world.state_get("pub.oprf_keys", f"bank-a/{trudy.key_id('bank-a')}")
    cases = [
        (bytes(32), "not a valid ristretto255 element"),  # the identity
        (b"\x01" * 32, "not a valid ristretto255 element"),  # not a canonical encoding
        (bank_a_key["public_key"], "public_key is 'bank-a''s OPRF key"),
    ]
    for public_key, reason in cases:
        refused = _ledger_refusal(trudy, "pub.add_oprf_key", add_oprf_key_body("t-bad", public_key))
        assert refused.code == "FAILED_PRECONDITION", refused
        assert refused.reason == "refused" and reason in refused.details, refused
        assert world.state_get("pub.oprf_keys", "trudy/t-bad") is None


class _Trudy(psi_pb2_grpc.PsiServicer):
    """trudy's responder: serves ``data`` as her snapshot, with her signed statement of
    what it is (she signs what she serves; a statement that lied about its own bytes
    would only make the querier refuse them)."""

    def __init__(self, trudy: Cheater, commitment: Commitment, data: bytes) -> None:
        self.trudy = trudy
        self.commitment = commitment
        self.data = data

    def GetCommitment(self, request: Any, context: Any) -> Any:
        return psi_pb2.IndexCommitment(member_id="trudy", label_bytes=self.commitment.label_bytes)

    def StreamSnapshot(self, request: Any, context: Any) -> Iterator[Any]:
        with self.trudy.world.store() as store:
            chain = store.chain_id
        assert chain is not None
        statement, signature = ServedSnapshot(
            chain=chain,
            member="trudy",
            list_type=LIST,
            epoch=self.commitment.epoch,
            size=self.commitment.size,
            digest=hashlib.sha256(self.data).digest(),
        ).sign(self.trudy.credentials.signing_key)
        yield psi_pb2.SnapshotChunk(
            epoch=self.commitment.epoch,
            index=0,
            data=self.data,
            last=True,
            served_statement=statement,
            served_signature=signature,
        )


def _trudys_index(world: World, rows: list[str], source: str) -> tuple[Commitment, bytes, Any]:
    """A real index for trudy (an adapters import, as `lists import` does): its current
    commitment, snapshot bytes and key pair."""
    member = world.net.members["trudy"]
    load_list(member, [(LIST, "phone", value, 1) for value in rows], source=source)
    index = IndexStore(member.data_dir / "index.sqlite", pool=None)
    try:
        return index.commitment(LIST), index.export_snapshot(LIST), index.key(LIST)
    finally:
        index.close()


def _declare(trudy: Cheater, commitment: Commitment, **lie: Any) -> None:
    fields: dict[str, Any] = {
        "list_type": LIST,
        "epoch": commitment.epoch,
        "size": commitment.size,
        "root": commitment.tags_root,
        "snapshot_digest": commitment.snapshot_digest,
        "key_id": commitment.key_id.hex(),
    }
    fields.update(lie)
    done = trudy.submit("pub.publish_index", publish_index_body(**fields))
    assert done.ok, done


def test_a_list_that_is_not_what_it_serves_loses_its_rights_until_republished(
    world: World,
) -> None:
    trudy = world.signer("trudy")
    previous = world.state_get("pub.index", f"trudy/{LIST}")
    last = 0 if previous is None else previous["epoch"]
    commitment, served, key = _trudys_index(world, ["13300133000"], "first")
    assert commitment.size == 1
    if world.state_get("pub.oprf_keys", f"trudy/{key.key_id.hex()}") is None:
        done = trudy.submit("pub.add_oprf_key", add_oprf_key_body(key.key_id.hex(), key.public))
        assert done.ok, done
    # Declarations no index can have are refused, and leave nothing behind.
    impossible: list[tuple[dict[str, Any], str]] = [
        ({"size": MAX_INDEX_SIZE + 1}, "bad size"),
        ({"size": 0}, "root must be the Merkle root of no tags exactly when size is 0"),
        ({"root": EMPTY_ROOT}, "root must be the Merkle root of no tags exactly when size is 0"),
        ({"epoch": 1 << 63}, "bad epoch"),
    ]
    for lie, reason in impossible:
        fields = publish_index_body(
            list_type=LIST,
            epoch=last + 1,
            size=5000,
            root=commitment.tags_root,
            snapshot_digest=commitment.snapshot_digest,
            key_id=commitment.key_id.hex(),
        )
        refused = _ledger_refusal(trudy, "pub.publish_index", {**fields, **lie})
        assert refused.code == "FAILED_PRECONDITION" and reason in refused.details, refused
        assert world.state_get("pub.index", f"trudy/{LIST}") == previous
    # The lie: 5,000 entries under a digest of her choosing; she serves her one entry.
    lied_epoch = max(last + 1, commitment.epoch)
    _declare(trudy, commitment, epoch=lied_epoch, size=5000, snapshot_digest=os.urandom(32))
    liar = _Trudy(trudy, Commitment(**{**_fields(commitment), "epoch": lied_epoch}), served)
    trudy.serve(liar)
    try:

        def suspended() -> bool:
            row = world.state_get("pub.index", f"trudy/{LIST}")
            return row.get("suspended") is not None

        wait_for(suspended, 60, "an honest gateway's complaint about trudy's list")
        row = world.state_get("pub.index", f"trudy/{LIST}")
        assert row["epoch"] == lied_epoch and row["suspended"]["size"] == 1
        complainant = row["suspended"]["by"]
        assert complainant in world.gateways and complainant != "trudy"
        # Her query rights are gone: an honest responder refuses her, and charges nothing.
        wait_for(
            lambda: (
                world.state_get("pub.index", f"trudy/{LIST}", "bank-a").get("suspended") is not None
            ),
            60,
            "bank-a's replica to see the suspension",
        )
        balance = world.balance("trudy")
        refused = refusal(lambda: trudy.ask("bank-a", phones(1, start=7000)))
        assert refused.code == "FAILED_PRECONDITION", refused
        assert refused.reason == "suspended_list", refused
        assert "is suspended" in refused.details
        assert world.balance("trudy") == balance
        # She publishes a new epoch, true this time: her rights come back.
        commitment2, served2, _ = _trudys_index(world, ["13300133001"], "second")
        current, data = _at_epoch(commitment2, served2, lied_epoch + 1)
        liar.commitment, liar.data = current, data
        _declare(trudy, current)
        wait_for(
            lambda: (
                world.state_get("pub.index", f"trudy/{LIST}", "bank-a")["epoch"] == current.epoch
            ),
            60,
            "bank-a's replica to see the new epoch",
        )
        assert world.state_get("pub.index", f"trudy/{LIST}").get("suspended") is None
        answer = trudy.ask("bank-a", phones(1, start=7001))
        assert answer.signed_receipt
        # Every honest list served what it declared: nobody complained about one.
        for member_id in HONEST:
            assert world.state_get("pub.index", f"{member_id}/{LIST}").get("suspended") is None
    finally:
        trudy.close()


def _at_epoch(commitment: Commitment, data: bytes, epoch: int) -> tuple[Commitment, bytes]:
    """The same snapshot, as epoch ``epoch`` (trudy numbers her declarations as she
    likes; the snapshot's header names the epoch, so its bytes and digest follow)."""
    _, columns = parse_snapshot(data)
    again = encode_snapshot(commitment.list_type, commitment.key_id, epoch, columns)
    fields = {**_fields(commitment), "epoch": epoch, "snapshot_digest": snapshot_digest(again)}
    return Commitment(**fields), again


def _fields(commitment: Commitment) -> dict[str, Any]:
    return {
        "list_type": commitment.list_type,
        "epoch": commitment.epoch,
        "size": commitment.size,
        "tags_root": commitment.tags_root,
        "snapshot_digest": commitment.snapshot_digest,
        "key_id": commitment.key_id,
        "normaliser_version": commitment.normaliser_version,
        "label_bytes": commitment.label_bytes,
    }
