"""The dashboard's HTTP server: routing, access control, headers; GET and HEAD only.

Rules:

- Off loopback it speaks HTTPS only (TLS 1.3, the member's certificate; `._launch`
  decides): the TLS handshake runs on the request's own thread, so a client that
  stalls in it holds no other; a client that speaks anything but TLS gets nothing. The
  session cookie is then ``Secure``, so a browser never sends it over plain HTTP.

- Only ``GET`` and ``HEAD`` are served; every other method is answered 405 before
  anything is read. No route writes anything: pages get a :class:`Context` (a replica
  connection of the dashboard's own, the data directory, the last probe results).
- Access is decided by :mod:`._access` before routing, for every path, static files
  included.
- Every answer says ``Cache-Control: no-store`` and carries a Content-Security-Policy
  that allows nothing but this server's own stylesheet: the pages have no script, and
  nothing from elsewhere (there is no CDN; the machine may have no internet at all).
- Logs name the method, the path without its query string (it may hold the token),
  and the status.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from gateway._dashboard._access import COOKIE, Access
from gateway._dashboard._context import Context, NotFound, Params
from gateway._dashboard._format import BadFilter
from gateway._dashboard._html import el
from gateway._dashboard._layout import STYLESHEET, page
from gateway._dashboard._pages_activity import credits_page, queries_page, ranking_page
from gateway._dashboard._pages_ledger import block_page, ledger_page, proof_document, tx_page
from gateway._dashboard._pages_status import (
    governance_page,
    lists_page,
    overview_page,
    peers_page,
    regulator_page,
    watch_page,
)
from gateway._log import log_event

__all__ = ["DashboardServer"]

_log = logging.getLogger("riskshare.gateway.dashboard")

_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
_PAGES: dict[str, Callable[[Context, Params], bytes]] = {
    "/": overview_page,
    "/ledger": ledger_page,
    "/queries": queries_page,
    "/credits": credits_page,
    "/ranking": ranking_page,
    "/lists": lists_page,
    "/peers": peers_page,
    "/watch": watch_page,
    "/regulator": regulator_page,
    "/governance": governance_page,
}
_BLOCK = re.compile(r"/ledger/block/([0-9]{1,19})\Z")
_TX = re.compile(r"/ledger/tx/([0-9a-fA-F]{64})\Z")
_PROOF = re.compile(r"/ledger/tx/([0-9a-fA-F]{64})/proof\.json\Z")
_MAX_PARAMS = 32


class _Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.status = status
        self.body = body
        self.headers = {"Content-Type": content_type, **headers}


def _html(status: int, body: bytes) -> _Response:
    return _Response(status, body, "text/html; charset=utf-8")


def _error_page(ctx: Context, status: int, message: str) -> _Response:
    return _html(status, page(f"{status}", ctx.member, el("p", message), active=""))


def _route(ctx: Context, path: str, params: Params) -> _Response:
    if path == "/static/style.css":
        return _Response(200, STYLESHEET.encode(), "text/css; charset=utf-8")
    render = _PAGES.get(path.rstrip("/") or "/")
    if render is not None:
        return _html(200, render(ctx, params))
    if match := _BLOCK.match(path):
        return _html(200, block_page(ctx, params, match.group(1)))
    if match := _TX.match(path):
        return _html(200, tx_page(ctx, params, match.group(1).lower()))
    if match := _PROOF.match(path):
        body, name = proof_document(ctx, match.group(1).lower())
        return _Response(
            200,
            body,
            "application/json",
            **{"Content-Disposition": f'attachment; filename="{name}"'},
        )
    raise NotFound("no such page")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "riskshare-dashboard"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    # A client that stops sending mid-request does not hold a thread for long.
    timeout = 30

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _refuse_method(self) -> None:
        self._send(
            _Response(405, b"read-only: GET and HEAD only\n", "text/plain", Allow="GET, HEAD")
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def _serve(self, *, head: bool) -> None:
        ctx = self.server.context
        parts = urlsplit(self.path)
        try:
            fields = parse_qs(
                parts.query,
                keep_blank_values=True,
                max_num_fields=_MAX_PARAMS,
                strict_parsing=False,
            )
        except ValueError:
            self._send(_error_page(ctx, 400, "too many query parameters"), head=head)
            return
        params = {k: v[0] for k, v in fields.items()}
        query_token = params.pop("token", None)
        decision = self.server.access.decide(
            host=self.headers.get("Host"),
            authorization=self.headers.get("Authorization"),
            cookie=self.headers.get("Cookie"),
            query_token=query_token,
        )
        if decision.status == 303:
            # Always a path on this server: "//host" would send the browser elsewhere.
            target = "/" + parts.path.lstrip("/") + ("?" + urlencode(params) if params else "")
            secure = "; Secure" if self.server.tls is not None else ""
            self._send(
                _Response(
                    303,
                    b"",
                    "text/plain",
                    Location=target,
                    **{
                        "Set-Cookie": f"{COOKIE}={self.server.access.token}; HttpOnly;"
                        f" SameSite=Strict; Path=/{secure}"
                    },
                ),
                head=head,
            )
            return
        if not decision.allowed:
            extra = {"WWW-Authenticate": 'Bearer realm="riskshare dashboard"'}
            body = f"{decision.reason}\n".encode()
            self._send(_Response(decision.status, body, "text/plain", **extra), head=head)
            return
        try:
            response = _route(ctx, parts.path, params)
        except NotFound as exc:
            response = _error_page(ctx, 404, str(exc))
        except BadFilter as exc:
            response = _error_page(ctx, 400, str(exc))
        except Exception:
            _log.error("dashboard page failed", exc_info=True)
            response = _error_page(ctx, 500, "this page failed; the gateway log has the details")
        self._send(response, head=head)

    def _send(self, response: _Response, *, head: bool = False) -> None:
        self.send_response(response.status)
        headers = {
            **response.headers,
            "Content-Length": str(len(response.body)),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": _CSP,
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the full request line (with any ?token=) to stderr.
        return

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(self.path).path if hasattr(self, "path") else ""
        _log.debug("dashboard %s %s %s", getattr(self, "command", "?"), path, code)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    context: Context
    access: Access
    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # On the request's thread (ThreadingMixIn), not the accepting one.
        request.settimeout(_Handler.timeout)
        try:
            tls = self.tls.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except OSError:
            return
        try:
            tls.do_handshake()
            super().finish_request(tls, client_address)
        except OSError as exc:
            # Plain HTTP, TLS 1.2, a scanner: nothing is served, nothing to alarm about.
            _log.debug("dashboard TLS handshake failed: %s", type(exc).__name__)
        finally:
            tls.close()


class _Server6(_Server):
    address_family = socket.AF_INET6


class DashboardServer:
    """A running dashboard: ``url``, ``port``, ``stop()``; HTTPS when given ``tls``."""

    def __init__(
        self,
        context: Context,
        access: Access,
        bind: str,
        port: int,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        kind = _Server6 if ":" in bind else _Server
        self._server = kind((bind, port), _Handler)
        self._server.context = context
        self._server.access = access
        self._server.tls = tls
        self.bind = bind
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dashboard", kwargs={"poll_interval": 0.25}
        )
        self._thread.daemon = True
        self.started = time.time()

    @property
    def url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        scheme = "http" if self._server.tls is None else "https"
        return f"{scheme}://{host}:{self.port}/"

    def start(self) -> None:
        self._thread.start()
        log_event(_log, "dashboard serving", url=self.url)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
