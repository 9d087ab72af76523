"""A TCP relay in front of one etcd member that can be told to lose traffic.

It injects real network faults between our client and a real etcd: in `drop_responses`
mode requests still reach etcd (and commit) but no answer comes back, which is exactly
the ambiguous outcome `EtcdLog.append` must resolve; in `blackhole` mode nothing passes
either way.
"""

from __future__ import annotations

import contextlib
import socket
import threading

PASS = "pass"
DROP_RESPONSES = "drop_responses"
BLACKHOLE = "blackhole"


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self.mode = PASS
        self.requests_bytes_while_faulty = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        with self._lock:
            self.mode = mode

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    mode = self.mode
                    if upstream and mode == DROP_RESPONSES:
                        self.requests_bytes_while_faulty += len(data)
                if mode == BLACKHOLE or (mode == DROP_RESPONSES and not upstream):
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        self._listener.close()
        for s in sockets:
            s.close()
