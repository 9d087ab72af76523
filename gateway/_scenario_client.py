"""The scenario flows as library calls: what ``riskshare <scenario> ...`` runs.

One generic client serves every registered scenario; what differs between scenarios is
declared in their modules (schemas, listings, calculators, pre-checks), never written
here. Each function talks to the member's own gateway over its admin socket (which
collects co-signatures, has the registry evaluate fingerprints and submits) or reads
the member's own ledger replica.

:func:`prepare` turns what an operator gives into the payload the ledger checks:

- a ``Documents`` field given as files is hashed here, on the member's side; only the
  hash leaves (:func:`documents_hash`);
- a ``Fingerprints`` field given as a document (:class:`scenarios.kit.Invoice`, or a
  :class:`DocumentSet` with bills of lading) is normalised here and evaluated by the
  registry through the member's gateway: only the OPRF fingerprints and the evaluation's
  id reach the step; fields the schema fills from the document (a registration's amount
  and currency) are taken from the normalised invoice;
- a field left out that names a ``default_attr`` is read from the object on the local
  replica (a redemption pays the face).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from gateway._client import admin_error
from gateway._config import load_config
from gateway._errors import UnavailableError
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2, scenarios_pb2_grpc
from gateway._scenario_tx import encode_legs, encode_payload
from gateway._scenarios import OBJECT_DOMAIN
from ledger import Store, decode
from scenarios import Scenario, ScenarioError, engine_for, get_scenario
from scenarios.kit import (
    Document,
    Documents,
    Fingerprints,
    Invoice,
    Leg,
    Listing,
    Machine,
    Obj,
    Precheck,
    Transition,
    documents_digest,
)

__all__ = [
    "DocumentSet",
    "ScenarioClient",
    "StepResult",
    "documents_hash",
    "jsonable",
    "list_objects",
    "listing",
    "load_object",
    "precheck",
    "prepare",
    "read_replica",
    "step",
    "submit_tx",
    "transition_of",
]


@dataclass(frozen=True, slots=True)
class DocumentSet:
    """A document to fingerprint: an invoice and the other documents of its set."""

    invoice: Invoice
    others: tuple[Document, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class StepResult:
    height: int
    tx_id: bytes
    obj: Obj | None
    signers: tuple[str, ...]
    digest: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "tx_id": self.tx_id.hex(),
            "signers": list(self.signers),
            "digest": self.digest.hex(),
            "object": None if self.obj is None else jsonable(self.obj.to_row()),
        }


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class ScenarioClient:
    """The ``ScenarioAdmin`` service on the member's own gateway."""

    def __init__(self, socket_path: Path, *, timeout: float = 60.0) -> None:
        if not socket_path.exists():
            raise UnavailableError(
                f"no gateway admin socket at {socket_path}; is `riskshare gateway serve` running?"
            )
        self._channel = grpc.insecure_channel(f"unix:{socket_path}")
        self._stub = scenarios_pb2_grpc.ScenarioAdminStub(self._channel)  # type: ignore[no-untyped-call]
        self._timeout = timeout

    @classmethod
    def from_config(cls, config_path: Path) -> ScenarioClient:
        return cls(load_config(config_path).admin_socket)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ScenarioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise admin_error(exc) from None

    def _result(self, reply: Any) -> StepResult:
        raw = bytes(reply.object)
        obj = Obj.from_row(decode(OBJECT_DOMAIN, 1, raw)) if raw else None
        return StepResult(
            reply.height, bytes(reply.tx_id), obj, tuple(reply.signers), bytes(reply.digest)
        )

    def step(
        self,
        kind: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        cosigners: Sequence[str] = (),
        version: int = -1,
    ) -> StepResult:
        request = scenarios_pb2.StepRequest(
            kind=kind,
            object=object_id,
            payload=encode_payload(payload or {}),
            cosigners=list(cosigners),
            version=version,
        )
        return self._result(self._call("Step", request))

    def submit(
        self, contract: str, legs: Sequence[Leg], cosigners: Sequence[str] = ()
    ) -> StepResult:
        """A transaction of several legs (a leg's version -1: as on the gateway's replica)."""
        request = scenarios_pb2.StepRequest(
            kind=f"{contract}.tx", tx=encode_legs(list(legs)), cosigners=list(cosigners)
        )
        return self._result(self._call("Step", request))

    def authorize(
        self,
        kind: str,
        object_id: str = "",
        payload: Mapping[str, Any] | None = None,
        ttl_seconds: int = 3600,
        *,
        legs: Sequence[Leg] = (),
        digest: bytes = b"",
    ) -> tuple[int, bytes]:
        """Approve co-signing one exact transaction; its expiry and digest."""
        request = scenarios_pb2.AuthorizeRequest(
            kind=kind,
            object=object_id,
            ttl_seconds=ttl_seconds,
            payload=encode_payload(payload or {}) if not legs and not digest else b"",
            tx=encode_legs(list(legs)) if legs else b"",
            digest=digest,
        )
        reply = self._call("Authorize", request)
        return int(reply.expires_at_ms), bytes(reply.digest)

    def fingerprint(self, family: str, inputs: Sequence[bytes]) -> tuple[list[bytes], str]:
        reply = self._call(
            "Fingerprint", scenarios_pb2.FingerprintRequest(family=family, inputs=list(inputs))
        )
        return [bytes(fp) for fp in reply.fingerprints], str(reply.receipt_id)

    def watch(
        self, contract: str, from_height: int = 0, *, follow: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The events of objects this member is a party to, from ``from_height``."""
        request = scenarios_pb2.WatchRequest(
            contract=contract, from_height=from_height, follow=follow
        )
        try:
            # A follower waits as long as the caller reads; no deadline.
            for event in self._stub.WatchEvents(request, timeout=None if follow else self._timeout):
                yield {
                    "height": event.height,
                    "type": event.type,
                    "object": event.object,
                    "version": event.version,
                    "transition": event.transition,
                    "state": event.state,
                    "members": list(event.members),
                    "signers": list(event.signers),
                }
        except grpc.RpcError as exc:
            raise admin_error(exc) from None

    def observe(self, contract: str, series: str, as_of: str, value: int, scale: int) -> StepResult:
        request = scenarios_pb2.ObserveRequest(
            contract=contract, series=series, as_of=as_of, value=value, scale=scale
        )
        return self._result(self._call("Observe", request))

    def private_step(
        self, kind: str, object_id: str, payload: Mapping[str, Any] | None = None
    ) -> StepResult:
        """A confidential object's step: proposed, endorsed by the parties, committed."""
        request = scenarios_pb2.StepRequest(
            kind=kind, object=object_id, payload=encode_payload(payload or {})
        )
        return self._result(self._call("PrivateStep", request))

    def private_state(self, contract: str, object_id: str) -> dict[str, Any]:
        reply = self._call(
            "PrivateState", scenarios_pb2.PrivateStateRequest(contract=contract, object=object_id)
        )
        obj = Obj.from_row(decode(OBJECT_DOMAIN, 1, bytes(reply.object)))
        out: dict[str, Any] = jsonable(obj.to_row())
        out["confidential"] = {
            "hid": bytes(reply.hid).hex(),
            "held_version": int(reply.version),
            "ledger_version": int(reply.ledger_version),
        }
        return out

    def sync_private(self, contract: str) -> tuple[int, list[str]]:
        reply = self._call("SyncPrivate", scenarios_pb2.PrivateSyncRequest(contract=contract))
        return int(reply.fetched), list(reply.missing)

    def purge_private(self, contract: str) -> int:
        reply = self._call("PurgePrivate", scenarios_pb2.PrivateSyncRequest(contract=contract))
        return int(reply.purged)

    def init_registry(self) -> tuple[bytes, bytes]:
        reply = self._call("InitRegistry", scenarios_pb2.InitRegistryRequest())
        return bytes(reply.public_key), bytes(reply.key_id)


def documents_hash(paths: Sequence[Path]) -> bytes:
    """One hash over the documents, in the order given: the hash put on the ledger."""
    if not paths:
        raise ScenarioError("name at least one document (--doc)")
    return documents_digest([hashlib.sha256(Path(p).read_bytes()).digest() for p in paths])


def read_replica(config: Path) -> Store:
    """The member's own ledger replica, read-only (close it when done)."""
    return Store(load_config(config).ledger_path, create=False)


def transition_of(kind: str) -> tuple[Scenario, Transition]:
    """The registered scenario and transition of ``<scenario>.<transition>``."""
    scenario, machine = _machine_of(kind)
    return scenario, machine.transitions[kind.partition(".")[2]]


def _machine_of(kind: str) -> tuple[Scenario, Machine]:
    contract, _, name = kind.partition(".")
    scenario = get_scenario(contract)
    try:
        return scenario, engine_for(contract).machine_of(name)
    except Exception:
        raise ScenarioError(f"{kind!r} is not a step of any registered scenario") from None


def _document_inputs(spec: Fingerprints, value: Any) -> tuple[Invoice, list[bytes], list[bytes]]:
    documents = value if isinstance(value, DocumentSet) else DocumentSet(value)
    if not isinstance(documents.invoice, Invoice):
        raise ScenarioError("a fingerprinted field is given as its invoice")
    inputs = documents.invoice.fingerprint_inputs()
    exact = [
        *inputs.exact,
        *(x for doc in documents.others for x in doc.fingerprint_inputs().exact),
    ]
    similar = list(inputs.similar) if spec.similar else []
    return documents.invoice, exact, similar


def prepare(
    config: Path,
    kind: str,
    object_id: str,
    inputs: Mapping[str, Any],
    client: ScenarioClient | None = None,
) -> dict[str, Any]:
    """The payload of a step from what the operator gave (see the module docstring)."""
    scenario, t = transition_of(kind)
    payload = dict(inputs)
    for name, spec in t.schema.fields.items():
        value = payload.get(name)
        if isinstance(spec, Documents) and isinstance(value, list | tuple):
            payload[name] = documents_hash([Path(p) for p in value])
        elif isinstance(spec, Fingerprints) and isinstance(value, Invoice | DocumentSet):
            invoice, exact, similar = _document_inputs(spec, value)
            if client is None:
                with ScenarioClient.from_config(config) as own:
                    fps, receipt = own.fingerprint(spec.family, [*exact, *similar])
            else:
                fps, receipt = client.fingerprint(spec.family, [*exact, *similar])
            payload[name] = {
                "exact": fps[: len(exact)],
                "similar": fps[len(exact) :],
                "receipt": receipt,
            }
            normalised = invoice.normalised()
            for target, source in spec.fills.items():
                payload[target] = getattr(normalised, source)
        elif (
            isinstance(spec, Fingerprints)
            and value is not None
            and hasattr(value, "fingerprint_inputs")
        ):
            # A declared document kind (an insured loss): its own inputs, evaluated alike.
            evaluated = value.fingerprint_inputs()
            asked = [*evaluated.exact, *evaluated.similar]
            if client is None:
                with ScenarioClient.from_config(config) as own:
                    fps, receipt = own.fingerprint(spec.family, asked)
            else:
                fps, receipt = client.fingerprint(spec.family, asked)
            payload[name] = {
                "exact": fps[: len(evaluated.exact)],
                "similar": fps[len(evaluated.exact) :],
                "receipt": receipt,
            }
        elif value is None and spec.default_attr and name not in payload:
            obj = _object(config, scenario.name, object_id)
            payload[name] = obj.attrs[spec.default_attr]
    return payload


def step(
    config: Path,
    kind: str,
    object_id: str,
    inputs: Mapping[str, Any] | None = None,
    cosigners: Sequence[str] = (),
) -> StepResult:
    """Any scenario step through the member's gateway (``riskshare scf accept`` ...). With
    no ``cosigners`` the gateway asks whoever the step needs; a confidential object's
    step is endorsed by its parties instead."""
    _, machine = _machine_of(kind)  # an unknown kind fails here, before anything is sent
    with ScenarioClient.from_config(config) as client:
        payload = prepare(config, kind, object_id, inputs or {}, client)
        if machine.confidential is not None:
            return client.private_step(kind, object_id, payload)
        return client.step(kind, object_id, payload, cosigners)


def submit_tx(
    config: Path, contract: str, legs: Sequence[Leg], cosigners: Sequence[str] = ()
) -> StepResult:
    """A transaction of several legs through the member's gateway."""
    engine_for(contract)
    with ScenarioClient.from_config(config) as client:
        return client.submit(contract, legs, cosigners)


def _object(config: Path, contract: str, object_id: str) -> Obj:
    store = read_replica(config)
    try:
        state = store.state()
        for machine in get_scenario(contract).machines:
            found = machine.get(state, object_id)
            if found is not None:
                return found
    finally:
        store.close()
    raise ScenarioError(f"no {contract} object {object_id!r} on this replica")


def load_object(config: Path, contract: str, object_id: str) -> dict[str, Any]:
    """An object and its event log from the member's own replica, as JSON-ready data
    (with its instrument's conservation check when the scenario declares one)."""
    scenario = get_scenario(contract.partition(".")[0])
    store = read_replica(config)
    try:
        state = store.state()
        for machine in scenario.machines:
            obj = machine.get(state, object_id)
            if obj is None:
                continue
            out: dict[str, Any] = jsonable(obj.to_row())
            out["events"] = [jsonable(e.to_row()) for e in machine.events(state, object_id)]
            for supplies in scenario.supplies:
                if supplies.machine is machine:
                    instrument = supplies.instrument(obj)
                    out[f"{supplies.instrument_attr}_supply"] = supplies.audit(state, instrument)
            return out
    finally:
        store.close()
    if any(m.confidential is not None for m in scenario.machines):
        # Not on the shared ledger: as this member holds it, if it is a party.
        with ScenarioClient.from_config(config) as client:
            return client.private_state(scenario.name, object_id)
    raise ScenarioError(f"no {scenario.name} object {object_id!r} on this replica")


def _objects(
    state: Any, scenario: Scenario, types: Sequence[str], states: frozenset[str], party: str | None
) -> Iterator[Obj]:
    for machine in scenario.machines:
        if types and machine.type not in types:
            continue
        for obj in machine.scan(state):
            if states and obj.state not in states:
                continue
            if party is not None and party not in obj.members():
                continue
            yield obj


def list_objects(
    config: Path,
    contract: str,
    *,
    types: Sequence[str] = (),
    states: Sequence[str] = (),
    mine: bool = True,
) -> list[dict[str, Any]]:
    """Objects by type, state and party from the member's own replica ("my open ...")."""
    scenario = get_scenario(contract)
    me = load_config(config).member.id if mine else None
    store = read_replica(config)
    try:
        found = _objects(store.state(), scenario, types, frozenset(states), me)
        return [
            {
                "type": o.type,
                "id": o.id,
                "state": o.state,
                "version": o.version,
                "parties": dict(o.parties),
                "sets": {r: list(s.members) for r, s in o.sets.items()},
            }
            for o in found
        ]
    finally:
        store.close()


def listing(config: Path, declared: Listing, flags: Sequence[str] = ()) -> list[dict[str, Any]]:
    """A scenario's declared listing (``riskshare tf alerts --open``)."""
    states: frozenset[str] = frozenset().union(*(declared.flags[f] for f in flags))
    me = load_config(config).member.id
    store = read_replica(config)
    try:
        return [
            declared.row(obj)
            for obj in declared.machine.scan(store.state())
            if me in obj.members() and (not states or obj.state in states)
        ]
    finally:
        store.close()


def precheck(config: Path, declared: Precheck, document: Invoice | DocumentSet) -> dict[str, Any]:
    """Which registrations hold a document, exactly or partly: one metered evaluation by
    the registry, nothing registered."""
    contract = declared.registry.contract
    _, t = transition_of(f"{contract}.{declared.transition}")
    spec = t.schema.fields[declared.field]
    assert isinstance(spec, Fingerprints)
    _, exact, similar = _document_inputs(spec, document)
    with ScenarioClient.from_config(config) as client:
        fps, _ = client.fingerprint(spec.family, [*exact, *similar])
    store = read_replica(config)
    try:
        state = store.state()
        # Exact holders across the registry's pool: another scenario's holder
        # (``scf:<id>``) counts like one of this scenario's.
        holders = sorted(set(declared.registry.conflicts(state, fps[: len(exact)], "").holders))
        partial: list[str] = []
        if declared.similar is not None:
            partial = sorted(
                set(declared.similar.matches(state, fps[len(exact) :], "")) - set(holders)
            )
        ref, member, status = declared.keys

        def brief(held: str) -> dict[str, str]:
            found = declared.registry.describe(state, held)
            return {ref: held, member: found.member, status: found.status}

        return {
            "duplicate_of": [brief(h) for h in holders],
            "similar_to": [brief(h) for h in partial],
        }
    finally:
        store.close()
