"""The etcd ordering log: an etcd v3 cluster as the ledger's total-order log of blocks.

Rules this module keeps:

- Layout (`ledger._etcd_keys`): one prefix per consortium; block `h` at a key whose byte
  order is height order; a floor key holding the lowest height still kept.
- A height is written once, and in order. `append` is one Txn: if the height key was
  never created, the height is at or above the floor and the height below it exists,
  put the block; otherwise read what is there. A height below the floor was written
  once and then compacted, so it counts as taken; a free height whose predecessor is
  missing is refused with `HeightGap`, so the log never has holes and a watcher never
  waits on a height nobody will write.
- An ambiguous append (the request may have reached etcd but no answer came back) is
  resolved by reading the height back on another member: our exact bytes mean this call
  wrote them; other bytes mean another writer won; nothing means no attempt has landed
  yet, and the compare-and-put is sent again. Sending it again is safe: whichever of our
  attempts lands first wins and every later one fails its compare, so the height is
  still written once. Reads retry until the cluster answers or the deadline passes, then
  `OrderingUnavailable` says the outcome is unknown.
- `watch` yields every height from `from_height` on, in order and each once. It reads the
  heights already stored with range reads at one revision, then follows an etcd Watch
  from the next revision. (Heights are committed in order, but the watcher still holds
  any that arrive early until the one before them is in, so what it yields is
  contiguous whatever the transport does.) When the member it follows dies, it reconnects
  to another and resumes from the last revision it saw; when that revision has been
  compacted, it falls back to range reads. Heights below the floor raise
  `HeightCompacted`: a replica must get those from a peer's SQLite copy.
- `seed(h, block)` starts an empty log at height `h` (disaster recovery: etcd lost with
  no snapshot); it is refused unless the log holds no height at all.
- `compact(k)` moves the floor to `k` and deletes the heights below it in one Txn, then
  compacts etcd's revision history up to that Txn. The floor only rises and never passes
  `last_height()`: the head block always stays, so `last_height` keeps its answer and a
  new watcher always has something to start from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from ledger._etcd_client import EtcdClient, EtcdTLS, _Compacted, _Transient
from ledger._etcd_errors import (
    EtcdLogError,
    HeightCompacted,
    HeightGap,
    OrderingUnavailable,
)
from ledger._etcd_keys import KeyLayout, check_height, decode_floor, encode_height
from ledger._etcdpb import kv_pb2, rpc_pb2

__all__ = ["EtcdLog", "EtcdLogStats"]

_CMP = rpc_pb2.Compare


def _floor_of(kvs: Sequence[kv_pb2.KeyValue]) -> int:
    return decode_floor(bytes(kvs[0].value) if kvs else None)


@dataclass(slots=True)
class EtcdLogStats:
    """Counters for operators and tests: how often the slow paths ran."""

    ambiguous_appends: int = 0
    watch_reconnects: int = 0
    watch_compacted_fallbacks: int = 0


@dataclass(slots=True)
class _Cursor:
    next_height: int
    revision: int | None  # every event up to this revision has been seen
    pending: dict[int, bytes]

    def ready(self, stop: threading.Event) -> Iterator[tuple[int, bytes]]:
        while self.next_height in self.pending and not stop.is_set():
            h = self.next_height
            self.next_height += 1
            yield h, self.pending.pop(h)

    def offer(self, height: int, value: bytes) -> None:
        if height >= self.next_height:
            self.pending[height] = value


class EtcdLog:
    """The `OrderingLog` protocol on an etcd v3 cluster (see the module docstring)."""

    def __init__(
        self,
        endpoints: Sequence[str],
        namespace: str,
        *,
        tls: EtcdTLS | None = None,
        call_timeout: float = 2.0,
        op_timeout: float = 10.0,
        page_size: int = 32,
    ) -> None:
        self.layout = KeyLayout(namespace)
        self._client = EtcdClient(
            endpoints, tls=tls, call_timeout=call_timeout, op_timeout=op_timeout
        )
        self._page = max(1, page_size)
        self._floor_ready = False
        self.stats = EtcdLogStats()

    @property
    def failovers(self) -> int:
        return self._client.failovers

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> EtcdLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------

    def _ensure_floor(self) -> None:
        """Create the floor key (value 0) once, so `append` can compare against it."""
        if self._floor_ready:
            return
        key = self.layout.floor_key
        self._client.txn(
            rpc_pb2.TxnRequest(
                compare=[_CMP(key=key, target=_CMP.CREATE, result=_CMP.EQUAL, create_revision=0)],
                success=[
                    rpc_pb2.RequestOp(
                        request_put=rpc_pb2.PutRequest(key=key, value=encode_height(0))
                    )
                ],
            ),
            self._client.deadline(),
        )
        self._floor_ready = True

    def append(self, height: int, block: bytes) -> bool:
        """Write `block` at `height` unless the height is taken; True if this call wrote it.

        Raises `HeightGap` when `height - 1` was never written, and `OrderingUnavailable`
        when the cluster stays unreachable past the deadline (outcome unknown).
        """
        check_height(height)
        if not isinstance(block, bytes):
            raise EtcdLogError("block must be bytes")
        self._ensure_floor()
        key = self.layout.height_key(height)
        compare = [
            _CMP(key=key, target=_CMP.CREATE, result=_CMP.EQUAL, create_revision=0),
            # floor < height + 1, i.e. the height is inside the window (bytewise order
            # of 20-digit values is numeric order).
            _CMP(
                key=self.layout.floor_key,
                target=_CMP.VALUE,
                result=_CMP.LESS,
                value=encode_height(height + 1),
            ),
        ]
        failure = [
            rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key)),
            rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=self.layout.floor_key)),
        ]
        if height > 0:
            # No gaps: the height below must exist. It cannot have been compacted away
            # while `height` is free, because compaction always keeps the head.
            below = self.layout.height_key(height - 1)
            compare.append(
                _CMP(key=below, target=_CMP.CREATE, result=_CMP.GREATER, create_revision=0)
            )
        request = rpc_pb2.TxnRequest(
            compare=compare,
            success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=block))],
            failure=failure,
        )
        deadline = self._client.deadline()
        in_doubt = False
        while True:
            try:
                response = self._client.txn_once(request, deadline)
            except _Transient:
                in_doubt = True
                self.stats.ambiguous_appends += 1
                held = self._get(key, deadline)
                if held is not None:
                    return held == block
                continue
            if response.succeeded:
                return True
            kvs = response.responses[0].response_range.kvs
            if kvs:
                # Our bytes after a lost answer mean an earlier attempt of ours landed.
                return in_doubt and kvs[0].value == block
            if height < _floor_of(response.responses[1].response_range.kvs):
                return False  # below the floor: written once, then compacted away
            raise HeightGap(f"height {height - 1} holds nothing; append at the next height")

    def seed(self, height: int, block: bytes) -> bool:
        """Start an empty log at `height` (floor and first block), e.g. after losing etcd.

        For disaster recovery only: when the etcd cluster was lost with no snapshot to
        restore, seed it with a replica's head block so ordering continues from there.
        Refused (False) unless the log holds no height at all, in one Txn; True if the
        log now starts with exactly `block` at `height`.
        """
        check_height(height)
        if not isinstance(block, bytes):
            raise EtcdLogError("block must be bytes")
        key = self.layout.height_key(height)
        empty = _CMP(
            key=self.layout.heights_start,
            range_end=self.layout.heights_end,
            target=_CMP.CREATE,
            result=_CMP.EQUAL,
            create_revision=0,
        )
        floor = rpc_pb2.PutRequest(key=self.layout.floor_key, value=encode_height(height))
        request = rpc_pb2.TxnRequest(
            compare=[empty],
            success=[
                rpc_pb2.RequestOp(request_put=floor),
                rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=block)),
            ],
        )
        deadline = self._client.deadline()
        # Safe to repeat: once seeded the log is not empty, so a second attempt changes
        # nothing, and reading the height back tells whether the seed is ours.
        if self._client.txn(request, deadline).succeeded:
            self._floor_ready = True
            return True
        return self._get(key, deadline) == block and self.floor() == height

    def compact(self, keep_from_height: int) -> None:
        """Delete heights below `keep_from_height` (never the head) and compact history."""
        check_height(keep_from_height)
        self._ensure_floor()
        keep = min(keep_from_height, self.last_height())
        if keep <= 0:
            return
        floor_key = self.layout.floor_key
        request = rpc_pb2.TxnRequest(
            compare=[
                _CMP(key=floor_key, target=_CMP.VALUE, result=_CMP.LESS, value=encode_height(keep))
            ],
            success=[
                rpc_pb2.RequestOp(
                    request_put=rpc_pb2.PutRequest(key=floor_key, value=encode_height(keep))
                ),
                rpc_pb2.RequestOp(
                    request_delete_range=rpc_pb2.DeleteRangeRequest(
                        key=self.layout.heights_start, range_end=self.layout.height_key(keep)
                    )
                ),
            ],
        )
        deadline = self._client.deadline()
        # Repeating this Txn is harmless: once the floor is at `keep`, its compare fails.
        response = self._client.txn(request, deadline)
        self._client.compact(response.header.revision, deadline)

    # -- reads -------------------------------------------------------------------------

    def _get(self, key: bytes, deadline: float) -> bytes | None:
        kvs = self._client.range(rpc_pb2.RangeRequest(key=key), deadline).kvs
        return bytes(kvs[0].value) if kvs else None

    def get(self, height: int) -> bytes | None:
        """The block at `height`, or None if it was never written or has been compacted."""
        return self._get(self.layout.height_key(height), self._client.deadline())

    def floor(self) -> int:
        """The lowest height etcd still keeps (heights below it were compacted)."""
        deadline = self._client.deadline()
        kvs = self._client.range(rpc_pb2.RangeRequest(key=self.layout.floor_key), deadline).kvs
        return _floor_of(kvs)

    def last_height(self) -> int:
        """The highest height written (-1 when nothing ever was)."""
        deadline = self._client.deadline()
        while True:
            # One read-only Txn (one revision): the floor and how many heights are held.
            # Counting touches only etcd's in-memory index; a descending range would make
            # etcd load every block in the window.
            snapshot = self._client.txn(
                rpc_pb2.TxnRequest(
                    success=[
                        rpc_pb2.RequestOp(
                            request_range=rpc_pb2.RangeRequest(key=self.layout.floor_key)
                        ),
                        rpc_pb2.RequestOp(
                            request_range=rpc_pb2.RangeRequest(
                                key=self.layout.heights_start,
                                range_end=self.layout.heights_end,
                                count_only=True,
                            )
                        ),
                    ]
                ),
                deadline,
            )
            floor = _floor_of(snapshot.responses[0].response_range.kvs)
            count = snapshot.responses[1].response_range.count
            if count == 0:
                return floor - 1
            # Heights held all sit at or above the floor and have no gaps, so the last one
            # is floor + count - 1. The range below checks that rather than trusting it:
            # it would also find keys above the candidate if a foreign writer left gaps.
            candidate = floor + count - 1
            try:
                tail = self._client.range(
                    rpc_pb2.RangeRequest(
                        key=self.layout.height_key(candidate),
                        range_end=self.layout.heights_end,
                        keys_only=True,
                        revision=snapshot.header.revision,
                    ),
                    deadline,
                )
            except _Compacted:
                continue  # that revision was compacted in between: take a new snapshot
            if not tail.kvs:
                raise EtcdLogError("etcd holds heights below the floor; the log is corrupt")
            return self.layout.height_of(tail.kvs[-1].key)

    # -- watch -------------------------------------------------------------------------

    def watch(self, from_height: int, stop: threading.Event) -> Iterator[tuple[int, bytes]]:
        """Every height >= `from_height`, in order, until `stop` is set."""
        check_height(from_height)
        cursor = _Cursor(next_height=from_height, revision=None, pending={})
        failing_since: float | None = None
        while not stop.is_set():
            index = self._client.preferred()
            try:
                if cursor.revision is None:
                    yield from self._catch_up(cursor, stop)
                else:
                    yield from self._follow(cursor, index, stop)
                failing_since = None
            except _Compacted:
                # The revision we would resume from is gone: range reads pick up from the
                # next height instead.
                self.stats.watch_compacted_fallbacks += 1
                cursor.revision = None
                failing_since = None
            except (_Transient, OrderingUnavailable) as exc:
                if stop.is_set():
                    return
                now = time.monotonic()
                failing_since = failing_since if failing_since is not None else now
                if now - failing_since > self._client.op_timeout:
                    raise OrderingUnavailable(f"watch could not reach etcd: {exc}") from None
                self._client.fail_over(index)
                self.stats.watch_reconnects += 1
                stop.wait(0.05)

    def _catch_up(self, cursor: _Cursor, stop: threading.Event) -> Iterator[tuple[int, bytes]]:
        """Range-read the held heights from `cursor.next_height` at one revision."""
        deadline = self._client.deadline()
        first = self._client.txn(
            rpc_pb2.TxnRequest(
                success=[
                    rpc_pb2.RequestOp(
                        request_range=rpc_pb2.RangeRequest(key=self.layout.floor_key)
                    ),
                    rpc_pb2.RequestOp(request_range=self._page_request(cursor.next_height, 0)),
                ]
            ),
            deadline,
        )
        floor = _floor_of(first.responses[0].response_range.kvs)
        if cursor.next_height < floor and cursor.next_height not in cursor.pending:
            raise HeightCompacted(cursor.next_height, floor)
        revision = first.header.revision
        page = first.responses[1].response_range
        while True:
            for kv in page.kvs:
                cursor.offer(self.layout.height_of(kv.key), bytes(kv.value))
            yield from cursor.ready(stop)
            if not page.more or stop.is_set():
                break
            after = self.layout.height_of(page.kvs[-1].key) + 1
            page = self._client.range(self._page_request(after, revision), self._client.deadline())
        cursor.revision = revision

    def _page_request(self, from_height: int, revision: int) -> rpc_pb2.RangeRequest:
        return rpc_pb2.RangeRequest(
            key=self.layout.height_key(from_height),
            range_end=self.layout.heights_end,
            limit=self._page,
            revision=revision,
        )

    def _follow(
        self, cursor: _Cursor, index: int, stop: threading.Event
    ) -> Iterator[tuple[int, bytes]]:
        """Follow an etcd Watch on member `index` from the revision after `cursor.revision`."""
        assert cursor.revision is not None
        stream = self._client.open_watch(
            index,
            rpc_pb2.WatchCreateRequest(
                key=self.layout.height_key(cursor.next_height),
                range_end=self.layout.heights_end,
                start_revision=cursor.revision + 1,
                progress_notify=True,
                filters=[rpc_pb2.WatchCreateRequest.NODELETE],
                fragment=True,
            ),
            stop,
        )
        seen = cursor.revision
        try:
            for response in stream:
                if response.compact_revision:
                    raise _Compacted(f"watch revision {cursor.revision + 1} was compacted")
                if response.canceled:
                    raise _Transient(f"watch canceled by etcd: {response.cancel_reason}")
                for event in response.events:
                    cursor.offer(self.layout.height_of(event.kv.key), bytes(event.kv.value))
                    seen = max(seen, event.kv.mod_revision)
                if not response.fragment:
                    # A whole response (every fragment of it) has arrived. A progress
                    # notification (no events) vouches for everything up to its revision.
                    if not response.events and not response.created:
                        seen = max(seen, response.header.revision)
                    cursor.revision = seen
                yield from cursor.ready(stop)
                if stop.is_set():
                    return
        except _Transient:
            if stop.is_set():
                return
            raise
        finally:
            stream.cancel()
