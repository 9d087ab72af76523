"""Errors of the etcd ordering log; all derive from `OrderingLogError` (so from
`LedgerError`) through `EtcdLogError`.

No grpc exception leaves the etcd modules: `ledger._etcd_client` translates each one, in
one place, into a subclass below (or into a retry on another member).
"""

from __future__ import annotations

from ledger._ordering import OrderingLogError

__all__ = [
    "EtcdLogError",
    "HeightCompacted",
    "HeightGap",
    "OrderingRejected",
    "OrderingUnavailable",
]


class EtcdLogError(OrderingLogError):
    """Base class of every error raised by the etcd ordering log and its cluster launcher."""


class OrderingUnavailable(EtcdLogError):
    """No etcd member answered within the operation's deadline.

    From `append`, this means the outcome is unknown: the block may or may not be stored
    at that height. Read the height back (`get`) once the cluster answers again.
    """


class OrderingRejected(EtcdLogError):
    """etcd refused the request and retrying cannot help (too large, permission, quota)."""


class HeightCompacted(EtcdLogError):
    """A height below the sliding window was asked for; fetch it from a replica instead."""

    def __init__(self, height: int, floor: int) -> None:
        super().__init__(f"height {height} was compacted out of etcd; its window starts at {floor}")
        self.height = height
        self.floor = floor


class HeightGap(EtcdLogError):
    """An append above `last_height() + 1`: heights are written in order, without gaps."""
