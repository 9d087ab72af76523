"""Scenario flows through the gateways: co-signatures, fingerprints, steps.

Two services, both thin over ``scenarios`` (the rules) and the ledger replica:

- ``riskshare.scenarios.v1.Scenarios`` on the consortium port. ``Cosign``: a party asked
  to co-sign a step previews it on its *own* replica (every contract rule must hold
  with its signature added; only other parties' signatures may still be missing), checks
  that the step needs its signature, and that its operator authorised this kind of step
  on this object (``riskshare scf authorize ...``); only then does it sign. A gateway
  therefore never signs a step its ledger would refuse, nor one its people did not
  approve. ``EvaluateFingerprints``: the registry member evaluates blinded fingerprint
  inputs under the key committed in ``fpreg`` and signs the receipt.
- ``riskshare.scenarios.v1.ScenarioAdmin`` on the admin socket: ``Step`` builds the step
  on the local replica once it holds the orderer's head (a read barrier: a step judged
  on a lagging replica would miss the step another member just committed), collects
  and checks every co-signature (from the members the caller names, or else from those
  the step, previewed on the local replica, needs), submits, and waits for its block;
  ``Fingerprint`` runs the registry evaluation and records its receipt; ``Authorize``
  records an operator's approval; ``InitRegistry`` creates and commits the registry key
  on the registry member.

Errors raised here go through the gateway's one error boundary (``gateway._status``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from gateway._errors import (
    DeadlineError,
    PeerError,
    PermissionDeniedError,
    ReplayError,
    UnavailableError,
)
from gateway._interceptors import current_peer
from gateway._localstate import Answered, LocalState
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2, scenarios_pb2_grpc
from gateway._pki import read_secret_file
from gateway._ratelimit import RateLimiter
from gateway._server import Service
from ledger import (
    ContractError,
    ContractRegistry,
    State,
    Store,
    TxContext,
    decode,
    encode,
    get_member,
    require_member_signature,
)
from psi import KeyPair, decode_elements, encode_elements, generate_key_pair, key_id
from scenarios import FingerprintError, ScenarioError, machine_for
from scenarios.kit import (
    MAX_FINGERPRINTS,
    FingerprintResponse,
    Machine,
    active_key,
    chain_id,
    cosign,
    cosign_message,
    evaluate_fingerprints,
    finish_fingerprints,
    registry_member,
    request_fingerprints,
)
from token_incentive import (
    MessageError,
    SignedReceipt,
    SignedRequest,
    blinded_digest,
    check_oracle_request,
    recorded_receipt,
)

if TYPE_CHECKING:
    from gateway._node import Node

__all__ = [
    "PAYLOAD_DOMAIN",
    "SCENARIOS_SERVICE",
    "SCENARIO_ADMIN_SERVICE",
    "Approvals",
    "ScenarioAdminService",
    "ScenarioPeerService",
    "add_scenario_admin",
    "add_scenarios",
    "decode_payload",
    "encode_payload",
    "registry_key_path",
    "scenarios_stub",
]

SCENARIOS_SERVICE = scenarios_pb2.DESCRIPTOR.services_by_name["Scenarios"].full_name
SCENARIO_ADMIN_SERVICE = scenarios_pb2.DESCRIPTOR.services_by_name["ScenarioAdmin"].full_name
PAYLOAD_DOMAIN = "scenario-step-payload"
OBJECT_DOMAIN = "scenario-object"
_REPLICA_WAIT_S = 10.0
_PEER_TIMEOUT_S = 15.0
# How long a financier waits for the registry to record its evaluation (it records
# within a block interval or two).
_RECORDED_S = 15.0


def encode_payload(payload: dict[str, Any]) -> bytes:
    return encode(PAYLOAD_DOMAIN, 1, payload)


def decode_payload(data: bytes) -> dict[str, Any]:
    value = decode(PAYLOAD_DOMAIN, 1, data)
    if not isinstance(value, dict):
        raise ContractError("a step payload is a map")
    return value


def registry_key_path(data_dir: Path) -> Path:
    return data_dir / "registry-oprf.key"


def scenarios_stub(channel: Any) -> Any:
    return scenarios_pb2_grpc.ScenariosStub(channel)  # type: ignore[no-untyped-call]


def add_scenarios(servicer: scenarios_pb2_grpc.ScenariosServicer) -> Service:
    def register(server: grpc.Server) -> None:
        scenarios_pb2_grpc.add_ScenariosServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return Service(SCENARIOS_SERVICE, register)


def add_scenario_admin(servicer: scenarios_pb2_grpc.ScenarioAdminServicer) -> Service:
    def register(server: grpc.Server) -> None:
        scenarios_pb2_grpc.add_ScenarioAdminServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return Service(SCENARIO_ADMIN_SERVICE, register)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _wait_for(found: Callable[[], int | None], seconds: float) -> int | None:
    """Poll ``found`` until it returns a value, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while (value := found()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def _wait_height(store: Store, height: int) -> None:
    deadline = time.monotonic() + _REPLICA_WAIT_S
    while store.height < height:
        if time.monotonic() > deadline:
            raise DeadlineError(f"the local replica has not reached height {height}")
        time.sleep(0.02)


class Approvals:
    """An operator's approvals to co-sign, in ``<data_dir>/scenarios.sqlite``.

    Written by the admin side, read by every worker; an approval names one kind of step
    on one object and lapses after its time to live.
    """

    def __init__(self, data_dir: Path) -> None:
        self._conn = sqlite3.connect(
            data_dir / "scenarios.sqlite", timeout=10, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS approvals ("
            "kind TEXT NOT NULL, object TEXT NOT NULL, expires_ms INTEGER NOT NULL, "
            "PRIMARY KEY (kind, object))"
        )
        self._conn.commit()
        self._lock = threading.Lock()

    def authorise(self, kind: str, object_id: str, expires_ms: int) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO approvals (kind, object, expires_ms) VALUES (?, ?, ?)",
                (kind, object_id, expires_ms),
            )

    def authorised(self, kind: str, object_id: str, now_ms: int) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT expires_ms FROM approvals WHERE kind = ? AND object = ?",
                (kind, object_id),
            ).fetchone()
        return row is not None and bool(row[0] >= now_ms)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _load_registry_key(path: Path) -> KeyPair:
    if not path.exists():
        raise UnavailableError("this gateway has no registry key; run tf registry-init")
    # Refused, like the TLS and signing keys, if anyone but us could read it.
    return KeyPair.from_secret(read_secret_file(path))


