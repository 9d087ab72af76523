"""A peer behind a silent partition is noticed: keepalive settings that hold together.

A link set down (tests/wan, docs/RELIABILITY.md "Over a network") sends no RST and no
FIN: an idle stream across it looked open for 39 s, or 66 s when it had been idle a
minute (gRPC stops pinging after two pings without data unless told otherwise), with
the former settings; 11-14 s with these. These are the properties the fix rests on;
the times were measured across namespaces (RELIABILITY.md).
"""

from __future__ import annotations

from gateway._peers import _OPTIONS
from gateway._server import _options


def test_clients_ping_often_enough_to_notice_a_silent_partition_within_15_s() -> None:
    client = dict(_OPTIONS)
    assert client["grpc.keepalive_time_ms"] + client["grpc.keepalive_timeout_ms"] <= 15_000
    # Pings go on however long a stream has carried nothing, and over idle channels.
    assert client["grpc.http2.max_pings_without_data"] == 0
    assert client["grpc.keepalive_permit_without_calls"] == 1


def test_servers_accept_those_pings() -> None:
    client, server = dict(_OPTIONS), dict(_options(reuse_port=False))
    assert server["grpc.keepalive_permit_without_calls"] == 1
    # A client pinging more often than the server allows gets its connection closed
    # ("too many pings"); half the interval leaves room for timers firing early.
    assert (
        2 * server["grpc.http2.min_ping_interval_without_data_ms"]
        <= client["grpc.keepalive_time_ms"]
    )
