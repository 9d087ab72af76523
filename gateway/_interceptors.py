"""Server interceptors: observe, map errors, authenticate, rate-limit — in that order.

Python gRPC interceptors only see the method name, so each one here wraps the method
handler's behaviour to get at the call's context (auth context, status). For methods
that stream responses the wrapper spans the whole iteration, so an error raised while
streaming is mapped like any other and the peer stays known throughout.

The order is fixed by :func:`interceptors`: the observer is outermost (it times and
logs the final status), the error boundary next (the only place exceptions become
statuses), then authentication (every call; the member is put in :func:`current_peer`),
then the per-peer request-rate limit. A request whose bytes do not parse reaches the
chain as a marker (gRPC itself would answer INTERNAL before any interceptor ran) and
is refused innermost, after authentication, as INVALID_ARGUMENT.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc

from gateway._auth import MembershipView, authenticate
from gateway._errors import UnauthenticatedError
from gateway._log import log_event
from gateway._ratelimit import RateLimiter
from gateway._status import REASON_KEY, refusal_for
from ledger import Member
from psi import ProtocolError

__all__ = [
    "AuthInterceptor",
    "CallInfo",
    "ErrorInterceptor",
    "ObserveInterceptor",
    "RateLimitInterceptor",
    "call_info",
    "current_peer",
    "interceptors",
]

_log = logging.getLogger("riskshare.gateway.rpc")

Behaviour = Callable[[Any, grpc.ServicerContext], Any]


@dataclass(slots=True)
class CallInfo:
    """What the interceptors learn about one call, for the log line and the handler."""

    method: str
    peer: Member | None = None
    fields: dict[str, Any] = field(default_factory=dict)


_CALL: contextvars.ContextVar[CallInfo | None] = contextvars.ContextVar("call", default=None)


def call_info() -> CallInfo | None:
    return _CALL.get()


def current_peer() -> Member:
    """The authenticated member behind the call being served."""
    info = _CALL.get()
    if info is None or info.peer is None:
        raise UnauthenticatedError("no authenticated peer for this call")
    return info.peer


class _Unparsed:
    """What a request whose bytes do not parse becomes (see :func:`_parse_safely`)."""

    __slots__ = ()


_UNPARSED = _Unparsed()


class _SafeParse:
    """A request deserializer that returns :data:`_UNPARSED` instead of raising.

    gRPC answers a deserializer's exception with INTERNAL before any interceptor runs;
    a truncated or garbled request is the caller's mistake, so it is handed on as a
    marker and refused inside the chain, after authentication, by the error boundary.
    """

    def __init__(self, parse: Callable[[bytes], Any]) -> None:
        self._parse = parse

    def __call__(self, data: bytes) -> Any:
        try:
            return self._parse(data)
        except Exception:  # protobuf's DecodeError, or whatever a parser raises on bad bytes
            return _UNPARSED


def _refuse_unparsed(behaviour: Behaviour) -> Behaviour:
    def checked(request: Any, context: grpc.ServicerContext) -> Any:
        if request is _UNPARSED:
            raise ProtocolError("the request message does not parse")
        return behaviour(request, context)

    return checked


def _parse_safely(handler: Any) -> Any:
    """The servicer's own handler, with bytes that do not parse refused in the chain.

    Applied once, by the innermost interceptor (the one that sees a deserializer not
    yet wrapped), so the refusal is raised inside every interceptor's scope.
    """
    parse = handler.request_deserializer
    streaming_requests = not (handler.unary_unary or handler.unary_stream)
    if parse is None or isinstance(parse, _SafeParse) or streaming_requests:
        return handler
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _refuse_unparsed(handler.unary_unary), _SafeParse(parse), handler.response_serializer
        )
    return grpc.unary_stream_rpc_method_handler(
        _refuse_unparsed(handler.unary_stream), _SafeParse(parse), handler.response_serializer
    )


def _rewrap(handler: Any, around: Callable[[Behaviour, bool], Behaviour]) -> Any:
    if handler is None:
        return None
    handler = _parse_safely(handler)
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            around(handler.unary_unary, False),
            handler.request_deserializer,
            handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            around(handler.unary_stream, True),
            handler.request_deserializer,
            handler.response_serializer,
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            around(handler.stream_unary, False),
            handler.request_deserializer,
            handler.response_serializer,
        )
    return grpc.stream_stream_rpc_method_handler(
        around(handler.stream_stream, True),
        handler.request_deserializer,
        handler.response_serializer,
    )


class _Around(grpc.ServerInterceptor):  # type: ignore[misc]
    """Run :meth:`scope` around every call's behaviour (and its response stream)."""

    @abc.abstractmethod
    def scope(
        self, method: str, context: grpc.ServicerContext
    ) -> contextlib.AbstractContextManager[None]:
        """What each interceptor does around a call (a context manager per call)."""

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        method: str = details.method

        def around(behaviour: Behaviour, streaming: bool) -> Behaviour:
            if streaming:

                def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                    with self.scope(method, context):
                        yield from behaviour(request, context)

                return stream

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                with self.scope(method, context):
                    return behaviour(request, context)

            return unary

        return _rewrap(continuation(details), around)


