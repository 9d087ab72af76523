"""The consortium port: TLS 1.3 only, mutual, identity from the SAN checked against the
ledger, one error boundary, per-peer rate limits, health checking.

The servers here run in the test process. `tests/gateway/__init__.py` imports `gateway`
before grpc loads, which pins the TLS 1.2 cipher list; the fixture fails (never skips)
if that did not happen. `tests/e2e` checks the same rules against daemon processes.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway import (
    ReplayError,
    StateMembership,
    enroll_member,
    probe_refuses_tls12,
    tls13_pinned,
)
from gateway._log import JsonFormatter
from gateway._pb.riskshare.psi.v1 import psi_pb2, psi_pb2_grpc
from gateway._server import RunningServer, add_psi, start_public_server
from gateway._status import REASON_KEY
from gateway._stubs import psi_stub
from gateway._tls import channel_credentials
from ledger import MEMBERS, ContractError, MemoryState
from psi import PsiError
from tests.gateway.conftest import Consortium

LEAKY = "13800138000"


class ErrorPsi(psi_pb2_grpc.PsiServicer):
    """Raises the error named by the request, to exercise the error boundary."""

    errors: dict[str, Exception] = {  # noqa: RUF012
        "psi": PsiError(f"element 3 of {LEAKY} is not a ristretto255 encoding"),
        "contract": ContractError("insufficient credit"),
        "replay": ReplayError("request bank-b/7 was already answered"),
        "bug": ValueError(f"unexpected {LEAKY}"),
    }

    def GetInfo(self, request: Any, context: Any) -> Any:
        from gateway._interceptors import current_peer

        return psi_pb2.GatewayInfo(member_id=current_peer().id)

    def GetCommitment(self, request: Any, context: Any) -> Any:
        raise self.errors[request.list_type]

    def StreamSnapshot(self, request: Any, context: Any) -> Iterator[Any]:
        yield psi_pb2.SnapshotChunk(index=0, data=b"first")
        raise self.errors[request.list_type]

    def EvaluateBatch(self, request: Any, context: Any) -> Any:
        return psi_pb2.EvaluateResponse()


def _start(consortium: Consortium, state: MemoryState, rps: float = 1000.0) -> RunningServer:
    assert tls13_pinned(), "grpc was imported before gateway: TLS 1.3 pin not in effect"
    return start_public_server(
        consortium.credentials("bank-a"),
        "127.0.0.1:0",
        StateMembership(state),
        [add_psi(ErrorPsi())],
        requests_per_second=rps,
        burst_seconds=2.0,
        threads=4,
        reuse_port=False,
    )


@pytest.fixture(scope="module")
def state(consortium: Consortium) -> MemoryState:
    return consortium.state()


@pytest.fixture(scope="module")
def server(consortium: Consortium, state: MemoryState) -> Iterator[RunningServer]:
    running = _start(consortium, state)
    yield running
    running.stop(0)


def _channel(member_dir: Path, port: int, ca_pem: bytes | None = None) -> grpc.Channel:
    key = (member_dir / "tls.key").read_bytes()
    cert = (member_dir / "tls.crt").read_bytes()
    ca = ca_pem if ca_pem is not None else (member_dir / "ca.crt").read_bytes()
    return grpc.secure_channel(f"127.0.0.1:{port}", channel_credentials(key, cert, ca))


def _info(channel: grpc.Channel) -> Any:
    return psi_stub(channel).GetInfo(psi_pb2.GetInfoRequest(), timeout=5)


def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def test_member_is_identified_by_san(consortium: Consortium, server: RunningServer) -> None:
    with _channel(consortium.member_dir("bank-b"), server.port) as channel:
        assert _info(channel).member_id == "bank-b"
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service="riskshare.psi.v1.Psi"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def _ssl_context(member_dir: Path | None, ca: Path, maximum: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.maximum_version = maximum
    context.check_hostname = False
    context.load_verify_locations(cafile=str(ca))
    if member_dir is not None:
        context.load_cert_chain(str(member_dir / "tls.crt"), str(member_dir / "tls.key"))
    context.set_alpn_protocols(["h2"])
    return context


def _http2_settings(context: ssl.SSLContext, port: int) -> bytes:
    """Handshake, send the HTTP/2 preface, return what the server sends back."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        return tls.recv(64)


def test_tls13_client_with_member_certificate_gets_http2(
    consortium: Consortium, server: RunningServer
) -> None:
    member = consortium.member_dir("bank-b")
    context = _ssl_context(member, member / "ca.crt", ssl.TLSVersion.TLSv1_3)
    frame = _http2_settings(context, server.port)
    assert frame[3:4] == b"\x04"  # the server's SETTINGS frame: the handshake was accepted


def test_tls12_is_refused_even_with_a_valid_certificate(
    consortium: Consortium, server: RunningServer
) -> None:
    member = consortium.member_dir("bank-b")
    context = _ssl_context(member, member / "ca.crt", ssl.TLSVersion.TLSv1_2)
    with pytest.raises(ssl.SSLError):
        _http2_settings(context, server.port)
    assert probe_refuses_tls12(
        "127.0.0.1",
        server.port,
        ca_file=member / "ca.crt",
        cert_file=member / "tls.crt",
        key_file=member / "tls.key",
    )


