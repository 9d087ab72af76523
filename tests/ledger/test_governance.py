"""The gov and pub contracts: genesis, supermajority changes and their effects, publication."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ledger import (
    Contract,
    ContractError,
    EmbeddedOrderer,
    GenesisConfig,
    LedgerError,
    SignedTransaction,
    Store,
    active_members,
    add_oprf_key_body,
    approve_body,
    build_genesis_block,
    default_registry,
    get_member,
    propose_body,
    public_key_bytes,
    publish_index_body,
    retire_oprf_key_body,
    sign_genesis,
    withdraw_body,
)

from .helpers import T0, Net, founder, key_for, make_net, point


def _no_big_prices(params: Mapping[str, Any]) -> None:
    if isinstance(params.get("demo.price"), int) and params["demo.price"] > 100:
        raise ContractError("demo.price must be at most 100")


DEMO = Contract("demo", frozenset(), {}, param_check=_no_big_prices)


class Chain:
    """An embedded orderer over a fresh store; ``run`` submits and commits one block."""

    def __init__(self, net: Net, path: Path) -> None:
        self.net = net
        self.store = net.store(path)
        self.orderer = EmbeddedOrderer(
            self.store, net.registry, member="m1", key=key_for("m1"), clock=lambda: T0
        )

    def run(self, *txs: SignedTransaction) -> list[tuple[bool, str]]:
        answers = self.orderer.submit_many([tx.raw for tx in txs])
        self.orderer.cut()
        return [(a.accepted, a.reason) for a in answers]

    def propose(self, member: str, action: str, args: Mapping[str, Any]) -> str:
        tx = self.net.tx(member, "gov.propose", propose_body(action, args))
        assert self.run(tx) == [(True, "")]
        return tx.tx_id.hex()

    def approve(self, member: str, proposal: str) -> tuple[bool, str]:
        return self.run(self.net.tx(member, "gov.approve", approve_body(proposal)))[0]

    def state(self) -> Any:
        return self.store.state()


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    net = make_net(("m1", "m2", "m3", "m4", "obs"), roles={"obs": "observer"}, extra=[DEMO])
    return Chain(net, tmp_path / "ledger.sqlite")


def test_genesis_needs_every_founder_signature() -> None:
    founders = (founder("m1"), founder("m2"))
    config = GenesisConfig("c", founders, T0)
    raw = config.encode()
    registry = default_registry()
    with pytest.raises(LedgerError, match="every founder"):
        build_genesis_block(
            raw,
            {"m1": sign_genesis(raw, key_for("m1"))},
            proposer="m1",
            key=key_for("m1"),
            registry=registry,
        )
    with pytest.raises(LedgerError, match="did not sign"):
        build_genesis_block(
            raw,
            {"m1": sign_genesis(raw, key_for("m1")), "m2": sign_genesis(raw, key_for("m1"))},
            proposer="m1",
            key=key_for("m1"),
            registry=registry,
        )
    observers_only = GenesisConfig("c", (founder("o", "observer"),), T0).encode()
    with pytest.raises(LedgerError, match="no founder has role member"):
        build_genesis_block(
            observers_only,
            {"o": sign_genesis(observers_only, key_for("o"))},
            proposer="o",
            key=key_for("o"),
            registry=registry,
        )
    bad_params = GenesisConfig(
        "c", founders, T0, params={"demo.price": 101, "ledger.proposers": ["m1"]}
    ).encode()
    with pytest.raises(LedgerError, match=r"demo\.price must be at most 100"):
        build_genesis_block(
            bad_params,
            {m: sign_genesis(bad_params, key_for(m)) for m in ("m1", "m2")},
            proposer="m1",
            key=key_for("m1"),
            registry=default_registry([DEMO]),
        )


def test_genesis_writes_the_consortium(chain: Chain) -> None:
    state = chain.state()
    info = state.get("gov.consortium", "info")
    assert info["chain_id"] == chain.net.chain and info["normaliser_version"] == "v1"
    assert [m.id for m in active_members(state)] == ["m1", "m2", "m3", "m4", "obs"]
    assert state.get("gov.list_types", "high_risk_account") == {
        "id_types": ["account", "bank_card"],
        "retention_days": 730,
    }
    assert state.get("gov.id_types", "phone") is not None


def test_admission_needs_more_than_two_thirds_of_voters(chain: Chain) -> None:
    newcomer = founder("m5").to_row()
    pid = chain.propose("m1", "admit", newcomer)
    assert chain.approve("m2", pid) == (True, "")
    assert chain.approve("m3", pid) == (True, "")
    # 3 of 4 voters is 75%: more than two thirds; executed by m3's approval.
    member = get_member(chain.state(), "m5")
    assert member is not None and member.active and member.since == chain.store.height
    assert chain.approve("m4", pid) == (False, "proposal is executed")
    # The new member can transact at once.
    tx = chain.net.tx("m5", "pub.add_oprf_key", add_oprf_key_body("k", point("k")))
    assert chain.run(tx) == [(True, "")]


def test_removal_refuses_the_member_from_that_height_on(chain: Chain) -> None:
    pid = chain.propose("m2", "remove", {"id": "m4"})
    for m in ("m1", "m3"):
        chain.approve(m, pid)
    assert get_member(chain.state(), "m4").status == "removed"  # type: ignore[union-attr]
    tx = chain.net.tx("m4", "pub.add_oprf_key", add_oprf_key_body("k", point("k")))
    assert chain.run(tx) == [(False, "member 'm4' is removed")]
    # With m4 gone there are 3 voters; 2 approvals are not more than two thirds.
    pid = chain.propose("m1", "set_params", {"set": {"demo.price": 5}})
    chain.approve("m2", pid)
    assert chain.state().get("gov.params", "demo.price") is None
    chain.approve("m3", pid)
    assert chain.state().get("gov.params", "demo.price") == 5
    with pytest.raises(AssertionError):
        chain.propose("m1", "admit", {**founder("m6").to_row(), "id": "m4"})  # ids never reused


def test_key_rotation_switches_which_key_is_accepted(chain: Chain) -> None:
    new_key = key_for("m2-rotated")
    pid = chain.propose(
        "m1",
        "rotate",
        {"id": "m2", "signing_key": public_key_bytes(new_key), "tls_fingerprint": b"\x07" * 32},
    )
    chain.approve("m3", pid)
    chain.approve("m4", pid)
    member = get_member(chain.state(), "m2")
    assert member is not None and member.signing_key == public_key_bytes(new_key)
    assert member.tls_fingerprint == b"\x07" * 32
    old = chain.net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point("k")))
    assert chain.run(old) == [(False, "bad signature by 'm2'")]
    new = chain.net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k", point("k")), key=new_key)
    assert chain.run(new) == [(True, "")]


def test_parameter_changes_are_checked_by_every_contract(chain: Chain) -> None:
    before = list(chain.store.state_rows())
    pid = chain.propose("m1", "set_params", {"set": {"demo.price": 500}})
    chain.approve("m2", pid)
    after_two = list(chain.store.state_rows())
    # The third approval would execute the change, which DEMO's param_check refuses:
    # the approval is refused, nothing changes, the proposal stays open.
    ok, reason = chain.approve("m3", pid)
    assert (ok, reason) == (False, "demo.price must be at most 100")
    assert list(chain.store.state_rows()) == after_two != before
    assert chain.state().get("gov.proposals", pid)["status"] == "open"
    withdraw = chain.net.tx("m2", "gov.withdraw", withdraw_body(pid))
    assert chain.run(withdraw) == [(False, "only the proposer may withdraw a proposal")]
    assert chain.run(chain.net.tx("m1", "gov.withdraw", withdraw_body(pid))) == [(True, "")]
    assert chain.approve("m4", pid) == (False, "proposal is withdrawn")


def test_bad_proposals_are_refused(chain: Chain) -> None:
    cases = [
        ("grant_everything", {}, "unknown governance action"),
        ("admit", {**founder("m2").to_row()}, "member id 'm2' is taken"),
        (
            "admit",
            {**founder("m9").to_row(), "signing_key": public_key_bytes(key_for("m1"))},
            "signing key is already 'm1'",
        ),
        ("admit", {**founder("m9").to_row(), "role": "king"}, "role must be one of"),
        ("remove", {"id": "nobody"}, "is not active"),
        ("rotate", {"id": "m2"}, "rotate changes nothing"),
        ("set_params", {"set": {"NoNamespace": 1}}, "bad param name"),
        (
            "set_list_type",
            {"name": "x", "id_types": ["dna"], "retention_days": 1},
            "unknown id type 'dna'",
        ),
    ]
    for action, args, reason in cases:
        tx = chain.net.tx("m1", "gov.propose", propose_body(action, args))
        ((ok, why),) = chain.run(tx)
        assert not ok and reason in why, (action, why)
    obs = chain.net.tx("obs", "gov.propose", propose_body("remove", {"id": "m2"}))
    assert chain.run(obs) == [(False, "role 'observer' may not submit gov.propose")]


def test_proposals_expire(chain: Chain) -> None:
    tx = chain.net.tx("m1", "gov.propose", propose_body("remove", {"id": "m4"}, expires_at=T0 + 1))
    assert chain.run(tx) == [(True, "")]
    chain.orderer._clock = lambda: T0 + 2  # the next block is later than the expiry
    assert chain.approve("m2", tx.tx_id.hex()) == (False, "proposal has expired")


def test_publication_rules(chain: Chain) -> None:
    net = chain.net

    def publish(member: str, epoch: int, **changes: Any) -> tuple[bool, str]:
        body = publish_index_body(
            list_type="marketing_abuse",
            epoch=epoch,
            size=10,
            root=b"\x01" * 32,
            snapshot_digest=b"\x02" * 32,
            key_id="k1",
        )
        return chain.run(net.tx(member, "pub.publish_index", {**body, **changes}))[0]

    assert publish("m2", 1) == (False, "no active OPRF key 'k1'")
    assert chain.run(net.tx("m2", "pub.add_oprf_key", add_oprf_key_body("k1", point(9)))) == [
        (True, "")
    ]
    assert publish("m2", 1) == (True, "")
    row = chain.state().get("pub.index", "m2/marketing_abuse")
    assert row == {
        "epoch": 1,
        "size": 10,
        "root": b"\x01" * 32,
        "snapshot_digest": b"\x02" * 32,
        "key_id": "k1",
        "expires_at": None,
        "evidence_root": None,
        "published_at": T0,
    }
    assert chain.state().get("pub.oprf_keys", "m2/k1") == {
        "public_key": point(9),
        "since": T0,
        "active": True,
    }
    assert publish("m2", 1) == (False, "epoch 1 is not above the last published, 1")
    assert publish("m2", 2, list_type="nope") == (False, "unknown list type 'nope'")
    assert publish("m2", 2, root=b"short") == (False, "root must be 32 bytes")
    assert publish("m2", 2, expires_at=T0 - 1) == (False, "expires_at is in the past")
    assert publish("m2", 2, evidence_root=b"\x03" * 32, expires_at=T0 + 10) == (True, "")
    assert publish("obs", 1) == (False, "role 'observer' may not submit pub.publish_index")
    assert chain.run(net.tx("m2", "pub.retire_oprf_key", retire_oprf_key_body("k1"))) == [
        (True, "")
    ]
    assert chain.state().get("pub.oprf_keys", "m2/k1")["active"] is False
    assert publish("m2", 3) == (False, "no active OPRF key 'k1'")


def test_store_reopens_at_its_schema_version(tmp_path: Path) -> None:
    import sqlite3

    net = make_net()
    store = net.store(tmp_path / "l.sqlite")
    store.close()
    with sqlite3.connect(tmp_path / "l.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute("PRAGMA user_version = 9")
    with pytest.raises(LedgerError, match="schema 9"):
        Store(tmp_path / "l.sqlite")
    with pytest.raises(LedgerError, match="no ledger"):
        Store(tmp_path / "missing.sqlite", create=False)
