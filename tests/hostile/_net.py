"""An in-process consortium to attack: the orderer and four gateways on loopback.

Built the way `tests/gateway/test_flow.py` builds its network — real nodes (ledger
replica or embedded orderer, recorder, querier) and real consortium ports (mutual TLS
1.3, the interceptor chain, every service) — with bank-a, bank-b and bank-c
publishing a list, bank-d a member that publishes nothing (the revocation case spends
it) and ``regulator`` an observer. Limits are high, so what a test
sees is the rule it aims at, not the rate limiter (which tests/e2e attacks).

:meth:`Net.fingerprint` is the "no state change" check: every replica's head, its
receipts and balances, every gateway's stored answers and refund claims, and the
orderer's queue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway import MemberCredentials, load_config, load_member_credentials
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._node import Node
from gateway._peers import open_channel
from gateway._worker import PublicPort, start_public_port
from ledger import sign_transaction
from tests._rpc import Refusal, phone_request, refusal, wait_for
from token_incentive import SignedRequest

__all__ = ["LIST", "MEMBERS", "Answered", "Net", "Refusal", "refusal", "start_net", "wait_for"]

LIST = "transaction_fraud"
MEMBERS = ("bank-a", "bank-b", "bank-c")
LISTS = {
    "bank-a": [(LIST, "phone", "13800138000", 1), (LIST, "phone", "13900139000", 2)],
    "bank-b": [(LIST, "phone", "13800138000", 3), (LIST, "phone", "13700137000", 1)],
    "bank-c": [(LIST, "phone", "13600136000", 1)],
}
MAX_BATCH = 256


@dataclass(frozen=True)
class Answered:
    """A query really answered: its signed request, blinding, request and response."""

    signed: SignedRequest
    pending: Any
    request: Any
    response: Any


@dataclass
class Net:
    consortium: LocalConsortium
    nodes: dict[str, Node]
    ports: dict[str, PublicPort]
    _channels: dict[tuple[str, str], Any] = field(default_factory=dict)
    _seq: dict[str, int] = field(default_factory=dict)

    def credentials(self, member_id: str) -> MemberCredentials:
        return load_member_credentials(self.consortium.member(member_id).member_dir)

    def address(self, member_id: str) -> str:
        return self.consortium.member(member_id).address

    def channel(self, caller: str, target: str) -> Any:
        """A mutual-TLS channel from ``caller``'s certificate to ``target``'s port."""
        key = (caller, target)
        if key not in self._channels:
            self._channels[key] = open_channel(self.credentials(caller), self.address(target))
        return self._channels[key]

    def close_channels(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def chain(self) -> bytes:
        chain = self.nodes["orderer"].store.chain_id
        assert chain is not None
        return chain

    def tx(self, member: str, kind: str, body: dict[str, Any], **over: Any) -> bytes:
        """``member``'s signed transaction with a fresh sequence number."""
        key = over.pop("key", None) or self.credentials(member).signing_key
        seq = max(self._seq.get(member, 0), time.time_ns() // 1000) + 1
        self._seq[member] = seq
        fields: dict[str, Any] = {
            "chain": self.chain(),
            "member": member,
            "kind": kind,
            "body": body,
            "seq": seq,
            "time": time.time_ns() // 1_000_000,
        }
        fields.update(over)
        return sign_transaction(key, **fields).raw

    def request(
        self, querier: str, responder: str, values: list[str], **over: Any
    ) -> tuple[SignedRequest, Any]:
        """A signed query request as ``querier``'s gateway makes it, and its blinding."""
        signer = over.pop("signer", querier)
        key = self.credentials(signer).signing_key
        return phone_request(querier, responder, values, key, **over)

    def key_id(self, member_id: str) -> str:
        row: Any = self.nodes[member_id].store.state().get("pub.index", f"{member_id}/{LIST}")
        return str(row["key_id"])

    def quiet(self) -> None:
        """Wait until nothing is in flight and every replica is at the orderer's head."""

        def done() -> bool:
            busy = any(
                node.local.counts().get(state, 0)
                for node in self.nodes.values()
                for state in ("pending", "submitted")
            )
            heights = {node.store.height for node in self.nodes.values()}
            orderer = self.nodes["orderer"].orderer
            return not busy and len(heights) == 1 and orderer is not None and not orderer.pending

        wait_for(done)

    def fingerprint(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for member_id, node in sorted(self.nodes.items()):
            head = node.store.head()
            state = node.store.state()
            receipts = sorted(key for key, _ in state.scan("credits.receipts"))
            balances = sorted(
                (key, row["balance"])
                for key, row in state.scan("credits.accounts")
                if isinstance(row, dict)
            )
            out.append(
                (
                    member_id,
                    None if head is None else (head.height, head.hash),
                    tuple(receipts),
                    tuple(balances),
                    tuple(sorted(node.local.counts().items())),
                    tuple(node.local.refunds("waiting")),
                )
            )
        orderer = self.nodes["orderer"].orderer
        out.append(("orderer pending", None if orderer is None else orderer.pending))
        return tuple(out)

    def settled_fingerprint(self) -> tuple[Any, ...]:
        """The fingerprint once anything a call set going has had time to land."""
        time.sleep(0.3)  # longer than the orderer's block interval (0.1 s)
        self.quiet()
        return self.fingerprint()


def start_net(root: Path) -> Iterator[Net]:
    consortium = create_local_consortium(
        root,
        [*MEMBERS, "bank-d", "regulator"],
        roles={"regulator": "observer"},
        overrides={
            "limits": {"requests_per_second": 100_000.0, "elements_per_second": 10_000_000.0},
            "gateway": {"max_batch": MAX_BATCH},
        },
    )
    nodes: dict[str, Node] = {}
    ports: dict[str, PublicPort] = {}
    net = Net(consortium, nodes, ports)
    try:
        for member_id in ["orderer", *MEMBERS, "bank-d", "regulator"]:
            config = load_config(consortium.member(member_id).config_path)
            credentials = load_member_credentials(config.member.dir)
            nodes[member_id] = Node(config, credentials)
            nodes[member_id].start(admin=member_id == "bank-c")
            if member_id in MEMBERS:
                ports[member_id] = start_public_port(config, credentials, reuse_port=False)
        for member_id, rows in LISTS.items():
            load_list(consortium.members[member_id], rows)
            assert nodes[member_id].recorder.publish() == [LIST]
        wait_for(
            lambda: all(
                node.store.state().get("pub.index", f"{m}/{LIST}") is not None
                for node in nodes.values()
                for m in MEMBERS
            )
        )
        net.quiet()
        yield net
    finally:
        net.close_channels()
        for port in ports.values():
            port.stop(0)
        for node in nodes.values():
            node.stop(0)
