"""Talking to the member's own running gateway over its admin socket.

The CLI's ``query``, ``gateway status`` and ``gateway submit`` commands, and the
governance, feedback, dispute and canary commands that submit, are thin wrappers over
these functions; they open the unix socket named by the config, which only the
member's own account can open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from gateway._config import load_config
from gateway._errors import DeadlineError, GatewayError, UnavailableError
from gateway._pb.riskshare.admin.v1 import admin_pb2
from gateway._status import error_from_rpc
from gateway._stubs import ADMIN_BODY_DOMAIN, admin_stub
from ledger import encode

__all__ = [
    "AdminClient",
    "Submitted",
    "TransactionRefused",
    "gateway_status",
    "submit_signed_file",
    "submit_transaction",
]


class TransactionRefused(GatewayError):
    """The orderer or the ledger refused a transaction; the message is the ledger's reason."""


@dataclass(frozen=True, slots=True)
class Submitted:
    """A transaction the ledger committed: its id and the height of its block."""

    tx_id: str
    height: int


class AdminClient:
    def __init__(self, socket_path: Path, *, timeout: float = 30.0) -> None:
        if not socket_path.exists():
            raise UnavailableError(
                f"no gateway admin socket at {socket_path}; is `riskshare gateway serve` running?"
            )
        self._channel = grpc.insecure_channel(f"unix:{socket_path}")
        self._stub = admin_stub(self._channel)
        self._timeout = timeout

    @classmethod
    def from_config(cls, config_path: Path, *, timeout: float = 30.0) -> AdminClient:
        return cls(load_config(config_path).admin_socket, timeout=timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=timeout or self._timeout)
        except grpc.RpcError as exc:
            raise admin_error(exc) from None

    def status(self) -> Any:
        return self._call("Status", admin_pb2.StatusRequest())

    def query(
        self,
        list_type: str,
        id_type: str,
        values: Sequence[str],
        *,
        members: Sequence[str] = (),
        purpose: str = "",
        deadline_ms: int = 0,
        bucket_mode: bool = False,
        legal_basis: str = "",
        consent_ref: str = "",
    ) -> Any:
        request = admin_pb2.QueryRequest(
            list_type=list_type,
            id_type=id_type,
            values=list(values),
            members=list(members),
            all=not members,
            purpose=purpose,
            deadline_ms=deadline_ms,
            bucket_mode=bucket_mode,
            legal_basis=legal_basis,
            consent_ref=consent_ref,
        )
        budget = (deadline_ms or 5000) / 1000 * 4 + 30
        return self._call("Query", request, timeout=budget)

    def sync(self, members: Sequence[str] = ()) -> Any:
        return self._call("SyncSnapshots", admin_pb2.SyncRequest(members=list(members)), 300)

    def reload(self) -> Any:
        return self._call("ReloadIndex", admin_pb2.ReloadRequest())

    def submit(
        self, kind: str, body: Mapping[str, Any], *, wait: bool = True, timeout_ms: int = 30_000
    ) -> Any:
        """Have the gateway sign ``kind``/``body`` with its key and submit it."""
        request = admin_pb2.SubmitRequest(
            kind=kind,
            body=encode(*ADMIN_BODY_DOMAIN, dict(body)),
            wait=wait,
            timeout_ms=timeout_ms,
        )
        return self._call("Submit", request, timeout=timeout_ms / 1000 + 10)

    def submit_signed(self, raw: bytes, *, wait: bool = True, timeout_ms: int = 30_000) -> Any:
        """Hand a transaction signed elsewhere to the orderer through the gateway."""
        request = admin_pb2.SubmitSignedRequest(transaction=raw, wait=wait, timeout_ms=timeout_ms)
        return self._call("SubmitSigned", request, timeout=timeout_ms / 1000 + 10)


def _committed(reply: Any) -> Submitted:
    tx = bytes(reply.tx_id).hex()
    if not reply.accepted:
        raise TransactionRefused(f"refused: {reply.reason or 'no reason given'}")
    if not reply.in_block:
        raise DeadlineError(f"transaction {tx[:16]} is queued but not in a block yet")
    if not reply.ok:
        raise TransactionRefused(f"refused in block {reply.height}: {reply.reason}")
    return Submitted(tx, int(reply.height))


def submit_transaction(config_path: Path, kind: str, body: Mapping[str, Any]) -> Submitted:
    """Sign and submit through the member's gateway; wait for its block.

    Raises :class:`TransactionRefused` with the ledger's reason when it is refused.
    """
    with AdminClient.from_config(config_path, timeout=60) as client:
        return _committed(client.submit(kind, body))


def submit_signed_file(config_path: Path, path: Path) -> Submitted:
    """Submit a signed transaction file (``--out`` of the signing commands) as it is."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GatewayError(f"cannot read {path}: {exc.strerror}") from None
    with AdminClient.from_config(config_path, timeout=60) as client:
        return _committed(client.submit_signed(raw))


def _snapshot(row: Any) -> dict[str, Any]:
    return {
        "list_type": row.list_type,
        "epoch": row.epoch,
        "size": row.size,
        "verified": row.verified,
    }


def gateway_status(config_path: Path) -> dict[str, Any]:
    with AdminClient.from_config(config_path) as client:
        reply = client.status()
    backlog = reply.backlog
    return {
        "member_id": reply.member_id,
        "role": reply.role,
        "ledger_height": reply.ledger_height,
        "ledger_head": reply.ledger_head.hex(),
        "workers": reply.workers,
        "normaliser_version": reply.normaliser_version,
        "dashboard_url": reply.dashboard_url,
        "backlog": {
            "pending": backlog.pending,
            "submitted": backlog.submitted,
            "refused": backlog.refused,
            "committed": backlog.committed,
            "oldest_ms": backlog.oldest_ms or None,
            "hit_reports": backlog.hit_reports,
        },
        "own_lists": [_snapshot(r) for r in reply.own_lists],
        "peers": [
            {
                "member_id": p.member_id,
                "address": p.address,
                "snapshots": [_snapshot(s) for s in p.snapshots],
            }
            for p in reply.peers
        ],
    }


def admin_error(exc: grpc.RpcError) -> GatewayError:
    """``error_from_rpc`` for the member's own gateway: the status leads the message,
    as the CLI prints it."""
    error = error_from_rpc(exc, "the gateway")
    if error.code not in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
        text = str(error).removeprefix("the gateway refused: ")
        error.args = (f"{error.code}: {text}",)
    return error
