"""The querier's verified copies of other members' indexes (snapshot mode, DESIGN §4).

For each (peer, list type) the book holds a :class:`psi.Snapshot` whose digest matches
the commitment the peer published on the ledger — the ledger, not the peer, is the
trust anchor — and keeps it current: when the ledger shows a newer epoch it fetches
the delta from the held epoch (or the whole snapshot when no delta bridges them) and
verifies the result against the new commitment before replacing the old copy.
Verified snapshots are saved under ``<data-dir>/snapshots/`` so a restart does not
refetch them; a saved file is verified again when loaded.

A peer that serves a snapshot contradicting its own declaration is held to it. With the
last chunk of every snapshot the responder sends a signed statement of what it served
(``ledger.ServedSnapshot``: list, epoch, entry count, SHA-256 of the bytes). When the
bytes do not match the ledger's commitment, but do hash to the statement's digest, and
the statement — for the epoch in force, signed with the peer's registered key —
names another digest or another size than ``pub.index``, the book files it on the
ledger (``pub.complain``, once per list and epoch): the ledger suspends that list's
reciprocity and grants until the peer publishes a new epoch, and the book stops
fetching a suspended list (:func:`publishers` leaves it out). A delta that does not
verify is not evidence (it is not what was declared); the book then takes the whole
snapshot, which is.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from gateway._errors import PeerError, UnavailableError
from gateway._log import log_event
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._peers import PeerChannels
from gateway._status import error_from_rpc
from gateway._stubs import psi_stub
from ledger import (
    LedgerError,
    ServedSnapshot,
    SignatureError,
    Store,
    consortium_info,
    get_member,
    index_row,
    index_rows,
    verify_signature,
)
from psi import Commitment, ProtocolError, Snapshot

__all__ = ["Complain", "SnapshotBook", "published_commitment", "publishers"]

_log = logging.getLogger("riskshare.gateway.snapshots")

# Files a pub.complain (the statement bytes and the peer's signature over them).
Complain = Callable[[bytes, bytes], None]


def publishers(store: Store, list_type: str, now_ms: int, exclude: str = "") -> list[str]:
    """Active members of role ``member`` whose ``list_type`` is in force: non-empty, in
    date, and not suspended by a complaint (``ledger.IndexRow.in_force``)."""
    state = store.state()
    found = []
    for row in index_rows(state):
        if row.list_type != list_type or row.member == exclude or not row.in_force(now_ms):
            continue
        member = get_member(state, row.member)
        if member is not None and member.active and member.role == "member":
            found.append(row.member)
    return sorted(found)


def published_commitment(
    store: Store, member_id: str, list_type: str, label_bytes: int
) -> Commitment | None:
    """The psi commitment a member's ``pub.index`` row stands for."""
    state = store.state()
    row = index_row(state, member_id, list_type)
    info = consortium_info(state)
    if row is None or info is None:
        return None
    try:
        key_id = bytes.fromhex(row.key_id)
    except (ValueError, TypeError):
        return None
    return Commitment(
        list_type=list_type,
        epoch=row.epoch,
        size=row.size,
        tags_root=row.root,
        snapshot_digest=row.snapshot_digest,
        key_id=key_id,
        normaliser_version=str(info["normaliser_version"]),
        label_bytes=label_bytes,
    )


@dataclass(frozen=True, slots=True)
class _Held:
    snapshot: Snapshot
    label_bytes: int


