"""The key layout and client configuration: pure checks, no etcd needed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger._errors import LedgerError
from ledger._etcd_client import EtcdClient, EtcdTLS
from ledger._etcd_errors import EtcdLogError
from ledger._etcd_keys import MAX_HEIGHT, KeyLayout, encode_height

heights = st.integers(min_value=0, max_value=MAX_HEIGHT)
LAYOUT = KeyLayout("consortium-a")


@given(heights)
def test_height_key_round_trips(height: int) -> None:
    key = LAYOUT.height_key(height)
    assert LAYOUT.height_of(key) == height
    assert LAYOUT.heights_start <= key < LAYOUT.heights_end


@given(heights, heights)
def test_byte_order_is_height_order(a: int, b: int) -> None:
    # Range reads return keys in byte order; that must be height order.
    assert (LAYOUT.height_key(a) < LAYOUT.height_key(b)) == (a < b)
    assert (encode_height(a) < encode_height(b)) == (a < b)


@given(st.binary(max_size=60))
def test_height_of_accepts_only_height_keys(raw: bytes) -> None:
    key = LAYOUT.heights_start + raw
    try:
        height = LAYOUT.height_of(key)
    except EtcdLogError:
        return
    assert LAYOUT.height_key(height) == key


def test_namespaces_do_not_overlap() -> None:
    a, b = KeyLayout("bank"), KeyLayout("bank2")
    assert not a.height_key(0).startswith(b.prefix)
    assert not (a.heights_start <= b.height_key(0) < a.heights_end)
    assert not (a.heights_start <= a.floor_key < a.heights_end)
    with pytest.raises(EtcdLogError):
        a.height_of(b.height_key(7))


@pytest.mark.parametrize("bad", [-1, MAX_HEIGHT + 1, True, 1.0, "3"])
def test_bad_heights_are_refused(bad: object) -> None:
    with pytest.raises(EtcdLogError):
        LAYOUT.height_key(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "a/b", "-x", "x" * 200, "é", "a b"])
def test_bad_namespaces_are_refused(bad: str) -> None:
    with pytest.raises(EtcdLogError):
        KeyLayout(bad)


def test_errors_share_the_ledger_root() -> None:
    assert issubclass(EtcdLogError, LedgerError)


def test_endpoint_forms() -> None:
    client = EtcdClient(["127.0.0.1:2379", "http://localhost:2380", "http://[::1]:2381/"])
    assert client.targets == ["127.0.0.1:2379", "localhost:2380", "[::1]:2381"]
    client.close()
    tls = EtcdTLS(ca_cert=b"-----BEGIN CERTIFICATE-----")
    secure = EtcdClient(["https://10.0.0.1:2379", "10.0.0.2:2379"], tls=tls)
    assert secure.targets == ["10.0.0.1:2379", "10.0.0.2:2379"]
    secure.close()


@pytest.mark.parametrize(
    ("endpoint", "tls"),
    [
        ("https://127.0.0.1:2379", None),  # TLS endpoint without credentials
        ("http://127.0.0.1:2379", EtcdTLS(ca_cert=b"x")),  # credentials on plain http
        ("unix:///tmp/etcd.sock", None),
        ("127.0.0.1", None),
        ("127.0.0.1:port", None),
    ],
)
def test_bad_endpoints_are_refused(endpoint: str, tls: EtcdTLS | None) -> None:
    with pytest.raises(EtcdLogError):
        EtcdClient([endpoint], tls=tls)


def test_client_needs_endpoints_and_sane_timeouts() -> None:
    with pytest.raises(EtcdLogError):
        EtcdClient([])
    with pytest.raises(EtcdLogError):
        EtcdClient(["127.0.0.1:2379"], call_timeout=0)


def test_tls_needs_cert_and_key_together() -> None:
    with pytest.raises(EtcdLogError):
        EtcdTLS(ca_cert=b"ca", client_cert=b"cert")
