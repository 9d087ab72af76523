"""The dashboard off loopback speaks HTTPS only, with the member's certificate, TLS 1.3,
and a ``Secure`` cookie (issue 14, attack 9e); on loopback it stays HTTP.

"Off loopback" is tested as another host would see it: Chromium runs in a network
namespace of its own, joined to this one by a veth pair, so it shares no loopback
interface and no address with the gateways and reaches bank-c's dashboard (bound to
0.0.0.0) only through the veth address. The namespace and the pair are made for this
module and removed after it (root and iproute2 are needed; the test fails without
them, it never skips). Chromium trusts bank-c's key alone (the address is not in
bank-c's certificate, and the consortium CA is not one a browser knows).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from gateway import load_member_credentials
from tests.dashboard.conftest import CHROMIUM, CHROMIUM_ARGS, TOKEN, Demo


@dataclass(frozen=True)
class OtherHost:
    address: str  # this host's address as the other one reaches it
    chromium: Path  # runs Debian's Chromium inside the other host's namespace


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def other_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtherHost]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the off-loopback test makes a network namespace: it needs root and `ip`")
    tag = str(os.getpid() % 100_000)
    namespace, here, there = f"riskshare-dash-{tag}", f"rsd{tag}a", f"rsd{tag}b"
    # A /30 of TEST-NET-2 (RFC 5737) per process: never routed, no clash between runs.
    base = 4 * (os.getpid() % 64)
    mine, theirs = f"198.51.100.{base + 1}", f"198.51.100.{base + 2}"
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", there, "netns", namespace)
        _ip("addr", "add", f"{mine}/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", namespace, "addr", "add", f"{theirs}/30", "dev", there)
        _ip("-n", namespace, "link", "set", there, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        wrapper = tmp_path_factory.mktemp("other-host") / "chromium"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {namespace} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        yield OtherHost(mine, wrapper)
    finally:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=30)


def _port(demo: Demo, member_id: str) -> int:
    port = urlsplit(demo.urls[member_id]).port
    assert port is not None
    return port


def test_off_loopback_the_dashboard_speaks_tls13_only(
    demo: Demo, other_host: OtherHost, browser: Any
) -> None:
    from playwright.sync_api import Error

    # What each gateway wrote to its dashboard.url: HTTPS off loopback only.
    assert [m for m, url in demo.urls.items() if url.startswith("https://")] == ["bank-c"]
    assert demo.urls["bank-a"].startswith("http://127.0.0.1:")
    host = f"{other_host.address}:{_port(demo, 'bank-c')}"
    # The session's Playwright, launching a second Chromium: the other host's.
    remote = browser.browser_type.launch(
        executable_path=str(other_host.chromium),
        headless=True,
        args=[*CHROMIUM_ARGS, demo.spki_pin("bank-c")],
    )
    try:
        page = remote.new_context().new_page()
        refused: Any = page.goto(f"https://{host}/ledger")
        assert refused.status == 401
        response: Any = page.goto(f"https://{host}/ledger?token={TOKEN}")
        assert response.status == 200 and "token" not in page.url
        details = response.security_details()
        assert details["protocol"] == "TLS 1.3", details
        assert details["subjectName"] == "bank-c", details
        assert details["issuer"] == "Dashboard demo root CA", details
        (cookie,) = [c for c in page.context.cookies() if c["name"] == "riskshare_dashboard"]
        assert cookie["secure"] and cookie["httpOnly"], cookie
        assert "bank-c" in page.locator("body").inner_text()
        # The same port in plain HTTP answers nothing at all.
        with pytest.raises(Error):
            page.goto(f"http://{host}/")
    finally:
        remote.close()


def test_off_loopback_the_certificate_is_the_members_own(demo: Demo, other_host: OtherHost) -> None:
    address, port = other_host.address, _port(demo, "bank-c")
    credentials = load_member_credentials(demo.net.member("bank-c").member_dir)
    registered = credentials.fingerprint
    with demo.store("bank-c") as store:
        row: Any = store.state().get("gov.members", "bank-c")
    assert row["tls_fingerprint"] == registered
    # TLS 1.3, under the certificate the ledger registers for bank-c.
    pinned = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pinned.check_hostname = False
    pinned.load_verify_locations(cadata=credentials.ca_pem.decode("ascii"))
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        pinned.wrap_socket(raw) as tls,
    ):
        assert tls.version() == "TLSv1.3"
        der = tls.getpeercert(binary_form=True)
    assert der is not None and hashlib.sha256(der).digest() == registered
    # TLS 1.2 is refused.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        pytest.raises(ssl.SSLError),
    ):
        old.wrap_socket(raw).do_handshake()
    # Plain HTTP gets no HTTP answer (the token in it would have crossed in clear).
    plain = http.client.HTTPConnection(address, port, timeout=10)
    try:
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            plain.request("GET", "/", headers={"Authorization": f"Bearer {TOKEN}"})
            plain.getresponse()
    finally:
        plain.close()
