"""A consortium of real gateway processes, and members that cheat.

The consortium: the orderer, three honest banks with lists (bank-a, bank-b, bank-c),
an observer (``regulator``) and two cheaters, each a member in good standing with its
own certificate and signing key:

- **mallory** runs a real gateway, which publishes her list like any member's (so she
  passes reciprocity), but she also speaks to the others herself: raw gRPC over mutual
  TLS with her own certificate, requests signed with her own key, transactions she
  signs and sends straight to the orderer;
- **eve**, **oscar**, **peggy** and **victor** are cheaters of mallory's kind, one per attack that
  spends a querier's standing (its allowance, its list's expiry, its membership), so
  that no attack depends on the order the tests run in;
- **trudy** runs no gateway at all. Her list exists only as declarations she signs
  (``pub.add_oprf_key``, ``pub.publish_index``), and on her registered address runs
  whatever servicer a test starts (:meth:`Cheater.serve`): a responder that lies.

Credits are scaled down so that a member's whole allowance is small: a fresh member
holds 0 and may go to ``-OVERDRAFT`` milli-credits, i.e. ``ALLOWANCE`` items of
``LIST`` at ``PRICE`` each.

The audit every test ends with (:meth:`World.audit`) reads each responder's own record
of what it answered (``gateway.sqlite``) and the orderer's ledger, and counts the
elements answered with no charge on the ledger; :class:`ExposureProbe` samples, while
attacks run, the largest number of elements answered to one querier and not yet
charged.

An attack that would break the consortium for the others (stopping the orderer, say)
runs in a consortium of its own (:func:`start_consortium`), with the same tools:
:meth:`World.stop` and :meth:`World.restart` a gateway, :meth:`Cheater.serve_ledger`
runs a lying ``Ledger`` service on a member's address (the orderer's, when the test
holds the orderer's key), :func:`forge_block` signs a block that is valid in every
respect but the one under test, and :meth:`World.log_events` reads a gateway's log.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from gateway import MemberCredentials, load_member_credentials
from gateway._client import AdminClient
from gateway._ledger_client import Committed, RemoteOrderer
from gateway._localnet import LocalConsortium, create_local_consortium, load_list
from gateway._pb.riskshare.ledger.v1 import ledger_pb2_grpc
from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from gateway._peers import open_channel
from gateway._processes import GatewayProcess, start_gateway, start_gateways, stop_gateways
from gateway._registry import consortium_registry
from gateway._server import MAX_MESSAGE_BYTES
from gateway._stubs import psi_stub
from gateway._tls import server_credentials
from ledger import (
    SEQ_TABLE,
    Block,
    BlockExecutor,
    SignedTransaction,
    Store,
    add_oprf_key_body,
    approve_body,
    make_block,
    propose_body,
    publish_index_body,
    sign_transaction,
)
from psi import KeyPair, PendingQuery, generate_key_pair
from tests._rpc import Refusal, phone_request, refusal, wait_for
from token_incentive import SignedRequest

__all__ = [
    "ALLOWANCE",
    "CHEATERS",
    "HONEST",
    "LIST",
    "OVERDRAFT",
    "PRICE",
    "Audit",
    "Cheater",
    "ExposureProbe",
    "Refusal",
    "World",
    "forge_block",
    "now_ms",
    "phones",
    "refusal",
    "start_consortium",
    "start_world",
    "wait_for",
]

LIST = "transaction_fraud"
PRICE = 1000  # milli-credits per transaction_fraud item (the genesis default)
OVERDRAFT = 100_000
ALLOWANCE = OVERDRAFT // PRICE  # items a fresh member may be answered
HONEST = ("bank-a", "bank-b", "bank-c")
LISTS = {
    "bank-a": [(LIST, "phone", "13800138000", 1), (LIST, "phone", "13900139000", 2)],
    "bank-b": [(LIST, "phone", "13800138000", 3), (LIST, "phone", "13700137000", 1)],
    "bank-c": [(LIST, "phone", "13600136000", 1)],
    "mallory": [(LIST, "phone", "13500135000", 1)],
    "eve": [(LIST, "phone", "13500135001", 1)],
    "oscar": [(LIST, "phone", "13500135002", 1)],
    "peggy": [(LIST, "phone", "13500135003", 1)],
    "victor": [(LIST, "phone", "13500135004", 1)],
}
CHEATERS = ("mallory", "eve", "oscar", "peggy", "victor")


def phones(count: int, start: int = 0) -> list[str]:
    """``count`` distinct valid mobile numbers (none of them on anyone's list)."""
    return [f"186{n:08d}" for n in range(start, start + count)]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Audit:
    """What the responders answered against what the ledger charged."""

    answered: int  # elements answered (member queries, not canary probes)
    uncharged: tuple[str, ...]  # receipt ids answered with no charge on the ledger
    uncharged_items: int
    probes: int  # canary probe elements answered


@dataclass
class World:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]
    cheaters: dict[str, Cheater] = field(default_factory=dict)

    # -- reading state -----------------------------------------------------------------

    @contextmanager
    def store(self, member_id: str = "orderer") -> Iterator[Store]:
        with Store(self.net.member(member_id).data_dir / "ledger.sqlite", create=False) as store:
            yield store

    def state_get(self, table: str, key: str, member_id: str = "orderer") -> Any:
        with self.store(member_id) as store:
            return store.state().get(table, key)

    def balance(self, member_id: str) -> int:
        row = self.state_get("credits.accounts", member_id)
        return 0 if row is None else int(row["balance"])

    def receipts(self, member_id: str = "orderer") -> dict[str, Any]:
        with self.store(member_id) as store:
            return dict(store.state().scan("credits.receipts"))

    def answered(self, responder: str) -> list[tuple[str, str, int, str]]:
        """(receipt id, querier, items, state) of every answer ``responder`` stored."""
        path = self.net.member(responder).data_dir / "gateway.sqlite"
        if not path.exists():
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
        try:
            rows = db.execute("SELECT receipt_id, querier, items, state FROM answered").fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()
        return [(str(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]

    def heights(self) -> dict[str, int]:
        out = {}
        for member_id in self.gateways:
            with self.store(member_id) as store:
                out[member_id] = store.height
        return out

    def admin(self, member_id: str) -> AdminClient:
        return AdminClient(self.net.members[member_id].data_dir / "admin.sock")

    def log_events(self, member_id: str, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON lines of ``member_id``'s gateway log (only ``event``'s, if named)."""
        path = self.net.member(member_id).data_dir / "gateway.log"
        if not path.exists():
            return []
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line being written
            if event is None or record.get("event") == event:
                lines.append(record)
        return lines

    # -- gateways of a consortium of its own ----------------------------------------------

    def stop(self, member_id: str) -> int:
        """Stop ``member_id``'s gateway (SIGTERM, graceful); its exit code."""
        gateway = self.gateways.pop(member_id)
        return stop_gateways({member_id: gateway})[member_id]

    def restart(self, member_id: str, timeout: float = 120.0) -> None:
        """Start ``member_id``'s gateway again (after :meth:`stop`) and wait until it serves."""
        member = self.net.member(member_id)
        gateway = start_gateway(member_id, member.config_path)
        self.gateways[member_id] = gateway
        gateway.wait_serving(timeout)

    def signer(self, member_id: str) -> Cheater:
        """A client holding ``member_id``'s own credentials (honest or not)."""
        if member_id not in self.cheaters:
            creds = load_member_credentials(self.net.member(member_id).member_dir)
            self.cheaters[member_id] = Cheater(self, member_id, creds)
        return self.cheaters[member_id]

    def govern(self, action: str, args: dict[str, Any]) -> None:
        """Propose ``action`` as bank-a and approve it with every other voting member."""
        voters = [m for m in self.net.members if self.net.members[m].role == "member"]
        proposal = self.signer("bank-a").submit("gov.propose", propose_body(action, args))
        assert proposal.ok, proposal.reason
        for member_id in voters[1:]:
            row = self.state_get("gov.proposals", proposal.tx_id.hex())
            if row is not None and row.get("status") != "open":
                break
            vote = self.signer(member_id).submit("gov.approve", approve_body(proposal.tx_id.hex()))
            assert vote.ok, vote.reason

    def declare_list(
        self, member_id: str, *, size: int, expires_at: int | None = None
    ) -> tuple[KeyPair, int]:
        """``member_id`` commits a fresh OPRF key and declares a ``LIST`` of ``size``
        entries that exists nowhere (a made-up root and digest); (key, epoch), once the
        declaration is on bank-a's replica."""
        cheat = self.signer(member_id)
        key = generate_key_pair(os.urandom)
        added = cheat.submit("pub.add_oprf_key", add_oprf_key_body(key.key_id.hex(), key.public))
        assert added.ok, added.reason
        row = self.state_get("pub.index", f"{member_id}/{LIST}")
        epoch = (row["epoch"] if row else 0) + 1
        published = cheat.submit(
            "pub.publish_index",
            publish_index_body(
                list_type=LIST,
                epoch=epoch,
                size=size,
                root=os.urandom(32),
                snapshot_digest=os.urandom(32),
                key_id=key.key_id.hex(),
                expires_at=expires_at,
            ),
        )
        assert published.ok, published.reason

        def arrived() -> bool:
            row = self.state_get("pub.index", f"{member_id}/{LIST}", "bank-a")
            return isinstance(row, dict) and row["epoch"] == epoch

        wait_for(arrived, 60, f"{member_id}'s declaration on bank-a's replica")
        return key, epoch

    def retract_list(self, member_id: str) -> None:
        """Let ``member_id``'s declared list expire (a new epoch that expires in a few
        seconds), so that no honest member's broadcast asks it any more."""
        self.declare_list(member_id, size=1, expires_at=now_ms() + 3000)

        def expired() -> bool:
            row = self.state_get("pub.index", f"{member_id}/{LIST}")
            return now_ms() > int(row["expires_at"]) + 500

        wait_for(expired, 30, f"{member_id}'s list to expire")

    # -- waiting -------------------------------------------------------------------------

    def quiet(self, timeout: float = 60.0) -> None:
        """Every stored answer is on the ledger (or refused) and every replica at its head."""

        def done() -> bool:
            for member_id in self.gateways:
                if any(state in ("pending", "submitted") for *_, state in self.answered(member_id)):
                    return False
            return len(set(self.heights().values())) == 1

        wait_for(done, timeout, "the consortium to settle")

    def audit(self) -> Audit:
        """Elements answered with no charge on the orderer's ledger (call after quiet())."""
        receipts = self.receipts()
        answered = probes = items_uncharged = 0
        uncharged: list[str] = []
        for responder in self.gateways:
            for receipt_id, _querier, items, _state in self.answered(responder):
                row = receipts.get(receipt_id)
                if row is not None and row.get("canary"):
                    probes += items
                    continue
                answered += items
                charged = row is not None and (
                    row.get("charge", 0) > 0 or row.get("status") == "refunded"
                )
                if not charged:
                    uncharged.append(receipt_id)
                    items_uncharged += items
        return Audit(answered, tuple(uncharged), items_uncharged, probes)


class ExposureProbe:
    """Samples, per querier, the elements answered to it and not yet on the ledger."""

    def __init__(self, world: World, interval: float = 0.05) -> None:
        self.world = world
        self.interval = interval
        self.largest: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ExposureProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        recorded = set(self.world.receipts())
        pending: dict[str, int] = {}
        for responder in self.world.gateways:
            for receipt_id, querier, items, state in self.world.answered(responder):
                if state != "refused" and receipt_id not in recorded:
                    pending[querier] = pending.get(querier, 0) + items
        for querier, items in pending.items():
            self.largest[querier] = max(self.largest.get(querier, 0), items)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except (sqlite3.Error, OSError):
                continue  # a file being rewritten under us; sample again next time


@dataclass
class Cheater:
    """A member that speaks the protocol itself, with its own valid credentials."""

    world: World
    member_id: str
    credentials: MemberCredentials
    _channels: dict[str, Any] = field(default_factory=dict)
    _seq: int = 0
    _servers: list[Any] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.world.net.member(self.member_id).address

    def channel(self, target: str) -> Any:
        if target not in self._channels:
            address = self.world.net.member(target).address
            self._channels[target] = open_channel(self.credentials, address)
        return self._channels[target]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
        for server in self._servers:
            server.stop(0)
        self._servers.clear()

    # -- queries ---------------------------------------------------------------------------

    def key_id(self, responder: str) -> str:
        row = self.world.state_get("pub.index", f"{responder}/{LIST}")
        return str(row["key_id"])

    def request(
        self, responder: str, values: Sequence[str], **over: Any
    ) -> tuple[SignedRequest, PendingQuery]:
        """A signed request for ``values``; ``over`` replaces any field (the lie)."""
        over.setdefault("key_id", self.key_id(responder))
        return phone_request(
            self.member_id, responder, values, self.credentials.signing_key, **over
        )

    def evaluate_request(self, signed: SignedRequest, pending: PendingQuery) -> Any:
        req = signed.request
        return psi_pb2.EvaluateRequest(
            list_type=req.list_type,
            normaliser_version=req.normaliser_version,
            signed_request=signed.to_bytes(),
            blinded=pending.request(),
            key_id=req.key_id or "",
        )

    def evaluate(self, signed: SignedRequest, pending: PendingQuery, timeout: float = 60) -> Any:
        """Send one request; the answer, or :class:`grpc.RpcError`."""
        stub = psi_stub(self.channel(signed.request.responder))
        return stub.EvaluateBatch(self.evaluate_request(signed, pending), timeout=timeout)

    def ask(self, responder: str, values: Sequence[str], **over: Any) -> Any:
        signed, pending = self.request(responder, values, **over)
        return self.evaluate(signed, pending)

    # -- the ledger ------------------------------------------------------------------------

    def submit(
        self, kind: str, body: dict[str, Any], *, wait: bool = True, **over: Any
    ) -> Committed:
        """Sign ``body`` ourselves and hand it straight to the orderer."""
        for _attempt in range(5):
            with self.world.store() as store:
                chain = store.chain_id
                last: Any = store.state().get(SEQ_TABLE, self.member_id)
            assert chain is not None
            # The member's own gateway signs under the same sequence (ms x 1000 from its
            # clock): stay above both, and sign again if it got there first.
            self._seq = max(self._seq + 1, (last or 0) + 1, time.time_ns() // 1000 + 1000)
            fields: dict[str, Any] = {
                "chain": chain,
                "member": self.member_id,
                "kind": kind,
                "body": body,
                "seq": self._seq,
                "time": now_ms(),
            }
            fields.update(over)
            raw = sign_transaction(self.credentials.signing_key, **fields).raw
            result = RemoteOrderer(self.channel("orderer")).submit(raw, wait=wait, timeout=30)
            if "sequence number" not in result.reason or "seq" in over:
                break
            time.sleep(0.05)
        return result

    # -- a responder that lies ----------------------------------------------------------------

    def serve(self, servicer: psi_pb2_grpc.PsiServicer) -> None:
        """Serve ``servicer`` as this member's Psi service, on its registered address."""
        self._servers.append(self._start(servicer, None, None))

    @contextmanager
    def serving(
        self,
        servicer: psi_pb2_grpc.PsiServicer,
        *,
        tls_key_pem: bytes | None = None,
        certificate_pem: bytes | None = None,
    ) -> Iterator[None]:
        """Serve ``servicer`` on this member's registered address for a ``with`` block,
        under the member's own certificate, or under ``certificate_pem`` (and its key)."""
        server = self._start(servicer, tls_key_pem, certificate_pem)
        try:
            yield
        finally:
            server.stop(0).wait()

    def _start(
        self,
        servicer: psi_pb2_grpc.PsiServicer,
        tls_key_pem: bytes | None,
        certificate_pem: bytes | None,
    ) -> Any:
        creds = self.credentials
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        psi_pb2_grpc.add_PsiServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
        server.add_secure_port(
            self.address,
            server_credentials(
                tls_key_pem or creds.tls_key_pem,
                certificate_pem or creds.certificate_pem,
                creds.ca_pem,
            ),
        )
        server.start()
        return server

    def serve_ledger(self, servicer: ledger_pb2_grpc.LedgerServicer) -> None:
        """Serve ``servicer`` as a ``Ledger`` service on this member's registered address
        (a peer's read side, or, with the orderer's credentials, the orderer's)."""
        creds = self.credentials
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        ledger_pb2_grpc.add_LedgerServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
        server.add_secure_port(
            self.address,
            server_credentials(creds.tls_key_pem, creds.certificate_pem, creds.ca_pem),
        )
        server.start()
        self._servers.append(server)

    def stop_serving(self) -> None:
        """Stop every server :meth:`serve` and :meth:`serve_ledger` started."""
        for server in self._servers:
            server.stop(0).wait()
        self._servers.clear()

    def sign(
        self, kind: str, body: dict[str, Any], *, chain: bytes, **over: Any
    ) -> SignedTransaction:
        """A transaction of ours, signed but not sent (to put in a forged block)."""
        self._seq = max(self._seq + 1, time.time_ns() // 1000 + 1000)
        fields: dict[str, Any] = {
            "chain": chain,
            "member": self.member_id,
            "kind": kind,
            "body": body,
            "seq": self._seq,
            "time": now_ms(),
        }
        fields.update(over)
        return sign_transaction(self.credentials.signing_key, **fields)


def forge_block(
    store: Store,
    signer: Cheater,
    txs: Sequence[SignedTransaction] = (),
    *,
    time_ms: int | None = None,
) -> Block:
    """The next block after ``store``'s head, proposed and signed by ``signer``: its
    transactions executed with the consortium's contracts, so that the state digest,
    the Merkle root and the chain are right and only what the test is about is not."""
    head = store.head()
    chain = store.chain_id
    assert head is not None and chain is not None
    block_time = now_ms() if time_ms is None else time_ms
    executor = BlockExecutor(
        store.state(),
        consortium_registry(),
        height=head.height + 1,
        time=block_time,
        prev_digest=head.state_digest,
    )
    for index, stx in enumerate(txs):
        result = executor.execute(stx, index)
        assert result.ok, result.reason
    _, digest = executor.finish()
    return make_block(
        signer.credentials.signing_key,
        chain=chain,
        height=head.height + 1,
        prev=head.hash,
        time=block_time,
        proposer=signer.member_id,
        txs=[stx.raw for stx in txs],
        state_digest=digest,
    )


def start_consortium(
    root: Path,
    members: Sequence[str],
    *,
    running: Sequence[str],
    params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[World]:
    """A consortium of its own for an attack that would break the shared one: the
    orderer and ``members`` (all of role ``member``), the gateways of ``running`` started
    (the others hold keys only, like trudy), no lists."""
    net = create_local_consortium(
        root,
        list(members),
        params=dict(params or {}),
        overrides={"query": {"snapshot_sync_seconds": 3600.0}, **(overrides or {})},
    )
    gateways = start_gateways(net, list(running))
    world = World(net, gateways)
    try:
        for member_id in members:
            if member_id not in running:
                world.signer(member_id)
        world.quiet()
        yield world
    finally:
        for cheater in world.cheaters.values():
            cheater.close()
        stop_gateways(world.gateways)


def start_world(root: Path, params: dict[str, Any] | None = None) -> Iterator[World]:
    """Create the consortium, start every gateway but trudy's, publish the lists."""
    members = [*HONEST, *CHEATERS, "trudy", "regulator"]
    net = create_local_consortium(
        root,
        members,
        roles={"regulator": "observer"},
        params={"credits.overdraft": OVERDRAFT, **(params or {})},
        overrides={
            "limits": {"requests_per_second": 100_000.0, "elements_per_second": 10_000_000.0},
            "query": {"snapshot_sync_seconds": 1.0},
        },
    )
    for member_id, rows in LISTS.items():
        load_list(net.members[member_id], rows)
    # bank-a answers from two worker processes: admission must hold across them.
    config = net.members["bank-a"].config_path
    config.write_text(config.read_text().replace("workers = 1", "workers = 2"))
    gateways = start_gateways(net, [*HONEST, *CHEATERS, "regulator"])
    world = World(net, gateways)
    try:
        for member_id in (*CHEATERS, "trudy", "regulator"):
            world.cheaters[member_id] = Cheater(
                world, member_id, load_member_credentials(net.members[member_id].member_dir)
            )

        def published() -> bool:
            with world.store() as store:
                state = store.state()
                return all(state.get("pub.index", f"{m}/{LIST}") is not None for m in LISTS)

        wait_for(published, 60, "every list published")
        world.quiet()
        yield world
    finally:
        for cheater in world.cheaters.values():
            cheater.close()
        stop_gateways(gateways)
