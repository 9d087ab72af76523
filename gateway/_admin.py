"""``riskshare.admin.v1.Admin``: the member's own tools talking to its own gateway.

Served on a unix socket only the member's account can open. Identifiers arrive here in
clear (they are the member's own) and leave only blinded; answers go back to the
caller and nowhere else.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gateway._errors import GatewayError
from gateway._pb.riskshare.admin.v1 import admin_pb2, admin_pb2_grpc
from psi import Label

if TYPE_CHECKING:
    from gateway._node import Node

__all__ = ["AdminService"]


class AdminService(admin_pb2_grpc.AdminServicer):
    def __init__(self, node: Node) -> None:
        self._node = node

    def Status(self, request: Any, context: Any) -> Any:
        return self._node.status_message()

    def Query(self, request: Any, context: Any) -> Any:
        if not request.list_type or not request.id_type:
            raise GatewayError("list_type and id_type are required")
        if request.members and request.all:
            raise GatewayError("name members or ask all, not both")
        config = self._node.config
        result = self._node.querier.query(
            request.list_type,
            request.id_type,
            list(request.values),
            members=list(request.members),
            purpose=request.purpose or config.query.purpose,
            deadline_ms=request.deadline_ms or config.query.deadline_ms,
            bucket_mode=request.bucket_mode,
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
        self._node.sync_snapshots(list(request.members), time.time_ns() // 1_000_000)
        return admin_pb2.SyncResponse(peers=self._node.peer_status())

    def ReloadIndex(self, request: Any, context: Any) -> Any:
        self._node.recorder.publish()
        return admin_pb2.ReloadResponse(own_lists=self._node.own_lists())


def _label(label: Label | None) -> Any:
    if label is None:
        return admin_pb2.Label(present=False)
    return admin_pb2.Label(
        present=True,
        reason=label.reason,
        listed_month=label.listed_month,
        expires_day=label.expires_day,
    )
