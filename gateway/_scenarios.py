"""Scenario flows through the gateways: co-signatures, fingerprints, steps.

Two services, both thin over ``scenarios`` (the rules) and the ledger replica:

- ``riskshare.scenarios.v1.Scenarios`` on the consortium port. ``Cosign``: a party asked
  to co-sign a transaction previews it on its *own* replica (every contract rule must
  hold with its signature added; only other parties' signatures may still be missing),
  checks that the transaction needs its signature, and that its operator approved
  exactly this transaction — its digest (``riskshare scf authorize ...``,
  ``gateway._scenario_tx``); only then does it sign. A gateway therefore never signs a
  transaction its ledger would refuse, nor one its people did not approve.
  ``EvaluateFingerprints``: the registry member evaluates blinded fingerprint inputs
  under the key committed in ``fpreg`` and signs the receipt.
- ``riskshare.scenarios.v1.ScenarioAdmin`` on the admin socket: ``Step`` builds the
  transaction (one leg, or several) on the local replica once it holds the orderer's
  head (a read barrier: a step judged on a lagging replica would miss the step another
  member just committed), collects and checks every co-signature (from the members the
  caller names, or else from those the transaction, previewed on the local replica,
  needs; a member who refuses or cannot be reached is skipped when a party set's
  quorum is reached without it), submits, and waits for its block; ``Fingerprint``
  runs the registry evaluation and records its receipt; ``Authorize`` records an
  operator's approval of one transaction's digest; ``InitRegistry`` creates and commits
  the registry key on the registry member.

Errors raised here go through the gateway's one error boundary (``gateway._status``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from gateway._errors import (
    DeadlineError,
    PeerError,
    PermissionDeniedError,
    RefusedError,
    ReplayError,
    UnavailableError,
)
from gateway._interceptors import current_peer
from gateway._localstate import Answered, LocalState
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2, scenarios_pb2_grpc
from gateway._pki import read_secret_file
from gateway._ratelimit import RateLimiter
from gateway._scenario_private import PrivateAdmin, PrivatePeer
from gateway._scenario_tx import (
    PAYLOAD_DOMAIN,
    Approvals,
    Built,
    decode_payload,
    encode_payload,
    legs_of,
    preview,
)
from gateway._server import Service
from gateway._status import error_from_rpc
from ledger import (
    ContractError,
    ContractRegistry,
    Store,
    encode,
    get_member,
    now_ms,
    require_member_signature,
)
from psi import KeyPair, decode_elements, encode_elements, generate_key_pair, key_id
from scenarios import FingerprintError
from scenarios.kit import (
    MAX_FINGERPRINTS,
    FingerprintResponse,
    active_key,
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
OBJECT_DOMAIN = "scenario-object"
_REPLICA_WAIT_S = 10.0
_PEER_TIMEOUT_S = 15.0
# How long a financier waits for the registry to record its evaluation (it records
# within a block interval or two).
_RECORDED_S = 15.0


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
        clock_ms: Callable[[], int] = now_ms,
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
        self._privacy = PrivatePeer(
            member_id=member_id, signing_key=signing_key, store=store, data_dir=data_dir
        )

    def Cosign(self, request: Any, context: Any) -> Any:
        peer = current_peer()
        # A requester only ever waits for blocks that exist; a height far beyond ours is
        # refused at once rather than holding a server thread.
        if int(request.min_height) > self._store.height + 1000:
            raise ContractError("the requester's ledger is far ahead of this replica")
        _wait_height(self._store, int(request.min_height))
        allowed = self._registry.allowed_roles(request.kind)
        if allowed is not None and peer.role not in allowed:
            raise ContractError(f"role {peer.role} may not submit {request.kind}")
        state = self._store.state()
        built = legs_of(
            state,
            request.kind,
            request.object,
            int(request.version),
            bytes(request.payload),
            bytes(request.tx),
        )
        now = now_ms()
        signature = self._key.sign(built.message)
        # Previewed as the requester will submit it, with our signature added.
        outcome = preview(built, state, peer.id, self._store.height + 1, now, {self._me: signature})
        if self._me not in outcome.required:
            raise PermissionDeniedError(
                f"{built.kind} on {built.legs[0].object} needs no signature of {self._me}"
            )
        self._approvals.require(self._me, built, now)
        return scenarios_pb2.CosignResponse(signature=signature)

    def Endorse(self, request: Any, context: Any) -> Any:
        signature = self._privacy.endorse(current_peer().id, request)
        return scenarios_pb2.EndorseResponse(signature=signature)

    def DeliverPrivate(self, request: Any, context: Any) -> Any:
        self._privacy.deliver(current_peer().id, request)
        return scenarios_pb2.DeliverResponse()

    def FetchPrivate(self, request: Any, context: Any) -> Any:
        record = self._privacy.fetch(current_peer().id, request)
        return scenarios_pb2.PrivateDelivery(record=record)

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


class ScenarioAdminService(scenarios_pb2_grpc.ScenarioAdminServicer):
    """What the member's own tools ask its gateway (admin socket, the supervisor)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._approvals = Approvals(node.config.member.data_dir)
        self._privacy = PrivateAdmin(node)

    @property
    def _store(self) -> Store:
        return self._node.store

    def _built(self, request: Any, version: int) -> Built:
        # Judge the transaction on every block the orderer has committed, not on whatever
        # our replica has pulled so far: a step usually follows another member's step
        # that committed a moment ago (the financier approves what the supplier just
        # applied for), and a lagging replica would refuse it, or preview it, on the
        # older state.
        head = self._node.submitter.link.head_height(timeout=_PEER_TIMEOUT_S)
        _wait_height(self._store, head)
        return legs_of(
            self._store.state(),
            request.kind,
            request.object,
            version,
            bytes(request.payload),
            bytes(request.tx),
        )

    def Step(self, request: Any, context: Any) -> Any:
        node = self._node
        built = self._built(request, int(request.version))
        cosigners = list(dict.fromkeys(request.cosigners))
        if not cosigners:
            cosigners = self._needed(built)
        cosigs: dict[str, bytes] = {}
        refusals: list[Exception] = []
        for member in cosigners:
            if member == node.member_id:
                continue
            try:
                cosigs[member] = self._ask(member, built, request)
            except (RefusedError, PermissionDeniedError, DeadlineError, UnavailableError) as exc:
                # Asked of every member of a party set, a quorum may be reached without
                # some of them; whether it is, the ledger's rules say (below).
                refusals.append(exc)
        if refusals:
            try:
                complete = not self._missing(built, cosigs)
            except ContractError:
                complete = False
            if not complete:
                raise refusals[0]
        committed = node.submitter.submit(built.kind, built.body(cosigs), wait=True)
        if not committed.accepted or (committed.height is not None and not committed.ok):
            raise ContractError(committed.reason or "the step was refused")
        if committed.height is None:
            raise DeadlineError("the step is queued but not yet in a block")
        _wait_height(self._store, committed.height)
        first = built.legs[0]
        after = built.engine.machine(first.machine).get(self._store.state(), first.object)
        return scenarios_pb2.StepResponse(
            height=committed.height,
            tx_id=committed.tx_id,
            object=b"" if after is None else encode(OBJECT_DOMAIN, 1, after.to_row()),
            signers=sorted({node.member_id, *cosigs}),
            digest=built.digest,
        )

    def _ask(self, member: str, built: Built, request: Any) -> bytes:
        node = self._node
        stub = scenarios_stub(node.peers.channel(member))
        ask = scenarios_pb2.CosignRequest(
            kind=built.kind,
            min_height=max(0, self._store.height),
        )
        if built.single:
            (leg,) = built.legs
            ask.object = leg.object
            ask.version = leg.version
            ask.payload = encode_payload(leg.payload)
        else:
            from gateway._scenario_tx import encode_legs

            ask.tx = encode_legs(built.legs)
        try:
            reply = stub.Cosign(ask, timeout=_PEER_TIMEOUT_S, wait_for_ready=True)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, member) from None
        state = self._store.state()
        try:
            require_member_signature(state, member, built.message, bytes(reply.signature))
        except ContractError:
            raise PeerError(f"{member} returned a co-signature that does not verify") from None
        return bytes(reply.signature)

    def _missing(self, built: Built, cosigs: dict[str, bytes]) -> list[str]:
        node = self._node
        outcome = preview(
            built, self._store.state(), node.member_id, self._store.height + 1, now_ms(), cosigs
        )
        return [m for m in outcome.missing if m != node.member_id]

    def _needed(self, built: Built) -> list[str]:
        """Whose co-signatures the transaction needs, when the caller named none: the
        transaction run on our own replica, as us, says (for any registered scenario).
        One our replica refuses for any other reason is refused here, before anyone is
        asked."""
        return self._missing(built, {})

    def Authorize(self, request: Any, context: Any) -> Any:
        ttl = int(request.ttl_seconds) or 3600
        expires = now_ms() + ttl * 1000
        digest = bytes(request.digest)
        if digest:
            if len(digest) != 32:
                raise ContractError("a transaction digest is 32 bytes")
            kind, first = request.kind, request.object
        else:
            # Built on the objects' versions as our replica holds the orderer's head (a
            # confidential object's, as this member holds its private state).
            private = None
            if not request.kind.endswith(".tx"):
                private = self._privacy.approval(
                    request.kind, request.object, bytes(request.payload)
                )
            built = private or self._built(request, -1)
            digest, kind, first = built.digest, built.kind, built.legs[0].object
        self._approvals.authorise(digest, kind, first, expires)
        return scenarios_pb2.AuthorizeResponse(expires_at_ms=expires, digest=digest)

    def WatchEvents(self, request: Any, context: Any) -> Any:
        from gateway._scenario_watch import watch_events

        # A delivery that failed (a party busy or down when the step committed) leaves a
        # version missing here: fetch what is missing from another party before naming
        # the events, so a party sees its own objects' steps by name.
        if request.contract:
            self._privacy.sync(request.contract)
        for event in watch_events(
            self._store,
            request.contract,
            self._node.member_id,
            int(request.from_height),
            follow=bool(request.follow),
            active=context.is_active,
        ):
            type_, object_id, state = event.type, event.object, event.state
            if type_ == "private":
                # The ledger knows a confidential object by its keyed hash; a member
                # holding its private state sees which object it is.
                held = self._privacy.resolve(bytes.fromhex(object_id), event.version)
                if held is not None:
                    type_, object_id, state = held
            yield scenarios_pb2.WatchedEvent(
                height=event.height,
                type=type_,
                object=object_id,
                version=event.version,
                transition=event.transition,
                state=state,
                members=list(event.members),
                signers=list(event.signers),
            )

    def Observe(self, request: Any, context: Any) -> Any:
        from gateway._scenario_watch import observe

        height, tx_id = observe(
            self._node,
            request.contract,
            request.series,
            request.as_of,
            int(request.value),
            int(request.scale),
        )
        _wait_height(self._store, height)
        return scenarios_pb2.StepResponse(height=height, tx_id=tx_id)

    def PrivateStep(self, request: Any, context: Any) -> Any:
        record, height, tx_id, endorsers = self._privacy.step(
            request.kind, request.object, bytes(request.payload)
        )
        return scenarios_pb2.StepResponse(
            height=height,
            tx_id=tx_id,
            object=encode(OBJECT_DOMAIN, 1, record.obj.to_row()),
            signers=endorsers,
        )

    def PrivateState(self, request: Any, context: Any) -> Any:
        return self._privacy.state_response(request.contract, request.object)

    def SyncPrivate(self, request: Any, context: Any) -> Any:
        fetched, missing = self._privacy.sync(request.contract)
        return scenarios_pb2.PrivateSyncResponse(fetched=fetched, missing=missing)

    def PurgePrivate(self, request: Any, context: Any) -> Any:
        purged = self._privacy.purge(request.contract, now_ms())
        return scenarios_pb2.PrivateSyncResponse(purged=purged)

    def Fingerprint(self, request: Any, context: Any) -> Any:
        node = self._node
        state = self._store.state()
        registry = registry_member(state)
        registry_row = get_member(state, registry)
        if registry_row is None or not registry_row.active:
            raise UnavailableError(f"the registry {registry} is not an active member")
        kid, key_row = active_key(state)
        now = now_ms()
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
            raise error_from_rpc(exc, registry) from None
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
