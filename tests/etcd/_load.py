"""Contending proposers: several writers race for every height, as orderers do."""

from __future__ import annotations

import threading
from collections import defaultdict

from ledger._etcd import EtcdLog
from ledger._etcdpb import rpc_pb2


def block_of(writer: str, height: int) -> bytes:
    return b"%s-%d-" % (writer.encode(), height) + bytes([height % 251]) * 64


class Race:
    """Writers append heights 0..n-1 in order; each records the heights it won."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.wins: dict[int, list[str]] = defaultdict(list)
        self.errors: list[BaseException] = []
        self.progress = 0  # highest height any writer has finished with, plus one
        self._lock = threading.Lock()

    def run(self, writer: str, log: EtcdLog) -> None:
        try:
            for h in range(self.n):
                # Win or lose, the height is taken afterwards, so h + 1 has no gap below.
                won = log.append(h, block_of(writer, h))
                with self._lock:
                    if won:
                        self.wins[h].append(writer)
                    self.progress = max(self.progress, h + 1)
        except BaseException as exc:
            self.errors.append(exc)

    def check(self, log: EtcdLog) -> None:
        """Every height has exactly one winner, whose bytes are stored, written once."""
        assert not self.errors, self.errors
        assert sorted(self.wins) == list(range(self.n))
        doubles = {h: w for h, w in self.wins.items() if len(w) != 1}
        assert not doubles, f"heights won more than once: {doubles}"
        client = log._client
        request = rpc_pb2.RangeRequest(
            key=log.layout.heights_start, range_end=log.layout.heights_end
        )
        kvs = client.range(request, client.deadline()).kvs
        assert [log.layout.height_of(kv.key) for kv in kvs] == list(range(self.n))
        assert all(kv.version == 1 for kv in kvs), "a height was overwritten"
        assert [bytes(kv.value) for kv in kvs] == [
            block_of(self.wins[h][0], h) for h in range(self.n)
        ]

    def expected(self) -> list[tuple[int, bytes]]:
        return [(h, block_of(self.wins[h][0], h)) for h in range(self.n)]
