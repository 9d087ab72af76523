"""Talking to a running gateway over its admin socket: status, queries, transactions.

This is what the CLI and operators' scripts use; the socket's protocol is
``riskshare.admin.v1`` (protos/).
"""

from gateway._client import AdminClient, gateway_status, submit_signed_file, submit_transaction
from gateway._screening import BATCH, Fields, screen

__all__ = [
    "BATCH",
    "AdminClient",
    "Fields",
    "gateway_status",
    "screen",
    "submit_signed_file",
    "submit_transaction",
]
