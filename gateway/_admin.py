"""``riskshare.admin.v1.Admin``: the member's own tools talking to its own gateway.

Served on a unix socket only the member's account can open. Identifiers arrive here in
clear (they are the member's own) and leave only blinded; answers go back to the
caller and nowhere else.

``Submit`` signs a transaction with the gateway's own ledger key and sequence numbers
(the same :class:`gateway._ledger_client.TxSubmitter` the recorder uses, so numbers
never collide) and hands it to the orderer; ``SubmitSigned`` forwards one signed
elsewhere. Either answers with the committed height or the refusal reason; a refusal
is an answer, not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway._dashboard import URL_FILE
from gateway._errors import InvalidRequestError
from gateway._ledger_client import Committed
from gateway._pb.riskshare.admin.v1 import admin_pb2, admin_pb2_grpc
from gateway._stubs import ADMIN_BODY_DOMAIN
from ledger import LedgerError, decode, get_member, now_ms
from psi import Label
from token_incentive import CANARY_PURPOSE

if TYPE_CHECKING:
    from gateway._node import Node

__all__ = ["AdminService"]

_MAX_TIMEOUT_S = 120.0


class AdminService(admin_pb2_grpc.AdminServicer):
    def __init__(self, node: Node) -> None:
        self._node = node

    def Status(self, request: Any, context: Any) -> Any:
        node = self._node
        message = node.status_message()
        counts = node.local.counts()
        reports = node.local.hit_report_counts()
        message.backlog.CopyFrom(
            admin_pb2.Backlog(
                pending=counts.get("pending", 0),
                submitted=counts.get("submitted", 0),
                refused=counts.get("refused", 0),
                committed=counts.get("committed", 0),
                oldest_ms=node.local.oldest_unrecorded_ms() or 0,
                hit_reports=reports.get("waiting", 0) + reports.get("submitted", 0),
            )
        )
        member = get_member(node.store.state(), node.member_id)
        message.role = member.role if member is not None else ""
        url_file = node.config.member.data_dir / URL_FILE
        try:
            message.dashboard_url = url_file.read_text(encoding="utf-8").strip()
        except OSError:
            message.dashboard_url = ""
        return message

    def Query(self, request: Any, context: Any) -> Any:
        if not request.list_type or not request.id_type:
            raise InvalidRequestError("list_type and id_type are required")
        if request.members and request.all:
            raise InvalidRequestError("name members or ask all, not both")
        config = self._node.config
        purpose = request.purpose or config.query.purpose
        if not request.purpose:
            # An observer may only probe for canaries: that is its default purpose.
            me = get_member(self._node.store.state(), self._node.member_id)
            if me is not None and me.role == "observer":
                purpose = CANARY_PURPOSE
        result = self._node.querier.query(
            request.list_type,
            request.id_type,
            list(request.values),
            members=list(request.members),
            purpose=purpose,
            deadline_ms=request.deadline_ms or config.query.deadline_ms,
            bucket_mode=request.bucket_mode,
            legal_basis=request.legal_basis or config.query.legal_basis,
            consent_ref=request.consent_ref or None,
        )
        return admin_pb2.QueryResponse(
            answers=[
                admin_pb2.MemberAnswer(
                    member_id=a.member_id,
                    hits=list(a.hits),
                    error_code=a.error_code,
                    error=a.error,
                    receipt=a.receipt_id.encode(),
                    epoch=a.epoch,
                    labels=[_label(lab) for lab in a.labels],
                    attempts=a.attempts,
                    refunded=a.refund_pending,
                )
                for a in result.answers
            ],
            rejected=[admin_pb2.Rejected(index=i, reason=r) for i, r in result.rejected],
            accepted=len(result.accepted),
        )

    def SyncSnapshots(self, request: Any, context: Any) -> Any:
        self._node.sync_snapshots(list(request.members), now_ms())
        return admin_pb2.SyncResponse(peers=self._node.peer_status())

    def ReloadIndex(self, request: Any, context: Any) -> Any:
        self._node.recorder.publish()
        return admin_pb2.ReloadResponse(own_lists=self._node.own_lists())

    def Submit(self, request: Any, context: Any) -> Any:
        if not request.kind:
            raise InvalidRequestError("a transaction kind is required")
        try:
            body = decode(*ADMIN_BODY_DOMAIN, bytes(request.body))
        except LedgerError as exc:
            raise InvalidRequestError(f"the body is not a canonical admin body: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidRequestError("a transaction body is a map")
        result = self._node.submitter.submit(
            request.kind, body, wait=request.wait, timeout=_timeout(request.timeout_ms)
        )
        return _submitted(result)

    def SubmitSigned(self, request: Any, context: Any) -> Any:
        raw = bytes(request.transaction)
        if not raw:
            raise InvalidRequestError("no transaction given")
        link = self._node.submitter.link
        timeout = _timeout(request.timeout_ms)
        result = link.submit(raw, wait=False, timeout=timeout)
        if request.wait and result.accepted and result.height is None:
            result = link.submit(raw, wait=True, timeout=timeout)
        return _submitted(result)


def _timeout(timeout_ms: int) -> float:
    return min(_MAX_TIMEOUT_S, timeout_ms / 1000) if timeout_ms else 15.0


def _submitted(result: Committed) -> Any:
    return admin_pb2.SubmitResponse(
        tx_id=result.tx_id,
        accepted=result.accepted,
        in_block=result.height is not None,
        height=result.height or 0,
        ok=result.ok,
        reason=result.reason,
    )


def _label(label: Label | None) -> Any:
    if label is None:
        return admin_pb2.Label(present=False)
    return admin_pb2.Label(
        present=True,
        reason=label.reason,
        listed_month=label.listed_month,
        expires_day=label.expires_day,
    )