def _aborted(context: grpc.ServicerContext) -> bool:
    try:
        return context.code() not in (None, grpc.StatusCode.OK)
    except Exception:  # older grpcio lacks code(); treat as not yet aborted
        return False


class ObserveInterceptor(_Around):
    """Times every call, counts it by status, and logs one JSON line for it."""

    def __init__(self, metrics: Any | None) -> None:
        self._metrics = metrics

    @contextlib.contextmanager
    def scope(self, method: str, context: grpc.ServicerContext) -> Iterator[None]:
        info = CallInfo(method=method)
        token = _CALL.set(info)
        started = time.perf_counter()
        code = "OK"
        try:
            yield
        except GeneratorExit:
            code = "CANCELLED"  # the caller stopped reading a stream: not a failure
            raise
        except BaseException:
            status = context.code() if _aborted(context) else grpc.StatusCode.UNKNOWN
            code = status.name if status is not None else "UNKNOWN"
            raise
        finally:
            elapsed = time.perf_counter() - started
            _CALL.reset(token)
            if self._metrics is not None:
                self._metrics.rpcs.labels(method, code).inc()
                self._metrics.rpc_seconds.labels(method).observe(elapsed)
            log_event(
                _log,
                "rpc",
                logging.INFO if code == "OK" else logging.WARNING,
                method=method,
                peer=info.peer.id if info.peer else None,
                code=code,
                ms=round(elapsed * 1000, 3),
                **info.fields,
            )


class ErrorInterceptor(_Around):
    """The one boundary where exceptions become gRPC statuses."""

    @contextlib.contextmanager
    def scope(self, method: str, context: grpc.ServicerContext) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if _aborted(context):
                raise
            refusal = refusal_for(exc)
            info = _CALL.get()
            if info is not None:
                info.fields["reason"] = refusal.reason
            if refusal.code == grpc.StatusCode.INTERNAL:
                _log.error("rpc failed", exc_info=True, extra={"method": method})
            elif refusal.opaque:
                log_event(
                    _log,
                    "refused",
                    logging.WARNING,
                    method=method,
                    reason=refusal.reason,
                    error_type=type(exc).__name__,
                )
            context.set_trailing_metadata(((REASON_KEY, refusal.reason),))
            context.abort(refusal.code, refusal.message)


class AuthInterceptor(_Around):
    """Every call must come from an active member over TLS 1.3 (see `gateway._auth`)."""

    def __init__(
        self,
        view: MembershipView,
        roles: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._view = view
        self._roles = dict(roles or {})

    @contextlib.contextmanager
    def scope(self, method: str, context: grpc.ServicerContext) -> Iterator[None]:
        member = authenticate(context.auth_context(), self._view, self._roles.get(method))
        info = _CALL.get()
        if info is not None:
            info.peer = member
        else:  # used without the observer (tests): still expose the peer
            info = CallInfo(method=method, peer=member)
        token = _CALL.set(info)
        try:
            yield
        finally:
            _CALL.reset(token)


class RateLimitInterceptor(_Around):
    """One token per call from each peer's request bucket."""

    def __init__(self, limiter: RateLimiter, clock: Callable[[], float] = time.monotonic) -> None:
        self._limiter = limiter
        self._clock = clock

    @contextlib.contextmanager
    def scope(self, method: str, context: grpc.ServicerContext) -> Iterator[None]:
        self._limiter.charge(current_peer().id, 1, self._clock())
        yield


def interceptors(
    view: MembershipView,
    limiter: RateLimiter,
    *,
    metrics: Any | None = None,
    roles: Mapping[str, frozenset[str]] | None = None,
) -> list[grpc.ServerInterceptor]:
    """The public port's interceptor chain, outermost first."""
    return [
        ObserveInterceptor(metrics),
        ErrorInterceptor(),
        AuthInterceptor(view, roles),
        RateLimitInterceptor(limiter),
    ]