class ScenarioPeerService(scenarios_pb2_grpc.ScenariosServicer):
    """What other members' gateways ask of this one (consortium port, every worker)."""

    def __init__(
        self,
        *,
        member_id: str,
        signing_key: Any,
        store: Store,
        registry: ContractRegistry,
        data_dir: Path,
        local: LocalState,
        elements: RateLimiter,
        rng: Callable[[int], bytes] = os.urandom,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._me = member_id
        self._key = signing_key
        self._store = store
        self._registry = registry
        self._data_dir = data_dir
        self._approvals = Approvals(data_dir)
        self._local = local
        self._elements = elements
        self._rng = rng
        self._clock = clock_ms

    def Cosign(self, request: Any, context: Any) -> Any:
        peer = current_peer()
        try:
            machine = machine_for(request.kind)
        except ScenarioError as exc:
            raise ContractError(str(exc)) from None
        payload = decode_payload(request.payload)
        # A requester only ever waits for blocks that exist; a height far beyond ours is
        # refused at once rather than holding a server thread.
        if int(request.min_height) > self._store.height + 1000:
            raise ContractError("the requester's ledger is far ahead of this replica")
        _wait_height(self._store, int(request.min_height))
        allowed = self._registry.allowed_roles(request.kind)
        if allowed is not None and peer.role not in allowed:
            raise ContractError(f"role {peer.role} may not submit {request.kind}")
        state = self._store.state()
        now = _now_ms()
        version = int(request.version)
        signature = cosign(
            self._key, chain_id(state), request.kind, request.object, version, payload
        )
        ctx = TxContext(
            b"\0" * 32, request.kind, peer.id, peer.role, 0, now, {}, self._store.height + 1, now
        )
        name = request.kind.partition(".")[2]
        preview = machine.preview(
            state, ctx, name, request.object, version, payload, {self._me: signature}
        )
        if self._me not in preview.required:
            raise PermissionDeniedError(
                f"{request.kind} on {request.object} needs no signature of {self._me}"
            )
        if not self._approvals.authorised(request.kind, request.object, now):
            raise PermissionDeniedError(
                f"{self._me} has not authorised {request.kind} on {request.object}"
            )
        return scenarios_pb2.CosignResponse(signature=signature)

    def EvaluateFingerprints(self, request: Any, context: Any) -> Any:
        """The registry's oracle, metered as a responder meters a list answer
        (``gateway._responder``): every check before any work, admission under the
        querier's lock, and the answer stored for the recorder to charge."""
        peer = current_peer()
        state = self._store.state()
        if registry_member(state) != self._me:
            raise PermissionDeniedError(f"{self._me} does not hold the registry key")
        raw = bytes(request.blinded)
        if not raw or len(raw) % 32 or len(raw) // 32 > MAX_FINGERPRINTS:
            raise MessageError(f"evaluate 1 to {MAX_FINGERPRINTS} 32-byte elements at a time")
        chunks = [raw[i : i + 32] for i in range(0, len(raw), 32)]
        signed = SignedRequest.from_bytes(bytes(request.signed_request))
        req = signed.request
        if req.querier != peer.id:
            raise PermissionDeniedError("a member asks for its own fingerprints only")
        signed.verify(peer.signing_key)
        if req.item_count != len(chunks) or req.blinded_digest != blinded_digest(chunks):
            raise MessageError("the request does not commit to these elements")
        if self._local.seen(signed.receipt_id) or recorded_receipt(state, signed.receipt_id):
            raise ReplayError("this request was answered before")
        self._elements.charge(peer.id, len(chunks), time.monotonic())
        now = self._clock()
        height = self._store.height
        state = self._store.state()
        self._local.reserve(
            signed.receipt_id,
            req.querier,
            req.list_type,
            req.item_count,
            now_ms=now,
            height=height,
            admit=lambda pending: check_oracle_request(
                state, signed, self._me, now, pending=pending
            ),
            charge_of=lambda checked: checked.charge,
        )
        try:
            _, row = active_key(state)
            key = _load_registry_key(registry_key_path(self._data_dir))
            if key.public != row["public_key"]:
                raise UnavailableError(
                    "the registry key file is not the key committed on the ledger"
                )
            answer = evaluate_fingerprints(
                oprf_key=key,
                signing_key=self._key,
                registry=self._me,
                signed=signed,
                blinded=decode_elements(raw, max_count=MAX_FINGERPRINTS),
                querier_key=peer.signing_key,
                now=now,
                rng=self._rng,
            )
        except FingerprintError as exc:
            self._local.release(signed.receipt_id)
            raise MessageError(str(exc)) from None
        except BaseException:
            self._local.release(signed.receipt_id)
            raise
        evaluated = encode_elements(list(answer.evaluated))
        self._local.record_answer(
            Answered(
                receipt_id=signed.receipt_id,
                querier=req.querier,
                list_type=req.list_type,
                items=req.item_count,
                received_ms=now,
                request=signed.data,
                request_sig=signed.signature,
                receipt=answer.receipt.data,
                receipt_sig=answer.receipt.signature,
                response=evaluated + answer.proof,
                key_id=key_id(key.public).hex(),
            )
        )
        return scenarios_pb2.FingerprintAnswer(
            evaluated=evaluated,
            proof=answer.proof,
            signed_receipt=answer.receipt.to_bytes(),
        )


def _peer_refusal(member: str, exc: grpc.RpcError) -> Exception:
    code, details = exc.code(), exc.details() or ""
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return ContractError(f"{member} refused: {details}")
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDeniedError(f"{member} refused: {details}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineError(f"{member} did not answer in time")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
        return UnavailableError(f"{member} is unavailable ({code.name})")
    return PeerError(f"{member} answered {code.name}: {details}")


class ScenarioAdminService(scenarios_pb2_grpc.ScenarioAdminServicer):
    """What the member's own tools ask its gateway (admin socket, the supervisor)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._approvals = Approvals(node.config.member.data_dir)

    @property
    def _store(self) -> Store:
        return self._node.store

    def Step(self, request: Any, context: Any) -> Any:
        node = self._node
        try:
            machine = machine_for(request.kind)
        except ScenarioError as exc:
            raise ContractError(str(exc)) from None
        payload = decode_payload(request.payload)
        # Judge the step on every block the orderer has committed, not on whatever our
        # replica has pulled so far: the step usually follows another member's step that
        # committed a moment ago (the financier approves what the supplier just applied
        # for), and a lagging replica would refuse it, or preview it, on the older state.
        head = node.submitter.link.head_height(timeout=_PEER_TIMEOUT_S)
        _wait_height(self._store, head)
        state = self._store.state()
        version = int(request.version)
        if version < 0:
            current = machine.get(state, request.object)
            version = 0 if current is None else current.version
        chain = chain_id(state)
        message = cosign_message(chain, request.kind, request.object, version, payload)
        cosigners = list(dict.fromkeys(request.cosigners))
        if not cosigners:
            cosigners = self._needed(machine, state, request, version, payload)
        cosigs: dict[str, bytes] = {}
        for member in cosigners:
            if member == node.member_id:
                continue
            stub = scenarios_stub(node.peers.channel(member))
            ask = scenarios_pb2.CosignRequest(
                kind=request.kind,
                object=request.object,
                version=version,
                payload=bytes(request.payload),
                min_height=max(0, self._store.height),
            )
            try:
                reply = stub.Cosign(ask, timeout=_PEER_TIMEOUT_S, wait_for_ready=True)
            except grpc.RpcError as exc:
                raise _peer_refusal(member, exc) from None
            try:
                require_member_signature(state, member, message, bytes(reply.signature))
            except ContractError:
                raise PeerError(f"{member} returned a co-signature that does not verify") from None
            cosigs[member] = bytes(reply.signature)
        body: dict[str, Any] = {"object": request.object, "version": version, "payload": payload}
        if cosigs:
            body["cosigs"] = cosigs
        committed = node.submitter.submit(request.kind, body, wait=True)
        if not committed.accepted or (committed.height is not None and not committed.ok):
            raise ContractError(committed.reason or "the step was refused")
        if committed.height is None:
            raise DeadlineError("the step is queued but not yet in a block")
        _wait_height(self._store, committed.height)
        after = machine.get(self._store.state(), request.object)
        return scenarios_pb2.StepResponse(
            height=committed.height,
            tx_id=committed.tx_id,
            object=b"" if after is None else encode(OBJECT_DOMAIN, 1, after.to_row()),
            signers=sorted({node.member_id, *cosigs}),
        )

    def _needed(
        self, machine: Machine, state: State, request: Any, version: int, payload: dict[str, Any]
    ) -> list[str]:
        """Whose co-signatures the step needs, when the caller named none: the step run on
        our own replica, as us, says (for any registered scenario). A step our replica
        refuses for any other reason is refused here, before anyone is asked."""
        node = self._node
        me = get_member(state, node.member_id)
        role = "" if me is None else me.role
        now = _now_ms()
        ctx = TxContext(
            b"\0" * 32, request.kind, node.member_id, role, 0, now, {}, self._store.height + 1, now
        )
        name = request.kind.partition(".")[2]
        preview = machine.preview(state, ctx, name, request.object, version, payload)
        return [m for m in preview.missing if m != node.member_id]

    def Authorize(self, request: Any, context: Any) -> Any:
        try:
            machine_for(request.kind)
        except ScenarioError as exc:
            raise ContractError(str(exc)) from None
        ttl = int(request.ttl_seconds) or 3600
        expires = _now_ms() + ttl * 1000
        self._approvals.authorise(request.kind, request.object, expires)
        return scenarios_pb2.AuthorizeResponse(expires_at_ms=expires)

    def Fingerprint(self, request: Any, context: Any) -> Any:
        node = self._node
        state = self._store.state()
        registry = registry_member(state)
        registry_row = get_member(state, registry)
        if registry_row is None or not registry_row.active:
            raise UnavailableError(f"the registry {registry} is not an active member")
        kid, key_row = active_key(state)
        now = _now_ms()
        try:
            pending = request_fingerprints(
                [bytes(x) for x in request.inputs],
                querier=node.member_id,
                registry=registry,
                family=request.family,
                key_id=kid.hex(),
                seq=node.local.next_counter("fingerprint_seq", 1),
                now=now,
                key=node.credentials.signing_key,
                rng=os.urandom,
            )
        except FingerprintError as exc:
            raise ContractError(str(exc)) from None
        ask = scenarios_pb2.FingerprintEvaluation(
            signed_request=pending.signed.to_bytes(), blinded=encode_elements(list(pending.blinded))
        )
        try:
            reply = scenarios_stub(node.peers.channel(registry)).EvaluateFingerprints(
                ask, timeout=_PEER_TIMEOUT_S, wait_for_ready=True
            )
        except grpc.RpcError as exc:
            raise _peer_refusal(registry, exc) from None
        try:
            answer = FingerprintResponse(
                tuple(decode_elements(bytes(reply.evaluated), max_count=MAX_FINGERPRINTS)),
                bytes(reply.proof),
                SignedReceipt.from_bytes(bytes(reply.signed_receipt)),
            )
            fps = finish_fingerprints(
                pending,
                answer,
                registry_oprf_key=key_row["public_key"],
                registry_signing_key=registry_row.signing_key,
            )
        except (FingerprintError, MessageError) as exc:
            raise PeerError(f"the registry's answer does not verify: {exc}") from None
        # The registry records the evaluation (and so charges us); a registration can
        # use it once our replica holds it.
        rid = pending.signed.receipt_id
        height = _wait_for(lambda: self._recorded_height(rid), _RECORDED_S)
        if height is None:
            raise UnavailableError("the registry has not recorded the evaluation yet; retry")
        return scenarios_pb2.FingerprintResponse(fingerprints=fps, receipt_id=rid, height=height)

    def _recorded_height(self, receipt_id: str) -> int | None:
        row = recorded_receipt(self._store.state(), receipt_id)
        return None if row is None else self._store.height

    def InitRegistry(self, request: Any, context: Any) -> Any:
        node = self._node
        state = self._store.state()
        if registry_member(state) != node.member_id:
            raise PermissionDeniedError(
                f"the registry is {registry_member(state)}, not this member"
            )
        path = registry_key_path(node.config.member.data_dir)
        if path.exists():
            key = _load_registry_key(path)
        else:
            key = generate_key_pair(os.urandom)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.secret)
        try:
            _, row = active_key(state)
            committed_key: bytes | None = row["public_key"]
        except ContractError:
            committed_key = None
        if committed_key != key.public:
            committed = node.submitter.submit(
                "fpreg.set_key", {"public_key": key.public}, wait=True
            )
            if not committed.accepted or committed.height is None or not committed.ok:
                raise ContractError(committed.reason or "the key was not committed")
            _wait_height(self._store, committed.height)
        return scenarios_pb2.InitRegistryResponse(public_key=key.public, key_id=key_id(key.public))
