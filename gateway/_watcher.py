"""Watchlists: a member's book, evaluated once per responder key, checked on every delta.

Rules, in order (issue 19; the leakage is stated in docs/THREAT_MODEL.md):

1. A book (``riskshare watch add``) lives only in ``watch.sqlite``
   (``gateway._watch_store``). For each publisher of its list type, the book is
   **evaluated** through the querier's ordinary VOPRF path with purpose ``watch``
   (blinded afresh, DLEQ proof verified under the key the ledger commits, receipt
   signed, charged by the responder at the watch price: ``token_incentive._watch``).
   The first 8 bytes of each verified output are kept per book line.
2. An evaluation is **due** (:func:`due`) when there is none for that responder, when
   the responder's ``pub.index`` names another OPRF key (a rotation: the old outputs
   match nothing the new snapshots hold), or when the credits epoch has reached the
   end of the term the last one paid for. A book goes in requests of
   :data:`WATCH_BATCH` identifiers (the default ``gateway.max_batch``); an evaluation
   interrupted part way is not kept (its answered batches are charged) and is run
   again whole.
3. After an evaluation the whole verified snapshot is checked against the book's
   outputs. After that only **deltas** are: each verified snapshot the snapshot book
   takes (``SnapshotBook.subscribe``) brings the delta that produced it; its added
   tags are looked up among the book's outputs under that key (an index probe per
   entry, :func:`delta_changes`), and its removed tags clear the alerts they raised
   unless the tag is still present. A snapshot taken whole is checked whole.
4. An alert is raised once per (book line, responder) while open and cleared on
   delisting; each change goes to ``riskshare watch alerts``, the dashboard, the
   Prometheus counter ``riskshare_watch_alerts_total`` and, if configured, a webhook
   (JSON without the identifier: book, line, the member's own reference, responder,
   list type, epoch).
5. The watch loop polls the replica every ``[watch] poll_seconds`` and brings the
   watched lists' snapshots to the epoch the ledger names, so an alert follows a
   publication within a poll and a delta fetch.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway._errors import GatewayError
from gateway._log import log_event
from gateway._querier import Querier
from gateway._snapshots import SnapshotBook, publishers
from gateway._watch_store import Alert, Book, Evaluation, WatchStore, tag_int
from ledger import Store, index_row
from psi import Delta, Snapshot
from token_incentive import WATCH_PURPOSE, current_epoch, params_from_state

__all__ = ["Watcher", "delta_changes", "due"]

_log = logging.getLogger("riskshare.gateway.watch")

# After a failed evaluation (a refusal: no reciprocity, no credit; or no answer), wait
# this long before asking that publisher again, so a refusal is not repeated every poll.
RETRY_AFTER_MS = 30_000

# Identifiers per evaluation request: the default ``gateway.max_batch`` every responder
# accepts (a larger request is refused whole, before any work).
WATCH_BATCH = 10_000


def due(evaluation: Evaluation | None, key_id: str, epoch: int) -> bool:
    """Whether a book must be evaluated (again) under a responder's key (rule 2)."""
    return evaluation is None or evaluation.key_id != key_id or epoch >= evaluation.until


@dataclass(frozen=True, slots=True)
class DeltaTags:
    """A delta's tags as the store indexes them."""

    added: tuple[int, ...]
    removed: tuple[int, ...]


def delta_changes(delta: Delta) -> DeltaTags:
    """The added and removed tags of a verified delta (rule 3)."""
    return DeltaTags(
        tuple(tag_int(tag) for tag, _ in delta.added),
        tuple(tag_int(tag) for tag, _ in delta.removed),
    )


def _present(snapshot: Snapshot, tag: int) -> bool:
    return snapshot.contains(tag.to_bytes(8, "big", signed=True))


