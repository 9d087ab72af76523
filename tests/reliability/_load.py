"""A bounded load generator: members querying each other through their own gateways.

Each querying member gets ``threads`` client threads. A thread asks its member's
gateway over the admin socket, as ``riskshare query`` does, in a closed loop: a batch of
one to four phone numbers — some on other members' lists, some on nobody's, drawn from
the campaign's ground truth — either broadcast to every publisher or sent to one
member. The generator stops by itself after ``queries`` queries or ``seconds``, whichever
comes first (or when told to).

Every query is recorded with its latency and, per responder, the outcome: the verdicts
(checked against the ground truth), the receipt id when answered, or the error code
when not. A query whose own gateway is down is recorded as refused before it was sent
(``local_error``): nothing left the querier, so nothing can have been charged.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway._client import AdminClient
from gateway._demo import LIST, Samples
from gateway._errors import GatewayError

__all__ = ["Answer", "LoadGenerator", "LoadStats", "QueryRecord", "percentile"]


@dataclass(frozen=True, slots=True)
class Answer:
    responder: str
    code: str  # "" when answered
    receipt: str = ""
    correct: bool = True
    attempts: int = 0
    refunded: bool = False
    epoch: int = 0  # the responder's index epoch the answer was looked up in

    @property
    def ok(self) -> bool:
        return not self.code


@dataclass(frozen=True, slots=True)
class QueryRecord:
    querier: str
    started: float  # time.monotonic()
    ms: float
    answers: tuple[Answer, ...] = ()
    local_error: str = ""  # the querier's own gateway did not take the query

    @property
    def ok(self) -> bool:
        return not self.local_error and all(a.ok for a in self.answers)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class LoadStats:
    queries: int
    ok: int
    failed: int
    answers: int
    answers_failed: int
    wrong: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "queries": self.queries,
            "ok": self.ok,
            "failed": self.failed,
            "answers": self.answers,
            "answers_failed": self.answers_failed,
            "wrong_verdicts": self.wrong,
            "seconds": round(self.seconds, 2),
            "queries_per_second": round(self.rate, 2),
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "max_ms": round(self.max_ms, 1),
            "failures": dict(sorted(self.failures.items())),
        }


class LoadGenerator:
    def __init__(
        self,
        sockets: dict[str, Path],
        samples: Samples,
        *,
        queries: int,
        seconds: float,
        threads: int = 1,
        seed: int = 1,
        pause: float = 0.0,
    ) -> None:
        self._sockets = sockets
        self._samples = samples
        self._limit = queries
        self._seconds = seconds
        self._threads_per = threads
        self._seed = seed
        self._pause = pause
        self._lock = threading.Lock()
        self._issued = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._progress = threading.Condition(self._lock)
        self.records: list[QueryRecord] = []
        self.started = 0.0
        self.finished = 0.0

    # -- control -------------------------------------------------------------------------

    def start(self) -> LoadGenerator:
        self.started = time.monotonic()
        for n, querier in enumerate(sorted(self._sockets)):
            for k in range(self._threads_per):
                rng = random.Random(f"{self._seed}/{querier}/{k}")
                thread = threading.Thread(
                    target=self._run, args=(querier, rng), name=f"load-{querier}-{k}", daemon=True
                )
                self._threads.append(thread)
                _ = n
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self.finished = time.monotonic()

    def run(self) -> list[QueryRecord]:
        """Start, wait until the bounds stop it, return the records."""
        self.start()
        self.join()
        return self.records

    def wait_for(
        self, predicate: Callable[[list[QueryRecord]], bool], timeout: float
    ) -> list[QueryRecord]:
        """Block until ``predicate(records)`` holds (or the load ended, or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._progress:
            while not predicate(self.records):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set() or not self.alive:
                    break
                self._progress.wait(min(remaining, 0.5))
            return list(self.records)

    def completed(self, count: int, timeout: float) -> list[QueryRecord]:
        """Block until ``count`` more queries completed than now."""
        target = len(self.records) + count
        return self.wait_for(lambda r: len(r) >= target, timeout)

    @property
    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # -- the load ------------------------------------------------------------------------

    def _take(self) -> bool:
        with self._lock:
            if self._issued >= self._limit:
                return False
            if time.monotonic() - self.started >= self._seconds:
                return False
            self._issued += 1
            return True

    def _values(self, querier: str, rng: random.Random) -> list[str]:
        samples = self._samples
        others = [m for m in samples.unique if m != querier]
        pool = [v for m in others for v in samples.unique[m]]
        values = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.4:
                values.append(rng.choice(pool))
            elif roll < 0.55:
                values.append(rng.choice(samples.shared))
            else:
                values.append(rng.choice(samples.fresh))
        return values

    def _run(self, querier: str, rng: random.Random) -> None:
        client: AdminClient | None = None
        members = sorted(self._sockets)
        try:
            while not self._stop.is_set() and self._take():
                values = self._values(querier, rng)
                targets: list[str] = []
                if rng.random() < 0.5:
                    targets = [rng.choice([m for m in members if m != querier])]
                if client is None:
                    try:
                        client = AdminClient(self._sockets[querier], timeout=60)
                    except GatewayError as exc:
                        self._record(QueryRecord(querier, time.monotonic(), 0.0, (), _name(exc)))
                        self._stop.wait(0.2)  # the querier's own gateway is down
                        continue
                record = self._ask(client, querier, values, targets)
                self._record(record)
                if record.local_error:
                    client.close()
                    client = None
                    self._stop.wait(0.2)
                    continue
                if self._pause:
                    self._stop.wait(self._pause)
        finally:
            if client is not None:
                client.close()
            with self._progress:
                self._progress.notify_all()

    def probe(self, querier: str, targets: list[str], timeout: float) -> QueryRecord:
        """One query now, outside the load's bounds, recorded like the load's own.

        Faults use it to show a party is back in service whether or not the load is
        still running; it retries (every 0.25 s) until an answered query or ``timeout``.
        """
        rng = random.Random(f"probe/{querier}/{len(self.records)}")
        deadline = time.monotonic() + timeout
        while True:
            record = self._ask(None, querier, self._values(querier, rng), targets)
            self._record(record)
            if (record.ok and record.answers) or time.monotonic() > deadline:
                return record
            time.sleep(0.25)

    def _ask(
        self, client: AdminClient | None, querier: str, values: list[str], targets: list[str]
    ) -> QueryRecord:
        started = time.monotonic()
        own = client is None
        try:
            if client is None:
                client = AdminClient(self._sockets[querier], timeout=60)
            reply = client.query(LIST, "phone", values, members=targets)
        except GatewayError as exc:
            return QueryRecord(
                querier, started, (time.monotonic() - started) * 1000, (), _name(exc)
            )
        finally:
            if own and client is not None:
                client.close()
        answers = []
        for answer in reply.answers:
            truth = [answer.member_id in self._samples.holders("phone", v) for v in values]
            answers.append(
                Answer(
                    responder=answer.member_id,
                    code=answer.error_code,
                    receipt=answer.receipt.decode(),
                    correct=bool(answer.error_code) or list(answer.hits) == truth,
                    attempts=answer.attempts,
                    refunded=answer.refunded,
                    epoch=answer.epoch,
                )
            )
        return QueryRecord(querier, started, (time.monotonic() - started) * 1000, tuple(answers))

    def _record(self, record: QueryRecord) -> None:
        with self._progress:
            self.records.append(record)
            self._progress.notify_all()


def _name(exc: Exception) -> str:
    return type(exc).__name__


def stats(records: Sequence[QueryRecord], seconds: float) -> LoadStats:
    """Totals, rate and latency percentiles of ``records`` (answered queries' latency)."""
    failures: dict[str, int] = {}
    for record in records:
        if record.local_error:
            failures[f"querier:{record.local_error}"] = (
                failures.get(f"querier:{record.local_error}", 0) + 1
            )
        for answer in record.answers:
            if not answer.ok:
                failures[answer.code] = failures.get(answer.code, 0) + 1
    latencies = [r.ms for r in records if r.ok]
    answers = [a for r in records for a in r.answers]
    return LoadStats(
        queries=len(records),
        ok=sum(r.ok for r in records),
        failed=sum(not r.ok for r in records),
        answers=len(answers),
        answers_failed=sum(not a.ok for a in answers),
        wrong=sum(not a.correct for a in answers),
        seconds=seconds,
        rate=len(records) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=0.0),
        failures=failures,
    )
