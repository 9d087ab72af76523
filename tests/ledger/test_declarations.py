"""The ``pub`` contract checks every declaration it can, and takes complaints about the
rest (issue 14, attack 7).

OPRF keys must be ristretto255 elements other than the identity, and nobody else's;
index declarations must be possible; and a responder's signed statement of what it
served (:class:`ledger.ServedSnapshot`) that contradicts its declaration for the epoch
in force suspends that list — no reciprocity, no grant — until a new epoch is
published. Every refusal names its reason and changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    EMPTY_ROOT,
    MAX_INDEX_SIZE,
    EmbeddedOrderer,
    EncodingError,
    ServedSnapshot,
    SignedTransaction,
    Store,
    add_oprf_key_body,
    complain_body,
    index_row,
    publish_index_body,
)
from token_incentive import AdmissionRefused, default_params, params_from_state, published
from token_incentive._settlement import _grants

from .helpers import T0, Net, key_for, make_net, point

LIST = "transaction_fraud"
DIGEST = hashlib.sha256(b"the snapshot m2 declares").digest()


class _Chain:
    def __init__(self, net: Net, store: Store) -> None:
        self.net = net
        self.store = store
        self.orderer = EmbeddedOrderer(
            store, net.registry, member="m1", key=key_for("m1"), clock=lambda: T0
        )

    def run(self, stx: SignedTransaction) -> tuple[bool, str]:
        answer = self.orderer.submit(stx.raw)
        self.orderer.cut()
        return answer.accepted, answer.reason

    def refused(self, stx: SignedTransaction, reason: str) -> None:
        before = list(self.store.state_rows())
        ok, why = self.run(stx)
        assert not ok and reason in why, why
        assert list(self.store.state_rows()) == before

    def tx(self, member: str, kind: str, body: dict[str, Any]) -> SignedTransaction:
        return self.net.tx(member, kind, body)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[_Chain]:
    net = make_net(("m1", "m2", "m3", "obs"), roles={"obs": "observer"}, params=default_params())
    store = net.store(tmp_path / "ledger.sqlite")
    c = _Chain(net, store)
    for member in ("m2", "m3"):
        assert c.run(c.tx(member, "pub.add_oprf_key", add_oprf_key_body("k1", point(member))))[0]
    yield c
    c.orderer.stop(flush=False)
    store.close()


def _declaration(epoch: int = 1, **over: Any) -> dict[str, Any]:
    body = publish_index_body(
        list_type=LIST,
        epoch=epoch,
        size=1000,
        root=b"\x11" * 32,
        snapshot_digest=DIGEST,
        key_id="k1",
    )
    return {**body, **over}


def test_oprf_keys_must_be_group_elements_of_ones_own(chain: _Chain) -> None:
    def add(member: str, key: bytes, key_id: str = "k2") -> SignedTransaction:
        return chain.tx(member, "pub.add_oprf_key", add_oprf_key_body(key_id, key))

    chain.refused(add("m2", bytes(32)), "not a valid ristretto255 element")
    chain.refused(add("m2", b"\x01" * 32), "not a valid ristretto255 element")
    chain.refused(add("m2", b"\xff" * 32), "not a valid ristretto255 element")
    chain.refused(add("m2", point("m3")), "public_key is 'm3''s OPRF key")
    # Its own key again, under another id (a re-registration), is fine.
    assert chain.run(add("m2", point("m2"))) == (True, "")


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"size": MAX_INDEX_SIZE + 1}, "bad size"),
        ({"size": -1}, "bad size"),
        ({"size": 0}, "root must be the Merkle root of no tags exactly when size is 0"),
        ({"root": EMPTY_ROOT}, "root must be the Merkle root of no tags exactly when size is 0"),
        ({"epoch": 1 << 63}, "bad epoch"),
        ({"epoch": 0}, "epoch 0 is not above the last published, 0"),
        ({"expires_at": 1 << 63}, "bad expires_at"),
        ({"expires_at": T0}, "expires_at is in the past"),
        ({"key_id": "k9"}, "no active OPRF key 'k9'"),
        ({"list_type": "nope"}, "unknown list type 'nope'"),
    ],
)
def test_impossible_declarations_are_refused(
    chain: _Chain, over: dict[str, Any], reason: str
) -> None:
    chain.refused(chain.tx("m2", "pub.publish_index", _declaration(**over)), reason)


def test_an_empty_list_declares_the_empty_root(chain: _Chain) -> None:
    body = _declaration(size=0, root=EMPTY_ROOT)
    assert chain.run(chain.tx("m2", "pub.publish_index", body)) == (True, "")


def _served(c: _Chain, signer: str = "m2", **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "chain": c.net.chain,
        "member": "m2",
        "list_type": LIST,
        "epoch": 1,
        "size": 0,
        "digest": hashlib.sha256(b"what m2 serves").digest(),
    }
    fields.update(over)
    statement, signature = ServedSnapshot(**fields).sign(key_for(signer))
    return complain_body(statement, signature)


def test_a_statement_contradicting_the_declaration_suspends_the_list(chain: _Chain) -> None:
    assert chain.run(chain.tx("m2", "pub.publish_index", _declaration()))[0]
    state = chain.store.state()
    row = index_row(state, "m2", LIST)
    assert row is not None and row.in_force(T0)
    assert published(state, "m2", LIST, T0).epoch == 1
    assert "m2" in _grants(state, params_from_state(state), T0)
    # What cannot prove anything is refused, and changes nothing.
    complain = "pub.complain"
    refusals = [
        ("m3", _served(chain, signer="m3"), "bad signature by 'm2'"),
        ("m3", _served(chain, epoch=2), "the statement is about epoch 2"),
        ("m3", _served(chain, chain=bytes(32)), "statement is for another chain"),
        ("m3", _served(chain, size=1000, digest=DIGEST), "nothing to complain about"),
        ("m3", _served(chain, list_type="marketing_abuse"), "m2 publishes no marketing_abuse"),
        ("m2", _served(chain), "a member cannot complain about its own list"),
        ("obs", _served(chain), "role 'observer' may not submit pub.complain"),
        (
            "m3",
            {"statement": b"riskshare/pub-served/v1\x00\xa0", "signature": bytes(64)},
            "statement: served-snapshot statement has the wrong fields",
        ),
        ("m3", {"statement": b"", "signature": b""}, "signature must be 64 bytes"),
    ]
    for member, body, reason in refusals:
        chain.refused(chain.tx(member, complain, body), reason)
    # The proof: m2's own signed word that it serves 0 entries under another digest.
    assert chain.run(chain.tx("m3", complain, _served(chain))) == (True, "")
    state = chain.store.state()
    row = index_row(state, "m2", LIST)
    assert row is not None and row.suspended is not None and not row.in_force(T0)
    assert row.suspended["by"] == "m3" and row.suspended["size"] == 0
    with pytest.raises(AdmissionRefused) as caught:
        published(state, "m2", LIST, T0)
    assert caught.value.code == "suspended_list"
    assert "m2" not in _grants(state, params_from_state(state), T0)
    # The responder is a party to the complaint ("transactions about me").
    (record,) = chain.store.txs(kind=complain, ok=True)
    assert tuple(chain.store.tx_parties(record.height, record.index)) == ("m2",)
    chain.refused(chain.tx("m1", complain, _served(chain)), "already suspended")
    # A new epoch is a new declaration: the suspension does not carry over.
    assert chain.run(chain.tx("m2", "pub.publish_index", _declaration(epoch=2)))[0]
    state = chain.store.state()
    assert published(state, "m2", LIST, T0).epoch == 2
    assert "m2" in _grants(state, params_from_state(state), T0)
    chain.refused(chain.tx("m3", complain, _served(chain)), "the statement is about epoch 1")


_statements = st.builds(
    ServedSnapshot,
    chain=st.binary(min_size=32, max_size=32),
    member=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", fullmatch=True),
    list_type=st.from_regex(r"[a-z][a-z0-9_]{0,63}", fullmatch=True),
    epoch=st.integers(0, (1 << 63) - 1),
    size=st.integers(0, (1 << 63) - 1),
    digest=st.binary(min_size=32, max_size=32),
)


@given(_statements)
def test_statements_round_trip(served: ServedSnapshot) -> None:
    assert ServedSnapshot.decode(served.encode()) == served


@given(st.binary(max_size=300))
def test_statement_bytes_decode_or_raise_encoding_error(data: bytes) -> None:
    for candidate in (data, b"riskshare/pub-served/v1\x00" + data):
        try:
            ServedSnapshot.decode(candidate)
        except EncodingError:
            continue