class SnapshotBook:
    def __init__(
        self,
        directory: Path,
        store: Store,
        peers: PeerChannels,
        complain: Complain | None = None,
    ) -> None:
        self._dir = directory
        self._store = store
        self._peers = peers
        self._complain = complain
        # (peer, list type, epoch) complained about: one complaint per declaration.
        self._complained: set[tuple[str, str, int]] = set()
        self._held: dict[tuple[str, str], _Held] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, member_id: str, list_type: str) -> Path:
        return self._dir / f"{member_id}.{list_type}.snap"

    def _key_lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def held(self) -> Iterator[tuple[str, str, Snapshot]]:
        with self._lock:
            items = list(self._held.items())
        for (member_id, list_type), held in items:
            yield member_id, list_type, held.snapshot

    def current(self, member_id: str, list_type: str) -> Snapshot:
        """A snapshot matching the peer's latest commitment on the ledger, synced if needed."""
        key = (member_id, list_type)
        with self._key_lock(key):
            return self._sync(member_id, list_type)

    def _label_bytes(self, member_id: str, list_type: str, stub: Any) -> int:
        held = self._held.get((member_id, list_type))
        if held is not None:
            return held.label_bytes
        reply = stub.GetCommitment(
            psi_pb2.GetCommitmentRequest(list_type=list_type), timeout=10, wait_for_ready=True
        )
        return int(reply.label_bytes)

    def _load_saved(
        self, member_id: str, list_type: str, commitment: Commitment
    ) -> Snapshot | None:
        path = self._path(member_id, list_type)
        if not path.exists():
            return None
        try:
            return Snapshot.load(path.read_bytes(), commitment)
        except ProtocolError:
            return None

    def _sync(self, member_id: str, list_type: str) -> Snapshot:
        key = (member_id, list_type)
        row = index_row(self._store.state(), member_id, list_type)
        if row is not None and row.suspended is not None:
            raise UnavailableError(
                f"{member_id}'s {list_type} list is suspended: the snapshot it serves does"
                " not match its declaration"
            )
        held = self._held.get(key)
        stub = psi_stub(self._peers.channel(member_id))
        try:
            label_bytes = self._label_bytes(member_id, list_type, stub)
        except grpc.RpcError as exc:
            if held is None:
                raise error_from_rpc(exc, member_id) from None
            label_bytes = held.label_bytes
        commitment = published_commitment(self._store, member_id, list_type, label_bytes)
        if commitment is None:
            raise UnavailableError(f"{member_id} has published no {list_type} list")
        if held is not None and held.snapshot.commitment == commitment:
            return held.snapshot
        snapshot = None
        if held is None:
            snapshot = self._load_saved(member_id, list_type, commitment)
        try:
            if snapshot is None and held is not None and held.snapshot.epoch < commitment.epoch:
                snapshot = self._delta(stub, member_id, held.snapshot, commitment)
            if snapshot is None:
                data, served = self._fetch(
                    stub.StreamSnapshot(
                        psi_pb2.StreamSnapshotRequest(list_type=list_type, epoch=commitment.epoch),
                        timeout=120,
                        wait_for_ready=True,
                    )
                )
                try:
                    snapshot = Snapshot.load(data, commitment)
                except ProtocolError:
                    self._hold_to_statement(member_id, commitment, data, served)
                    raise
        except ProtocolError:
            raise PeerError(
                f"{member_id}'s {list_type} snapshot does not match the ledger"
            ) from None
        except grpc.RpcError as exc:
            error = error_from_rpc(exc, member_id)
            raise UnavailableError(
                f"cannot fetch {member_id}'s {list_type} snapshot: {error}"
            ) from None
        self._save(member_id, list_type, snapshot)
        with self._lock:
            self._held[key] = _Held(snapshot, label_bytes)
        log_event(
            _log,
            "snapshot verified",
            peer=member_id,
            list_type=list_type,
            epoch=snapshot.epoch,
            entries=len(snapshot),
        )
        return snapshot

    def _delta(
        self, stub: Any, member_id: str, snapshot: Snapshot, commitment: Commitment
    ) -> Snapshot | None:
        """The new epoch from the held one and a delta; ``None`` to take it whole (no
        delta bridges the epochs, or the delta does not verify: only a whole snapshot
        comes with the statement a complaint needs)."""
        try:
            data, _ = self._fetch(
                stub.StreamDelta(
                    psi_pb2.StreamDeltaRequest(
                        list_type=commitment.list_type,
                        from_epoch=snapshot.epoch,
                        to_epoch=commitment.epoch,
                    ),
                    timeout=120,
                    wait_for_ready=True,
                )
            )
        except grpc.RpcError as exc:
            if error_from_rpc(exc).code == "FAILED_PRECONDITION":
                return None  # no delta bridges the epochs (a key rotation): take it whole
            raise
        try:
            return snapshot.apply_delta(data, commitment)
        except ProtocolError:
            log_event(
                _log,
                "delta does not verify, fetching the whole snapshot",
                logging.WARNING,
                peer=member_id,
                list_type=commitment.list_type,
                epoch=commitment.epoch,
            )
            return None

    @staticmethod
    def _fetch(chunks: Any) -> tuple[bytes, tuple[bytes, bytes]]:
        """The joined bytes, and the statement and signature the last chunk carries."""
        parts = []
        for expected, chunk in enumerate(chunks):
            if chunk.index != expected:
                raise ProtocolError("snapshot chunks out of order")
            parts.append(bytes(chunk.data))
            if chunk.last:
                served = (bytes(chunk.served_statement), bytes(chunk.served_signature))
                return b"".join(parts), served
        raise ProtocolError("snapshot stream ended early")

    def _hold_to_statement(
        self, member_id: str, commitment: Commitment, data: bytes, served: tuple[bytes, bytes]
    ) -> None:
        """File ``pub.complain`` if the peer's signed statement proves that what it
        served for the epoch in force contradicts its declaration (module docstring).
        Anything short of that proof (no statement, another epoch, bytes that are not
        the ones described, a bad signature) proves nothing: only the fetch fails."""
        statement, signature = served
        if self._complain is None or not statement:
            return
        try:
            claim = ServedSnapshot.decode(statement)
        except LedgerError:
            return
        state = self._store.state()
        row = index_row(state, member_id, commitment.list_type)
        member = get_member(state, member_id)
        if (
            row is None
            or member is None
            or row.suspended is not None
            or claim.chain != self._store.chain_id
            or (claim.member, claim.list_type, claim.epoch)
            != (member_id, commitment.list_type, row.epoch)
            or claim.digest != hashlib.sha256(data).digest()
            or (claim.digest, claim.size) == (row.snapshot_digest, row.size)
        ):
            return
        try:
            verify_signature(member.signing_key, statement, signature)
        except SignatureError:
            return
        declared = (member_id, commitment.list_type, row.epoch)
        with self._lock:
            if declared in self._complained:
                return
            self._complained.add(declared)
        log_event(
            _log,
            "snapshot contradicts its declaration: complaint filed",
            logging.WARNING,
            peer=member_id,
            list_type=commitment.list_type,
            epoch=row.epoch,
            declared_size=row.size,
            served_size=claim.size,
        )
        try:
            self._complain(statement, signature)
        except Exception as exc:
            # The orderer could not be reached, say: the next sync tries again.
            with self._lock:
                self._complained.discard(declared)
            log_event(_log, "complaint not submitted", logging.WARNING, error=type(exc).__name__)

    def _save(self, member_id: str, list_type: str, snapshot: Snapshot) -> None:
        path = self._path(member_id, list_type)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(snapshot.to_bytes())
        os.replace(temporary, path)

    def sync_all(self, list_types: list[str], me: str, now_ms: int) -> dict[str, str]:
        """Bring every peer's snapshot of every list type up to date; errors by peer."""
        errors: dict[str, str] = {}
        for list_type in list_types:
            for member_id in publishers(self._store, list_type, now_ms, exclude=me):
                try:
                    self.current(member_id, list_type)
                except (UnavailableError, PeerError) as exc:
                    errors[f"{member_id}/{list_type}"] = str(exc)
        return errors
