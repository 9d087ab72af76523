"""A small etcd v3 gRPC client: several members, failover, deadlines, one error boundary.

Rules this module keeps:

- Every RPC carries a timeout (`call_timeout`, cut to what is left of the operation's
  deadline); every retried operation has an overall deadline and then raises
  `OrderingUnavailable`.
- grpc exceptions never leave this module. `_translate` is the one place that turns a
  `grpc.RpcError` into either `_Transient` (try again, possibly on another member), or
  `_Compacted`, or a public `OrderingRejected`.
- Only requests that are safe to repeat are retried here (`call`): reads, and writes
  whose compare makes a second application a no-op. A write that is not safe to repeat
  goes through `call_once`, and its caller resolves the ambiguity.
- On a transient failure the client moves its preferred member on, so that a retry, or
  the read-back that resolves an ambiguous write, goes to another member.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc

from ledger._etcd_errors import EtcdLogError, OrderingRejected, OrderingUnavailable
from ledger._etcdpb import rpc_pb2, rpc_pb2_grpc

__all__ = ["EtcdClient", "EtcdTLS"]

_T = TypeVar("_T")

# A block is at most 1 MiB and a range page holds a bounded number of them; 64 MiB leaves
# room for a page of full blocks plus framing.
_MAX_RECEIVE_BYTES = 64 * 1024 * 1024
_MAX_SEND_BYTES = 8 * 1024 * 1024

# etcd's server refuses keepalive pings more often than --grpc-keepalive-min-time (5 s by
# default) and pings on idle connections; 10 s with calls in flight stays within that.
_CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES),
    ("grpc.max_send_message_length", _MAX_SEND_BYTES),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]

# clientv3's WithRequireLeader: a member that has lost its leader refuses the call (and
# cancels the watch) instead of serving from a partitioned minority.
_REQUIRE_LEADER = (("hasleader", "true"),)

_RETRYABLE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
    }
)


class _Transient(Exception):
    """The call failed in a way another attempt (maybe on another member) can fix."""


class _Compacted(Exception):
    """The revision asked for has been compacted away."""


@dataclass(frozen=True, slots=True)
class EtcdTLS:
    """Client TLS for etcd: the CA that signed the members' certificates and, for
    `--client-cert-auth`, this client's certificate and key (PEM bytes)."""

    ca_cert: bytes
    client_cert: bytes | None = None
    client_key: bytes | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.client_cert is None) != (self.client_key is None):
            raise EtcdLogError("EtcdTLS needs both client_cert and client_key, or neither")

    @classmethod
    def from_files(
        cls,
        ca_file: str | Path,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        server_name: str | None = None,
    ) -> EtcdTLS:
        return cls(
            ca_cert=Path(ca_file).read_bytes(),
            client_cert=None if cert_file is None else Path(cert_file).read_bytes(),
            client_key=None if key_file is None else Path(key_file).read_bytes(),
            server_name=server_name,
        )

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_cert,
            private_key=self.client_key,
            certificate_chain=self.client_cert,
        )


