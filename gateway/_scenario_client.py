"""The scenario flows as library calls: what ``riskshare <scenario> ...`` runs.

Each function talks to the member's own gateway over its admin socket (which does the
co-signature collection, the registry evaluation and the submission) or reads the
member's own ledger replica. Business documents are hashed here, on the member's side;
only their hash and the OPRF fingerprints of their normalised fields leave it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from gateway._config import load_config
from gateway._errors import DeadlineError, GatewayError, UnavailableError
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2, scenarios_pb2_grpc
from gateway._scenarios import OBJECT_DOMAIN, encode_payload
from ledger import State, Store, decode, encode
from scenarios import ScenarioError, machine_for
from scenarios.kit import Document, Invoice, Obj
from scenarios.tf import EXACT, SIMILAR

__all__ = [
    "ScenarioClient",
    "StepResult",
    "documents_hash",
    "load_object",
    "read_replica",
    "scf_issue",
    "scf_redeem",
    "step",
    "tf_alerts",
    "tf_check",
    "tf_register",
    "tf_resolve",
]


@dataclass(frozen=True, slots=True)
class StepResult:
    height: int
    tx_id: bytes
    obj: Obj | None
    signers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "tx_id": self.tx_id.hex(),
            "signers": list(self.signers),
            "object": None if self.obj is None else _jsonable(self.obj.to_row()),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
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
            code = exc.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                raise UnavailableError(f"the gateway is unavailable: {exc.details()}") from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise DeadlineError("the gateway did not answer in time") from None
            raise GatewayError(f"{code.name}: {exc.details()}") from None

    def step(
        self,
        kind: str,
        object_id: str,
        payload: dict[str, Any] | None = None,
        cosigners: Sequence[str] = (),
        version: int = -1,
    ) -> StepResult:
        reply = self._call(
            "Step",
            scenarios_pb2.StepRequest(
                kind=kind,
                object=object_id,
                payload=encode_payload(payload or {}),
                cosigners=list(cosigners),
                version=version,
            ),
        )
        raw = bytes(reply.object)
        obj = Obj.from_row(decode(OBJECT_DOMAIN, 1, raw)) if raw else None
        return StepResult(reply.height, bytes(reply.tx_id), obj, tuple(reply.signers))

    def authorize(self, kind: str, object_id: str, ttl_seconds: int = 3600) -> int:
        request = scenarios_pb2.AuthorizeRequest(
            kind=kind, object=object_id, ttl_seconds=ttl_seconds
        )
        return int(self._call("Authorize", request).expires_at_ms)

    def fingerprint(self, family: str, inputs: Sequence[bytes]) -> tuple[list[bytes], str]:
        reply = self._call(
            "Fingerprint", scenarios_pb2.FingerprintRequest(family=family, inputs=list(inputs))
        )
        return [bytes(fp) for fp in reply.fingerprints], str(reply.receipt_id)

    def init_registry(self) -> tuple[bytes, bytes]:
        reply = self._call("InitRegistry", scenarios_pb2.InitRegistryRequest())
        return bytes(reply.public_key), bytes(reply.key_id)


def documents_hash(paths: Sequence[Path]) -> bytes:
    """One hash over the documents, in the order given: the ``doc_hash`` put on the ledger."""
    if not paths:
        raise ScenarioError("name at least one document (--doc)")
    digests = [hashlib.sha256(Path(p).read_bytes()).digest() for p in paths]
    return hashlib.sha256(encode("scenario-documents", 1, digests)).digest()


def step(
    config: Path,
    kind: str,
    object_id: str,
    payload: dict[str, Any] | None = None,
    cosigners: Sequence[str] = (),
) -> StepResult:
    """Any scenario step through the member's gateway (``riskshare scf accept`` ...). With
    no ``cosigners`` the gateway asks whoever the step needs."""
    machine_for(kind)  # an unknown kind fails here, before anything is sent
    with ScenarioClient.from_config(config) as client:
        return client.step(kind, object_id, payload, cosigners)


def scf_issue(
    config: Path,
    cert_id: str,
    *,
    holder: str,
    face: int,
    maturity: str,
    invoice: Invoice,
    documents: Sequence[Path],
) -> StepResult:
    """Issue a receivable certificate backed by ``invoice`` (fingerprinted by the registry)."""
    doc_hash = documents_hash(documents)
    with ScenarioClient.from_config(config) as client:
        fps, receipt = client.fingerprint("invoice", invoice.fingerprint_inputs().exact)
        payload = {
            "holder": holder,
            "face": face,
            "maturity": maturity,
            "invoice_fps": fps,
            "doc_hash": doc_hash,
            "fp_receipt": receipt,
        }
        return client.step("scf.issue", cert_id, payload)


def scf_redeem(config: Path, cert_id: str, *, paying_bank: str, bank_ref: str) -> StepResult:
    """Redeem a certificate for its face amount; the paying bank co-signs."""
    obj = _object(config, "scf", cert_id)
    payload = {"paying_bank": paying_bank, "amount": obj.attrs["face"], "bank_ref": bank_ref}
    return step(config, "scf.redeem", cert_id, payload, [paying_bank])


def _object(config: Path, contract: str, object_id: str) -> Obj:
    from scenarios import all_scenarios

    store = read_replica(config)
    try:
        state = store.state()
        for scenario in all_scenarios():
            for machine in scenario.machines:
                if machine.contract == contract and (obj := machine.get(state, object_id)):
                    return obj
    finally:
        store.close()
    raise ScenarioError(f"no {contract} object {object_id!r} on this replica")


def _fingerprints(
    client: ScenarioClient, invoice: Invoice, others: Sequence[Document]
) -> tuple[list[bytes], list[bytes], str]:
    inputs = invoice.fingerprint_inputs()
    exact = [*inputs.exact, *(x for doc in others for x in doc.fingerprint_inputs().exact)]
    fps, receipt = client.fingerprint("invoice", [*exact, *inputs.similar])
    return fps[: len(exact)], fps[len(exact) :], receipt


def tf_register(
    config: Path,
    reg_id: str,
    *,
    invoice: Invoice,
    others: Sequence[Document] = (),
    expires_on: str,
    documents: Sequence[Path],
) -> StepResult:
    """Register an invoice (and its other documents) before disbursing against it."""
    doc_hash = documents_hash(documents)
    normalised = invoice.normalised()
    with ScenarioClient.from_config(config) as client:
        exact, similar, receipt = _fingerprints(client, invoice, others)
        payload = {
            "fps": exact,
            "sim_fps": similar,
            "amount": normalised.amount,
            "currency": normalised.currency,
            "expires_on": expires_on,
            "doc_hash": doc_hash,
            "fp_receipt": receipt,
        }
        return client.step("tf.register", reg_id, payload)


def tf_check(config: Path, invoice: Invoice, others: Sequence[Document] = ()) -> dict[str, Any]:
    """The optional pre-check: is this invoice already registered, exactly or partly?

    It costs one registry evaluation (recorded like any other) and registers nothing.
    """
    with ScenarioClient.from_config(config) as client:
        exact, similar, _ = _fingerprints(client, invoice, others)
    store = Store(load_config(config).ledger_path, create=False)
    try:
        state = store.state()
        # Exact holders across the financing pool: a certificate the invoice backs
        # (``scf:<id>``) counts like another bank's registration.
        holders = sorted(set(EXACT.conflicts(state, exact, "").holders))
        partial = sorted(set(SIMILAR.matches(state, similar, "")) - set(holders))
        return {
            "duplicate_of": [_brief(state, h) for h in holders],
            "similar_to": [_brief(state, h) for h in partial],
        }
    finally:
        store.close()


def tf_resolve(
    config: Path, alert_id: str, *, outcome: str, arbiter: str | None = None
) -> StepResult:
    """Resolve a duplicate alert: this financier submits, the other (and an arbiter) co-sign."""
    alert = _object(config, "tf", alert_id)
    me = load_config(config).member.id
    cosigners = [m for m in (alert.parties["first"], alert.parties["second"]) if m != me]
    payload: dict[str, Any] = {"outcome": outcome}
    if arbiter:
        payload["arbiter"] = arbiter
        cosigners.append(arbiter)
    return step(config, "tf.resolve_alert", alert_id, payload, cosigners)


def tf_alerts(config: Path, *, open_only: bool = False) -> list[dict[str, Any]]:
    """The duplicate alerts this member is a party to, from its own replica."""
    from scenarios.tf import ALERTS, OPEN

    me = load_config(config).member.id
    store = read_replica(config)
    try:
        return [
            {
                "alert": a.id,
                "state": a.state,
                "match": a.attrs["match"],
                "new": a.attrs["new"],
                "existing": a.attrs["existing"],
                "existing_status": a.attrs["existing_status"],
                "first": a.parties["first"],
                "second": a.parties["second"],
            }
            for a in ALERTS.scan(store.state())
            if me in a.parties.values() and (a.state == OPEN or not open_only)
        ]
    finally:
        store.close()


def _brief(state: State, ref: str) -> dict[str, Any]:
    held = EXACT.describe(state, ref)
    return {"registration": ref, "financier": held.member, "status": held.status}


def read_replica(config: Path) -> Store:
    """The member's own ledger replica, read-only (close it when done)."""
    return Store(load_config(config).ledger_path, create=False)


def load_object(config: Path, kind_or_contract: str, object_id: str) -> dict[str, Any]:
    """An object and its event log from the member's own replica, as JSON-ready data
    (any registered scenario; with its asset's conservation check when it has one)."""
    contract = kind_or_contract.partition(".")[0]
    from scenarios import all_scenarios

    store = read_replica(config)
    try:
        state = store.state()
        for scenario in all_scenarios():
            for machine in scenario.machines:
                if machine.contract != contract:
                    continue
                obj = machine.get(state, object_id)
                if obj is None:
                    continue
                out: dict[str, Any] = _jsonable(obj.to_row())
                out["events"] = [_jsonable(e.to_row()) for e in machine.events(state, object_id)]
                # The conservation check of the object's asset (a certificate's root), for
                # any scenario that declares its conserved-amount ledgers.
                for ledger in scenario.supplies:
                    if ledger.machine is machine:
                        supply = ledger.audit(state, ledger.asset(obj))
                        out[f"{ledger.asset_attr}_supply"] = {
                            "issued": supply.issued,
                            "live": supply.live,
                            "redeemed": supply.retired,
                            "voided": supply.voided,
                        }
                return out
        raise ScenarioError(f"no {contract} object {object_id!r} on this replica")
    finally:
        store.close()
