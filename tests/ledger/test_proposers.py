"""Only the ordering service named in consensus state proposes blocks (issue 14, attack 4).

``ledger.proposers`` lists the member ids that may propose; unset, the members of role
``orderer`` do. A block, or a header inside a checkpoint, from anyone else is refused
with :class:`ledger.NotProposerError` and changes nothing; the governance contract never
lets the set become empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from ledger import (
    Block,
    BlockExecutor,
    EmbeddedOrderer,
    GenesisConfig,
    LedgerError,
    NotProposerError,
    Replica,
    Store,
    add_oprf_key_body,
    approve_body,
    build_genesis_block,
    default_registry,
    make_block,
    propose_body,
    proposers,
    sign_checkpoint,
    sign_genesis,
)

from .helpers import T0, Net, founder, key_for, make_net, point


def _next_block(net: Net, store: Store, proposer: str, txs: Sequence[bytes] = ()) -> Block:
    """A block that is right in every respect but, perhaps, who proposes it."""
    head = store.head()
    assert head is not None
    executor = BlockExecutor(
        store.state(), net.registry, height=head.height + 1, time=T0, prev_digest=head.state_digest
    )
    for index, tx in enumerate(txs):
        assert executor.execute(tx, index).ok
    _, digest = executor.finish()
    return make_block(
        key_for(proposer),
        chain=net.chain,
        height=head.height + 1,
        prev=head.hash,
        time=T0,
        proposer=proposer,
        txs=list(txs),
        state_digest=digest,
    )


def _with_orderer() -> Net:
    """The consortium's default: one founder of role orderer, ``ledger.proposers`` unset."""
    return make_net(
        ("m1", "m2", "m3", "ord"),
        roles={"ord": "orderer"},
        params={"ledger.proposers": None},
    )


def test_by_default_only_the_role_orderer_proposes(tmp_path: Path) -> None:
    net = _with_orderer()
    with net.store(tmp_path / "ledger.sqlite") as store:
        assert proposers(store.state()) == {"ord"}
        replica = Replica(store, net.registry)
        tx = net.tx("m1", "pub.add_oprf_key", add_oprf_key_body("k", point(1))).raw
        forged = _next_block(net, store, "m1", [tx])
        before = list(store.state_rows())
        with pytest.raises(NotProposerError, match="'m1' is not a proposer of this consortium"):
            replica.apply(forged.raw)
        assert store.height == 0 and list(store.state_rows()) == before
        # A checkpoint cannot carry the member's header in either.
        checkpoint = sign_checkpoint(forged.header.raw, forged.signature, "m2", key_for("m2"))
        with pytest.raises(NotProposerError) as caught:
            replica.add_checkpoint(checkpoint)
        assert caught.value.reason_code == "not_proposer"
        assert store.checkpoints(1) == []
        # The orderer's own block for that height applies.
        ordered = _next_block(net, store, "ord", [tx])
        assert replica.apply(ordered.raw).height == 1
        with pytest.raises(LedgerError, match=r"'m1' is not a proposer.*cannot propose"):
            EmbeddedOrderer(store, net.registry, member="m1", key=key_for("m1"))


def test_the_named_proposers_replace_the_default(tmp_path: Path) -> None:
    net = make_net(("m1", "m2", "ord"), roles={"ord": "orderer"}, proposers=["m2"])
    with net.store(tmp_path / "ledger.sqlite") as store:
        assert proposers(store.state()) == {"m2"}
        replica = Replica(store, net.registry)
        with pytest.raises(NotProposerError):
            replica.apply(_next_block(net, store, "ord").raw)
        replica.apply(_next_block(net, store, "m2").raw)
        assert store.height == 1


def _genesis(params: dict[str, object], roles: dict[str, str] | None = None) -> None:
    founders = tuple(founder(m, (roles or {}).get(m, "member")) for m in ("m1", "m2"))
    raw = GenesisConfig("c", founders, T0, params=params).encode()
    build_genesis_block(
        raw,
        {m: sign_genesis(raw, key_for(m)) for m in ("m1", "m2")},
        proposer="m1",
        key=key_for("m1"),
        registry=default_registry(),
    )


@pytest.mark.parametrize(
    ("params", "roles", "reason"),
    [
        ({}, None, "the consortium would have no proposer"),
        ({"ledger.proposers": []}, None, "must be a non-empty list of distinct member ids"),
        ({"ledger.proposers": ["m1", "m1"]}, None, "distinct member ids"),
        ({"ledger.proposers": "m1"}, None, "non-empty list"),
        ({"ledger.proposers": ["m9"]}, None, "names 'm9', not an active member"),
        ({"ledger.proposers": ["m2"]}, {"m2": "observer"}, "names 'm2', not an active member"),
        ({"ledger.proposers": ["m1"], "ledger.max_clock_skew_ms": 0}, None, "from 1000 to"),
    ],
)
def test_genesis_must_name_an_ordering_service(
    params: dict[str, object], roles: dict[str, str] | None, reason: str
) -> None:
    with pytest.raises(LedgerError, match=reason):
        _genesis(params, roles)


class _Gov:
    def __init__(self, net: Net, store: Store) -> None:
        self.net = net
        self.orderer = EmbeddedOrderer(
            store, net.registry, member="ord", key=key_for("ord"), clock=lambda: T0
        )

    def run(self, member: str, kind: str, body: dict[str, object]) -> tuple[bool, str]:
        answer = self.orderer.submit(self.net.tx(member, kind, body).raw)
        if not answer.accepted:
            return False, answer.reason
        self.orderer.cut()
        return True, ""


def test_governance_hands_ordering_over_and_never_leaves_none(tmp_path: Path) -> None:
    net = _with_orderer()
    store = net.store(tmp_path / "ledger.sqlite")
    gov = _Gov(net, store)
    # Removing the only orderer would leave no proposer: refused when proposed.
    ok, reason = gov.run("m1", "gov.propose", propose_body("remove", {"id": "ord"}))
    assert not ok and "would have no proposer" in reason
    # Naming someone who cannot propose is refused too.
    for bad in (["m9"], []):
        ok, reason = gov.run(
            "m1", "gov.propose", propose_body("set_params", {"set": {"ledger.proposers": bad}})
        )
        assert not ok and "ledger.proposers" in reason, reason
    # Handing ordering to m2: executes with the third approval (3 of 3 voters).
    ok, _ = gov.run(
        "m1", "gov.propose", propose_body("set_params", {"set": {"ledger.proposers": ["m2"]}})
    )
    assert ok
    (proposal,) = [k for k, _ in store.state().scan("gov.proposals")]
    for member in ("m2", "m3"):
        assert gov.run(member, "gov.approve", approve_body(proposal)) == (True, "")
    assert proposers(store.state()) == {"m2"}
    gov.orderer.stop(flush=False)
    replica = Replica(store, net.registry)
    with pytest.raises(NotProposerError, match="'ord' is not a proposer"):
        replica.apply(_next_block(net, store, "ord").raw)
    replica.apply(_next_block(net, store, "m2").raw)
    store.close()