class Watcher:
    def __init__(
        self,
        *,
        member_id: str,
        store: WatchStore,
        ledger: Store,
        querier: Querier,
        snapshots: SnapshotBook,
        now_ms: Callable[[], int],
        metrics: Any | None = None,
        webhook: str = "",
        deadline_ms: int = 120_000,
    ) -> None:
        self.member_id = member_id
        self.store = store
        self._ledger = ledger
        self._querier = querier
        self._snapshots = snapshots
        self._now = now_ms
        self._metrics = metrics
        self._webhook = webhook
        self._deadline_ms = deadline_ms
        # One evaluation at a time: a second would be charged for nothing.
        self._evaluating = threading.Lock()
        # (book, publisher) -> when its failed evaluation may be tried again.
        self._retry_at: dict[tuple[str, str], int] = {}
        snapshots.subscribe(self.on_snapshot)

    # -- the loop (rule 5) -------------------------------------------------------------

    def tick(self) -> None:
        """Evaluate what is due and bring every watched list's snapshot up to date."""
        now = self._now()
        for book in self.store.books():
            for responder in publishers(self._ledger, book.list_type, now, exclude=self.member_id):
                try:
                    self._evaluate_if_due(book, responder, now)
                    # Syncing calls on_snapshot with the delta when there is a new epoch.
                    self._snapshots.current(responder, book.list_type)
                except GatewayError as exc:
                    log_event(
                        _log,
                        "watch paused",
                        logging.WARNING,
                        peer=responder,
                        list_type=book.list_type,
                        reason=str(exc)[:200],
                    )

    def _evaluate_if_due(self, book: Book, responder: str, now: int) -> None:
        state = self._ledger.state()
        row = index_row(state, responder, book.list_type)
        if row is None:
            return
        epoch = current_epoch(state, now)
        if not due(self.store.evaluation(book.name, responder), row.key_id, epoch):
            return
        if now < self._retry_at.get((book.name, responder), 0):
            return
        with self._evaluating:
            try:
                self._evaluate(book, responder, row.key_id, epoch, now)
            except GatewayError:
                self._retry_at[(book.name, responder)] = now + RETRY_AFTER_MS
                raise
            self._retry_at.pop((book.name, responder), None)

    def _evaluate(self, book: Book, responder: str, key_id: str, epoch: int, now: int) -> None:
        p = params_from_state(self._ledger.state())
        rows = self.store.values(book.name)
        tags: list[tuple[int, int]] = []
        batch = min(WATCH_BATCH, p.max_items)
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            result = self._querier.query(
                book.list_type,
                book.id_type,
                [value for _, value in chunk],
                members=[responder],
                purpose=WATCH_PURPOSE,
                deadline_ms=self._deadline_ms,
            )
            (answer,) = result.answers or (None,)
            if answer is None or not answer.ok or len(answer.tags) != len(chunk):
                why = "no answer" if answer is None else answer.error_code or "no tags"
                raise GatewayError(f"watch evaluation of {book.name} by {responder}: {why}")
            tags.extend(
                (line, tag_int(tag)) for (line, _), tag in zip(chunk, answer.tags, strict=True)
            )
        evaluation = Evaluation(
            book.name, responder, key_id, epoch, epoch + p.watch_epochs, self._now()
        )
        self.store.save_evaluation(evaluation, tags)
        log_event(
            _log,
            "watch evaluated",
            peer=responder,
            list_type=book.list_type,
            items=len(tags),
            epoch=epoch,
        )
        self._check_whole(book, responder, self._snapshots.current(responder, book.list_type))

    # -- checking (rules 3 and 4) ------------------------------------------------------

    def on_snapshot(
        self, responder: str, list_type: str, snapshot: Snapshot, delta: Delta | None
    ) -> None:
        key_id = snapshot.commitment.key_id.hex()
        books = [b for b in self.store.books() if b.list_type == list_type]
        if not books:
            return
        if delta is None:
            for book in books:
                ev = self.store.evaluation(book.name, responder)
                if ev is not None and ev.key_id == key_id:
                    self._check_whole(book, responder, snapshot)
            return
        changes = delta_changes(delta)
        now = self._now()
        names = {b.name for b in books}
        for name, line, _ in self.store.matching(responder, key_id, changes.added):
            if name in names:
                self._raise(name, line, responder, list_type, snapshot.epoch, now)
        for name, line, tag in self.store.matching(responder, key_id, changes.removed):
            # Another entry with the same 8-byte tag may remain (a relisting in the
            # same delta, or a chance collision): only an absent tag clears.
            if name in names and not _present(snapshot, tag):
                self._clear(name, line, responder, list_type, now)

    def _check_whole(self, book: Book, responder: str, snapshot: Snapshot) -> None:
        ev = self.store.evaluation(book.name, responder)
        if ev is None or ev.key_id != snapshot.commitment.key_id.hex():
            return
        now = self._now()
        listed = {
            line
            for line, tag in self.store.outputs(book.name, responder)
            if _present(snapshot, tag)
        }
        for line in sorted(listed):
            self._raise(book.name, line, responder, book.list_type, snapshot.epoch, now)
        for name, line in self.store.open_alerts(responder, book.name):
            if line not in listed:
                self._clear(name, line, responder, book.list_type, now)

    def _raise(
        self, book: str, line: int, responder: str, list_type: str, epoch: int, now: int
    ) -> None:
        if not self.store.raise_alert(book, line, responder, list_type, epoch, now):
            return
        if self._metrics is not None:
            self._metrics.watch_alerts.labels(responder, list_type).inc()
        log_event(_log, "watch alert", peer=responder, list_type=list_type, book=book, line=line)
        self._notify("raised", book, line, responder, list_type, epoch, now)

    def _clear(self, book: str, line: int, responder: str, list_type: str, now: int) -> None:
        if not self.store.clear_alert(book, line, responder, now):
            return
        if self._metrics is not None:
            self._metrics.watch_alerts_cleared.labels(responder, list_type).inc()
        log_event(
            _log, "watch alert cleared", peer=responder, list_type=list_type, book=book, line=line
        )
        self._notify("cleared", book, line, responder, list_type, 0, now)

    def _notify(
        self, event: str, book: str, line: int, responder: str, list_type: str, epoch: int, now: int
    ) -> None:
        if not self._webhook:
            return
        body = {
            "event": event,
            "book": book,
            "line": line,
            "ref": self.store.ref(book, line),
            "responder": responder,
            "list_type": list_type,
            "epoch": epoch,
            "time_ms": now,
        }
        threading.Thread(
            target=_post, args=(self._webhook, body), name="watch-webhook", daemon=True
        ).start()

    def alerts(self, *, include_cleared: bool = False) -> Sequence[Alert]:
        return self.store.alerts(include_cleared=include_cleared)


def _post(url: str, body: dict[str, Any]) -> None:
    """POST one alert as JSON; a failure is logged (the alert stays in the store)."""
    data = json.dumps(body, sort_keys=True).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()
    except OSError as exc:
        log_event(_log, "watch webhook failed", logging.WARNING, error=type(exc).__name__)
