"""The watcher's store and its pure decisions (gateway._watch_store, gateway._watcher)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gateway import InvalidRequestError
from gateway._watch_store import Evaluation, WatchStore, read_watch, tag_int
from gateway._watcher import delta_changes, due
from gateway.watch import BookRejected, add_watch_book
from psi import Delta


@pytest.fixture
def store(tmp_path: Path) -> WatchStore:
    return WatchStore(tmp_path / "watch.sqlite")


def test_a_book_needs_a_replica_and_is_not_stored_without_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="no ledger replica"):
        add_watch_book(tmp_path, "c", "transaction_fraud", "phone", [("13900000001", "")], 1)
    assert not (tmp_path / "watch.sqlite").exists()


def test_rejections_are_reported_by_line_and_reason_never_by_value() -> None:
    exc = BookRejected([(2, "phone_format"), (3, "phone_format")], 3)
    assert "2 of 3 identifiers rejected" in str(exc) and "line 3: phone_format" in str(exc)


def test_the_store_is_private_and_an_absent_one_reads_empty(tmp_path: Path) -> None:
    assert read_watch(tmp_path / "none.sqlite").books == ()
    assert not (tmp_path / "none.sqlite").exists()
    WatchStore(tmp_path / "w.sqlite").close()
    assert stat.S_IMODE(os.stat(tmp_path / "w.sqlite").st_mode) == 0o600


def test_a_taken_name_or_an_empty_book_changes_nothing(store: WatchStore) -> None:
    store.add_book("c", "transaction_fraud", "phone", [("13900000001", "r1")], 1)
    with pytest.raises(InvalidRequestError, match="exists"):
        store.add_book("c", "transaction_fraud", "phone", [("13900000002", "r2")], 2)
    with pytest.raises(InvalidRequestError, match="at least one"):
        store.add_book("d", "transaction_fraud", "phone", [], 2)
    with pytest.raises(InvalidRequestError, match="without '/'"):
        store.add_book("a/b", "transaction_fraud", "phone", [("13900000002", "")], 2)
    assert [(b.name, b.size) for b in store.books()] == [("c", 1)]
    assert store.values("c") == [(1, "13900000001")]


def test_alerts_raise_once_clear_once_and_name_no_identifier(store: WatchStore) -> None:
    store.add_book("c", "transaction_fraud", "phone", [("13900000001", "r1")], 1)
    assert store.raise_alert("c", 1, "bank-b", "transaction_fraud", 3, 10)
    assert not store.raise_alert("c", 1, "bank-b", "transaction_fraud", 3, 11)
    (alert,) = store.alerts()
    assert (alert.ref, alert.raised_ms, alert.open) == ("r1", 10, True)
    assert "13900000001" not in repr(alert)
    assert store.clear_alert("c", 1, "bank-b", 20)
    assert not store.clear_alert("c", 1, "bank-b", 21)
    assert store.alerts() == []
    assert store.alerts(include_cleared=True)[0].cleared_ms == 20
    # Raised again after a relisting.
    assert store.raise_alert("c", 1, "bank-b", "transaction_fraud", 5, 30)
    assert store.open_alerts("bank-b") == [("c", 1)]


def test_outputs_match_a_delta_only_under_the_evaluated_key(store: WatchStore) -> None:
    store.add_book("c", "transaction_fraud", "phone", [("13900000001", ""), ("13900000002", "")], 1)
    tags = [(1, tag_int(b"\x80" + b"\x01" * 7)), (2, tag_int(b"\x02" * 8))]
    store.save_evaluation(Evaluation("c", "bank-b", "k1", 0, 30, 5), tags)
    assert store.matching("bank-b", "k1", [tags[0][1], 12345]) == [("c", 1, tags[0][1])]
    assert store.matching("bank-b", "k2", [tags[0][1]]) == []
    assert store.matching("bank-c", "k1", [tags[0][1]]) == []
    # A new evaluation replaces the outputs whole.
    store.save_evaluation(Evaluation("c", "bank-b", "k2", 1, 31, 6), [(1, 7)])
    assert store.outputs("c", "bank-b") == [(1, 7)]
    assert store.matching("bank-b", "k2", [7]) == [("c", 1, 7)]


def test_tags_round_trip_as_signed_integers() -> None:
    for tag in (b"\x00" * 8, b"\xff" * 8, b"\x80" + b"\x00" * 7, os.urandom(8)):
        value = tag_int(tag + b"rest of the output")
        assert value.to_bytes(8, "big", signed=True) == tag


def test_an_evaluation_is_due_when_absent_rotated_or_out_of_term() -> None:
    ev = Evaluation("c", "bank-b", "k1", 3, 33, 0)
    assert due(None, "k1", 3)
    assert not due(ev, "k1", 3) and not due(ev, "k1", 32)
    assert due(ev, "k2", 3)  # the responder rotated its key
    assert due(ev, "k1", 33)  # the term it paid for ran out


def test_delta_changes_are_the_tags_it_adds_and_removes() -> None:
    delta = Delta(
        "transaction_fraud",
        b"k" * 32,
        1,
        2,
        0,
        removed=((b"\x01" * 8, b""),),
        added=((b"\xfe" * 8, b""), (b"\x03" * 8, b"")),
    )
    changes = delta_changes(delta)
    assert changes.added == (tag_int(b"\xfe" * 8), tag_int(b"\x03" * 8))
    assert changes.removed == (tag_int(b"\x01" * 8),)