def test_tls13_without_client_certificate_is_refused(
    consortium: Consortium, server: RunningServer
) -> None:
    member = consortium.member_dir("bank-b")
    context = _ssl_context(None, member / "ca.crt", ssl.TLSVersion.TLSv1_3)
    try:
        reply = _http2_settings(context, server.port)
    except (ssl.SSLError, ConnectionError):
        reply = b""
    assert reply == b""  # closed with an alert, never an HTTP/2 SETTINGS frame


def test_certificate_from_another_ca_is_refused(
    consortium: Consortium, other_consortium: Consortium, server: RunningServer
) -> None:
    ours = (consortium.member_dir("bank-b") / "ca.crt").read_bytes()
    with _channel(other_consortium.member_dir("bank-b"), server.port, ca_pem=ours) as channel:
        assert _code(lambda: _info(channel)) == grpc.StatusCode.UNAVAILABLE
    context = _ssl_context(
        other_consortium.member_dir("bank-b"),
        consortium.member_dir("bank-b") / "ca.crt",
        ssl.TLSVersion.TLSv1_3,
    )
    try:
        reply = _http2_settings(context, server.port)
    except (ssl.SSLError, ConnectionError):
        reply = b""
    assert reply == b""


def test_plaintext_client_is_refused(server: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        assert _code(lambda: _info(channel)) == grpc.StatusCode.UNAVAILABLE


def test_unregistered_certificates_are_unauthenticated(
    consortium: Consortium, server: RunningServer, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    # Same CA, not on the ledger.
    enroll_member(
        consortium.ca, tmp_path / "x", member_id="bank-x", name="X", address="h:1", now=now
    )
    # Same CA, a real member's id, but not the certificate registered for it.
    enroll_member(
        consortium.ca, tmp_path / "b2", member_id="bank-b", name="B", address="h:1", now=now
    )
    for directory in (tmp_path / "x", tmp_path / "b2"):
        with _channel(directory, server.port) as channel:
            assert _code(lambda ch=channel: _info(ch)) == grpc.StatusCode.UNAUTHENTICATED


def test_removed_member_is_refused_from_that_height(
    consortium: Consortium, server: RunningServer, state: MemoryState
) -> None:
    row = dict(state.get(MEMBERS, "bank-c"))  # type: ignore[arg-type]
    with _channel(consortium.member_dir("bank-c"), server.port) as channel:
        assert _info(channel).member_id == "bank-c"
        state.put(MEMBERS, "bank-c", {**row, "status": "removed"})
        try:
            assert _code(lambda: _info(channel)) == grpc.StatusCode.UNAUTHENTICATED
        finally:
            state.put(MEMBERS, "bank-c", row)
        assert _info(channel).member_id == "bank-c"


def test_observer_reaches_evaluation_only_in_snapshot_mode(
    consortium: Consortium, server: RunningServer
) -> None:
    """An observer's canary probes go through EvaluateBatch (the responder then refuses
    any request of an observer that is not a canary probe: tests/integration); bucket
    queries stay members' only."""
    with _channel(consortium.member_dir("regulator"), server.port) as channel:
        stub = psi_stub(channel)
        assert _info(channel).member_id == "regulator"
        stub.EvaluateBatch(psi_pb2.EvaluateRequest(), timeout=5)
        request = psi_pb2.BucketQueryRequest()
        code = _code(lambda: stub.BucketQuery(request, timeout=5))
        assert code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("name", "code", "reason", "message"),
    [
        ("psi", grpc.StatusCode.INVALID_ARGUMENT, "malformed", "malformed request"),
        ("contract", grpc.StatusCode.FAILED_PRECONDITION, "refused", "insufficient credit"),
        ("replay", grpc.StatusCode.ALREADY_EXISTS, "replay", None),
        ("bug", grpc.StatusCode.INTERNAL, "internal", "internal error"),
    ],
)
def test_domain_errors_map_to_precise_status(
    consortium: Consortium,
    server: RunningServer,
    name: str,
    code: grpc.StatusCode,
    reason: str,
    message: str | None,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("riskshare")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with _channel(consortium.member_dir("bank-b"), server.port) as channel:
            stub = psi_stub(channel)
            for call in (
                lambda: stub.GetCommitment(psi_pb2.GetCommitmentRequest(list_type=name)),
                lambda: list(stub.StreamSnapshot(psi_pb2.StreamSnapshotRequest(list_type=name))),
            ):
                with pytest.raises(grpc.RpcError) as info:
                    call()
                error: Any = info.value
                assert error.code() == code
                if message is not None:
                    assert error.details() == message
                assert dict(error.trailing_metadata())[REASON_KEY] == reason
                assert LEAKY not in error.details()
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert '"event": "rpc"' in logged and '"peer": "bank-b"' in logged
    assert LEAKY not in logged


def test_per_peer_rate_limit(consortium: Consortium, state: MemoryState) -> None:
    running = _start(consortium, state, rps=1.0)  # burst of 2 requests
    try:
        with (
            _channel(consortium.member_dir("bank-b"), running.port) as b,
            _channel(consortium.member_dir("bank-c"), running.port) as c,
        ):
            _info(b)
            _info(b)
            with pytest.raises(grpc.RpcError) as info:
                _info(b)
            error: Any = info.value
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert dict(error.trailing_metadata())[REASON_KEY] == "rate_limited"
            # Another peer has its own bucket.
            assert _info(c).member_id == "bank-c"
    finally:
        running.stop(0)
