"""How long a gRPC stream across a cut link looks open: the gateway's keepalive, measured.

Usage (as root: it creates network namespaces):
    .venv/bin/python -m tests.wan._keepalive               # the gateway's settings
    .venv/bin/python -m tests.wan._keepalive --former      # 30 s ping, 10 s to answer
    .venv/bin/python -m tests.wan._keepalive --idle 65     # idle a minute before the cut

Two namespaces (tests/wan/_netns.py), a 30 ms relayed link between them. In one, a
gRPC server with the gateway's server options serves grpc health; in the other, a
channel with the gateway's peer channel options opens a health Watch stream, which
sends one status and then nothing. After ``--idle`` seconds the server's link is set
down (no RST, no FIN) and the probe prints, as JSON, how many seconds the client's
stream took to fail. docs/RELIABILITY.md ("Over a network") has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The former client settings, for comparison (before c89801d).
_FORMER = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


def _serve(listen: str) -> None:
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    from gateway._server import _options

    server = grpc.server(futures.ThreadPoolExecutor(4), options=_options(reuse_port=False))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(listen)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def _watch(target: str, former: bool) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from gateway._peers import _OPTIONS

    channel = grpc.insecure_channel(target, options=_FORMER if former else _OPTIONS)
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
    next(call)
    print("watching", flush=True)
    try:
        for _ in call:
            pass
    except grpc.RpcError as exc:
        print(f"ended {exc.code().name} {time.time()}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keepalive", description=__doc__.split("\n")[0])
    parser.add_argument("--former", action="store_true", help="the former client settings")
    parser.add_argument("--idle", type=float, default=2.0, help="seconds idle before the cut")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up after")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--watch", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve)
        return 0
    if args.watch:
        _watch(args.watch, args.former)
        return 0

    from tests.wan._netns import Network

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.setdefault("GRPC_VERBOSITY", "ERROR")
    me = [sys.executable, "-m", "tests.wan._keepalive"]
    with Network() as net:
        net.add("client")
        server = net.add("server")
        net.relay("server", {7400: 17400}, 15.0)
        served = net.spawn("server", [*me, "--serve", "127.0.0.1:17400"], env=env)
        assert served.stdout is not None and served.stdout.readline().strip() == "ready"
        argv = [*me, "--watch", f"{server.address}:7400", *(["--former"] if args.former else [])]
        watcher = net.spawn("client", argv, env=env)
        assert watcher.stdout is not None and watcher.stdout.readline().strip() == "watching"
        time.sleep(args.idle)
        cut = time.time()
        net.cut("server")
        lines: list[str] = []
        stdout = watcher.stdout
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(args.timeout)
        ended = lines[0].split() if lines and lines[0].startswith("ended") else []
        result = {
            "settings": "former" if args.former else "gateway",
            "idle_s": args.idle,
            "code": ended[1] if ended else None,
            "failed_after_s": round(float(ended[2]) - cut, 1) if ended else None,
        }
    print(json.dumps(result))
    return 0 if ended else 1


if __name__ == "__main__":
    sys.exit(main())
