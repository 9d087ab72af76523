"""Who may read the dashboard (pure: settings and request headers in, a decision out).

Rules:

- Bound to a loopback address (the default, ``127.0.0.1``), the dashboard is open to
  local users, the same people who can read the member's data directory; requests must
  then name a loopback host in ``Host``, so a web page that rebinds its own DNS name to
  127.0.0.1 gets nothing from it.
- Bound to anything else, it refuses to start without a token of at least
  :data:`MIN_TOKEN_CHARS` characters, and then every request must carry it: as
  ``Authorization: Bearer <token>``, or as the ``riskshare_dashboard`` cookie, which a
  browser gets by opening any page once with ``?token=<token>`` (the answer redirects
  to the same page without the token in its address). It is then served over HTTPS
  only (`._launch`), and the cookie is ``Secure``.
- A configured token is required on loopback too.
- Tokens are compared in constant time. The decision never echoes a presented token.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from gateway._errors import ConfigError

__all__ = ["COOKIE", "MIN_TOKEN_CHARS", "Access", "Decision", "access_rule", "is_loopback"]

COOKIE = "riskshare_dashboard"
MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``, brackets allowed) is loopback."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8470`` → ``::1``)."""
    header = header.strip()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass(frozen=True, slots=True)
class Decision:
    """``status`` 200: serve; 303: set the cookie and redirect; 401/421: refuse."""

    status: int
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.status in (200, 303)


@dataclass(frozen=True, slots=True)
class Access:
    bind: str
    token: str

    @property
    def loopback(self) -> bool:
        return is_loopback(self.bind)

    def _matches(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.token.encode())

    def decide(
        self,
        *,
        host: str | None,
        authorization: str | None,
        cookie: str | None,
        query_token: str | None,
    ) -> Decision:
        """May this request be served? See the module docstring."""
        if not self.token:
            # Only possible on loopback (access_rule refuses the rest).
            if host is None or not is_loopback(_host_of(host)):
                return Decision(421, "this dashboard answers only to a loopback host name")
            return Decision(200)
        if query_token is not None:
            if self._matches(query_token):
                return Decision(303)
            return Decision(401, "the token is wrong")
        if authorization is not None:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and self._matches(value.strip()):
                return Decision(200)
            return Decision(401, "the bearer token is wrong")
        if cookie:
            try:
                jar = SimpleCookie(cookie)
            except CookieError:
                return Decision(401, "unreadable cookie")
            morsel = jar.get(COOKIE)
            if morsel is not None and self._matches(morsel.value):
                return Decision(200)
        return Decision(401, "a token is required")


def access_rule(bind: str, token: str) -> Access:
    """The access rule for a dashboard bound to ``bind``; refuses an unsafe setting."""
    token = token.strip()
    if not bind:
        raise ConfigError("dashboard.bind is required (an address, e.g. 127.0.0.1)")
    if token and len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"dashboard.token must have at least {MIN_TOKEN_CHARS} characters")
    if not is_loopback(bind) and not token:
        raise ConfigError(
            f"dashboard.bind is {bind}, which is not a loopback address: set dashboard.token"
            " (or RISKSHARE_DASHBOARD_TOKEN) so the dashboard is not open to the network"
        )
    if any(c.isspace() or c in ';,"\\' for c in token):
        raise ConfigError("dashboard.token must not contain spaces, quotes, ';', ',' or '\\'")
    return Access(bind, token)
