"""The member dashboard: a read-only web view of the gateway's replica and health.

Served by each gateway (``[dashboard]`` in its config; see docs/DASHBOARD.md) on a
local HTTP port: ledger explorer with downloadable inclusion proofs, queries made and
served with filters, credits over time and per counterparty, evaluation ranking, index
status per list type, peer health and latency, governance. Server-rendered HTML and
inline SVG, no script, GET and HEAD only, no identifier on any page.

Public API::

    start_dashboard(config, node) -> Dashboard | None   # what the gateway supervisor calls
    serve_dashboard(member=, ledger_path=, data_dir=, bind=, port=, token=, ...) -> Dashboard
    Dashboard.url / .port / .stop()
    access_rule(bind, token) -> Access                  # ConfigError when unsafe
    Access.decide(host=, authorization=, cookie=, query_token=) -> Decision
    is_loopback(host), COOKIE, MIN_TOKEN_CHARS, URL_FILE ("dashboard.url")
"""

from gateway._dashboard._access import (
    COOKIE,
    MIN_TOKEN_CHARS,
    Access,
    Decision,
    access_rule,
    is_loopback,
)
from gateway._dashboard._launch import URL_FILE, Dashboard, serve_dashboard, start_dashboard
from gateway._dashboard._peers import PeerProbe, Probe
from gateway._dashboard._safe import WITHHELD, display, display_body

__all__ = [
    "COOKIE",
    "MIN_TOKEN_CHARS",
    "URL_FILE",
    "WITHHELD",
    "Access",
    "Dashboard",
    "Decision",
    "PeerProbe",
    "Probe",
    "access_rule",
    "display",
    "display_body",
    "is_loopback",
    "serve_dashboard",
    "start_dashboard",
]