def _target(endpoint: str, tls: EtcdTLS | None) -> str:
    """`host:port` from `host:port`, `http://host:port` or `https://host:port`."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        scheme, rest = ("https" if tls else "http"), endpoint
    if scheme not in ("http", "https"):
        raise EtcdLogError(f"unsupported etcd endpoint scheme: {endpoint!r}")
    if (scheme == "https") != (tls is not None):
        raise EtcdLogError(
            f"endpoint {endpoint!r} does not match the TLS setting (tls={tls is not None})"
        )
    host, colon, port = rest.rstrip("/").rpartition(":")
    if not colon or not host or not port.isdigit():
        raise EtcdLogError(f"etcd endpoint must be host:port, got {endpoint!r}")
    return f"{host}:{port}"


def _translate(err: grpc.RpcError, what: str) -> Exception:
    """The single place a grpc error becomes ours. Returns the exception to raise."""
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else None) or ""
    text = f"{what}: {code.name}: {details}"
    if code == grpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
        return _Compacted(text)
    if code in _RETRYABLE_CODES:
        return _Transient(text)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "too many requests" in details:
        return _Transient(text)
    return OrderingRejected(f"etcd refused {text}")


class EtcdClient:
    """Calls etcd's KV, Watch and Maintenance services on a list of members."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        tls: EtcdTLS | None = None,
        call_timeout: float = 2.0,
        op_timeout: float = 10.0,
    ) -> None:
        if not endpoints:
            raise EtcdLogError("at least one etcd endpoint is needed")
        if call_timeout <= 0 or op_timeout <= 0:
            raise EtcdLogError("timeouts must be positive")
        self._targets = [_target(e, tls) for e in endpoints]
        self._tls = tls
        self.call_timeout = call_timeout
        self.op_timeout = op_timeout
        self._lock = threading.Lock()
        self._channels: list[grpc.Channel | None] = [None] * len(self._targets)
        self._kv: list[Any] = [None] * len(self._targets)
        self._watch: list[Any] = [None] * len(self._targets)
        self._maint: list[Any] = [None] * len(self._targets)
        self._preferred = 0
        self._closed = False
        self.failovers = 0

    @property
    def targets(self) -> list[str]:
        return list(self._targets)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            channels, self._channels = self._channels, [None] * len(self._targets)
        for ch in channels:
            if ch is not None:
                ch.close()

    # -- endpoints ---------------------------------------------------------------------

    def _ensure(self, index: int) -> None:
        if self._channels[index] is not None:
            return  # the common case, without taking the lock
        with self._lock:
            if self._closed:
                raise EtcdLogError("the etcd client is closed")
            if self._channels[index] is not None:
                return
            opts = list(_CHANNEL_OPTIONS)
            if self._tls is None:
                ch = grpc.insecure_channel(self._targets[index], options=opts)
            else:
                if self._tls.server_name:
                    opts.append(("grpc.ssl_target_name_override", self._tls.server_name))
                ch = grpc.secure_channel(self._targets[index], self._tls.credentials(), opts)
            self._channels[index] = ch
            # The generated stub classes are untyped; responses are cast where they leave.
            stubs: Any = rpc_pb2_grpc
            self._kv[index] = stubs.KVStub(ch)
            self._watch[index] = stubs.WatchStub(ch)
            self._maint[index] = stubs.MaintenanceStub(ch)

    def preferred(self) -> int:
        with self._lock:
            return self._preferred

    def fail_over(self, failed: int) -> None:
        """Move the preferred member past `failed` (once, however many threads saw it fail)."""
        with self._lock:
            if self._preferred == failed:
                self._preferred = (failed + 1) % len(self._targets)
                self.failovers += 1

    # -- calls ---------------------------------------------------------------------------

    def _invoke(
        self,
        index: int,
        pick: Callable[[int], Callable[..., _T]],
        request: object,
        timeout: float,
        what: str,
    ) -> _T:
        self._ensure(index)
        try:
            return pick(index)(request, timeout=timeout, metadata=_REQUIRE_LEADER)
        except grpc.RpcError as err:
            raise _translate(err, f"{what} on {self._targets[index]}") from None

    def _once(
        self, pick: Callable[[int], Callable[..., _T]], request: object, deadline: float, what: str
    ) -> _T:
        """One attempt on the preferred member; on a transient failure, fail over and raise."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OrderingUnavailable(f"{what}: deadline passed before the call")
        index = self.preferred()
        try:
            return self._invoke(index, pick, request, min(self.call_timeout, remaining), what)
        except _Transient:
            self.fail_over(index)
            raise

    def _retrying(
        self, pick: Callable[[int], Callable[..., _T]], request: object, deadline: float, what: str
    ) -> _T:
        attempt = 0
        last = ""
        while True:
            try:
                return self._once(pick, request, deadline, what)
            except _Transient as exc:
                last = str(exc)
            except OrderingUnavailable:
                break
            attempt += 1
            # Once every member has been tried, back off before the next round (an election
            # takes about one election timeout), with jitter so clients do not march in step.
            if attempt % len(self._targets) == 0:
                pause = min(0.05 * 2 ** (attempt // len(self._targets)), 0.5)
                pause *= 0.5 + random.random()
                if time.monotonic() + pause >= deadline:
                    break
                time.sleep(pause)
        raise OrderingUnavailable(f"{what}: no etcd member answered in time (last error: {last})")

    def deadline(self) -> float:
        return time.monotonic() + self.op_timeout

    def range(self, request: rpc_pb2.RangeRequest, deadline: float) -> rpc_pb2.RangeResponse:
        return cast(
            rpc_pb2.RangeResponse,
            self._retrying(lambda i: self._kv[i].Range, request, deadline, "Range"),
        )

    def txn(self, request: rpc_pb2.TxnRequest, deadline: float) -> rpc_pb2.TxnResponse:
        """A Txn that is safe to repeat (read-only, or guarded by its compares)."""
        return cast(
            rpc_pb2.TxnResponse, self._retrying(lambda i: self._kv[i].Txn, request, deadline, "Txn")
        )

    def txn_once(self, request: rpc_pb2.TxnRequest, deadline: float) -> rpc_pb2.TxnResponse:
        """One Txn attempt; raises `_Transient` when the outcome is unknown."""
        return cast(
            rpc_pb2.TxnResponse, self._once(lambda i: self._kv[i].Txn, request, deadline, "Txn")
        )

    def compact(self, revision: int, deadline: float) -> None:
        """Compact the revision history up to `revision`; already compacted is fine."""
        request = rpc_pb2.CompactionRequest(revision=revision)
        try:
            self._retrying(lambda i: self._kv[i].Compact, request, deadline, "Compact")
        except _Compacted:
            return

    def status(self, index: int, timeout: float) -> rpc_pb2.StatusResponse:
        """Maintenance.Status of one member (no failover: the caller asks about that member)."""
        try:
            response = self._invoke(
                index, lambda i: self._maint[i].Status, rpc_pb2.StatusRequest(), timeout, "Status"
            )
        except _Transient as exc:
            raise OrderingUnavailable(str(exc)) from None
        return cast(rpc_pb2.StatusResponse, response)

    def open_watch(
        self, index: int, create: rpc_pb2.WatchCreateRequest, stop: threading.Event
    ) -> WatchStream:
        self._ensure(index)
        return WatchStream(self._watch[index].Watch, create, self._targets[index], stop)


class WatchStream:
    """One Watch RPC carrying one watcher. Iterate for responses; `cancel` from any thread.

    The request side stays open until `cancel`: etcd ends every watch on a stream as soon
    as the client half-closes it. The thread grpc runs the request iterator on also
    watches `stop` and cancels the call when it is set, which wakes the reader.
    """

    def __init__(
        self,
        method: Callable[..., Any],
        create: rpc_pb2.WatchCreateRequest,
        target: str,
        stop: threading.Event,
    ) -> None:
        self._done = threading.Event()
        self._ready = threading.Event()
        self._stop = stop
        self._target = target
        self._call: Any = method(self._requests(create), metadata=_REQUIRE_LEADER)
        self._ready.set()

    def _requests(self, create: rpc_pb2.WatchCreateRequest) -> Iterator[rpc_pb2.WatchRequest]:
        yield rpc_pb2.WatchRequest(create_request=create)
        self._ready.wait()
        while not self._done.wait(0.1):
            if self._stop.is_set():
                self._call.cancel()
                return

    def __iter__(self) -> Iterator[rpc_pb2.WatchResponse]:
        try:
            yield from self._call
        except grpc.RpcError as err:
            raise _translate(err, f"Watch on {self._target}") from None
        # etcd never ends a watch stream on its own while we keep the request side open;
        # an end means the member went away.
        raise _Transient(f"Watch on {self._target}: stream ended")

    def cancel(self) -> None:
        self._done.set()
        self._call.cancel()
