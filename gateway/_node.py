"""One member's gateway as the supervisor process runs it (the workers aside).

The node owns the local ledger replica — following the orderer (or, while it cannot be
reached, catching up from peer gateways), or, on the gateway that orders, the orderer
itself: embedded, or with ``ledger.ordering = "etcd"`` a proposer on the consortium's
etcd log (``ledger.LogOrderer``) — and everything that
writes on the member's behalf (index commitments, receipts, refunds), the querier with
its snapshot book, and the admin socket. Workers (`gateway._worker`) serve the
consortium port from the same data directory.

On start the node refuses to run when its own ledger record disagrees with its keys:
a gateway whose certificate is not the one registered would be refused by every peer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from gateway._admin import AdminService
from gateway._auth import StoreMembership
from gateway._config import Config
from gateway._enroll import MemberCredentials
from gateway._errors import ConfigError, GatewayError
from gateway._ledger_client import (
    LocalOrderer,
    OrdererLink,
    RemoteOrderer,
    TxSubmitter,
    peer_block_sources,
)
from gateway._ledger_service import LedgerService
from gateway._localstate import LocalState
from gateway._log import log_event
from gateway._pb.riskshare.admin.v1 import admin_pb2
from gateway._peers import PeerChannels, open_channel
from gateway._querier import Querier
from gateway._recorder import Recorder
from gateway._registry import consortium_registry
from gateway._rotation import RetainedKeys
from gateway._scenarios import ScenarioAdminService, add_scenario_admin
from gateway._server import (
    RunningServer,
    add_admin,
    add_ledger,
    start_admin_server,
    start_public_server,
)
from gateway._snapshots import SnapshotBook
from gateway._sync import LedgerFollower
from ledger import (
    EmbeddedOrderer,
    EtcdLog,
    EtcdTLS,
    LedgerError,
    LogOrderer,
    Orderer,
    Replica,
    Store,
    complain_body,
    consortium_info,
    get_member,
    index_row,
    list_types,
    now_ms,
)
from psi import IndexStore, default_pool, encode_elements

__all__ = ["Node"]

_log = logging.getLogger("riskshare.gateway.node")


def _warm_pool() -> None:
    # The querier blinds and verifies large batches on psi's processes; start them now.
    pool = default_pool()
    if pool is not None:
        pool.warm()


class Node:
    def __init__(
        self, config: Config, credentials: MemberCredentials, *, metrics: Any | None = None
    ) -> None:
        if credentials.member_id != config.member.id:
            raise ConfigError(
                f"member.id is {config.member.id} but the certificate names {credentials.member_id}"
            )
        self.config = config
        self.credentials = credentials
        self.member_id = credentials.member_id
        self.metrics = metrics
        config.member.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.store = Store(config.ledger_path)
        self.registry = consortium_registry()
        # Block time is bounded by this machine's clock plus the consortium's skew
        # (ledger.Replica): a proposer cannot move "now" into the future for the
        # contracts; such a block waits until our clock catches up (gateway._sync).
        self.replica = Replica(self.store, self.registry, clock=now_ms)
        if self.store.height < 0:
            self._apply_genesis()
        self._check_registration()
        self.local = LocalState(config.state_path)
        self.orderer: Orderer | None = None
        self.follower: LedgerFollower | None = None
        self.ordering_log: EtcdLog | None = None
        link: OrdererLink
        if config.ledger.serve_orderer:
            self.orderer = self._make_orderer()
            self.replica = self.orderer.replica
            link = LocalOrderer(self.orderer)
        else:
            self._orderer_channel = open_channel(credentials, config.ledger.orderer)
            link = RemoteOrderer(self._orderer_channel)
        self.submitter = TxSubmitter(
            self.member_id, credentials.signing_key, self.store, self.local, link
        )
        self.recorder = Recorder(
            self.member_id,
            self.store,
            self.local,
            self.submitter,
            config.index_path,
            metrics,
            retained=RetainedKeys(config.state_path),
        )
        # Queries read the ledger through their own connection, so they never wait
        # behind the lock the replica holds while it commits a block (SQLite's WAL
        # lets readers run beside the writer).
        self.reader = Store(config.ledger_path)
        self.peers = PeerChannels(credentials, self.reader)
        if self.orderer is None:
            # Blocks from the orderer, or from peers while it cannot be reached.
            self.follower = LedgerFollower(
                self.replica,
                self._orderer_channel,
                self.member_id,
                credentials.signing_key,
                peers=lambda: peer_block_sources(self.reader, self.peers, self.member_id),
            )
        self.snapshots = SnapshotBook(
            config.snapshot_dir, self.reader, self.peers, complain=self._complain
        )
        self.querier = Querier(
            member_id=self.member_id,
            signing_key=credentials.signing_key,
            store=self.reader,
            local=self.local,
            peers=self.peers,
            snapshots=self.snapshots,
            rng=os.urandom,
            retries=config.query.retries,
            legal_basis=config.query.legal_basis,
            metrics=metrics,
            refunds=self._claim_refund,
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._servers: list[RunningServer] = []
        self._ledger_services: list[LedgerService] = []
        self.started = time.time()

    # -- set-up ------------------------------------------------------------------------

    def _apply_genesis(self) -> None:
        path = self.config.ledger.genesis
        if path is None:
            raise ConfigError("the ledger is empty and ledger.genesis names no genesis block")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"ledger.genesis: cannot read {path} ({exc.strerror})") from None
        try:
            self.replica.apply(raw)
        except LedgerError as exc:
            raise ConfigError(
                f"ledger.genesis: {path} is not a valid genesis block: {exc}"
            ) from None

    def _make_orderer(self) -> Orderer:
        """The embedded orderer, or a proposer on the etcd log (``ledger.ordering``)."""
        ledger = self.config.ledger
        options: dict[str, Any] = {
            "member": self.member_id,
            "key": self.credentials.signing_key,
            "block_interval": ledger.block_interval,
        }
        if ledger.ordering != "etcd":
            return EmbeddedOrderer(self.store, self.registry, **options)
        chain = self.store.chain_id
        assert chain is not None  # genesis was applied above
        tls = (
            None
            if ledger.etcd_ca is None
            else EtcdTLS.from_files(ledger.etcd_ca, ledger.etcd_cert, ledger.etcd_key)
        )
        log = EtcdLog(ledger.etcd_endpoints, ledger.etcd_namespace or chain.hex(), tls=tls)
        try:
            # A new log starts with this consortium's genesis, so the first block cut
            # has a height below it (etcd heights never have gaps). The append is a
            # compare-and-put: several proposers starting at once write it once.
            if log.last_height() < 0:
                genesis = self.store.block(0)
                assert genesis is not None
                log.append(0, genesis)
            orderer = LogOrderer(self.store, self.registry, log, **options)
        except BaseException:
            log.close()
            raise
        self.ordering_log = log
        return orderer

    def _check_registration(self) -> None:
        member = get_member(self.store.state(), self.member_id)
        if member is None:
            raise ConfigError(f"{self.member_id} is not a member of this consortium's ledger")
        if member.tls_fingerprint != self.credentials.fingerprint:
            raise ConfigError("this gateway's TLS certificate is not the one on the ledger")
        if member.signing_key != self.credentials.signing_key.public_key().public_bytes_raw():
            raise ConfigError("this gateway's signing key is not the one on the ledger")

    def _complain(self, statement: bytes, signature: bytes) -> None:
        """File a peer's signed statement that contradicts its declaration (pub.complain,
        gateway._snapshots); the ledger's answer, refusal reason included, is logged."""
        result = self.submitter.submit("pub.complain", complain_body(statement, signature))
        log_event(
            _log,
            "complaint recorded" if result.ok else "complaint not recorded",
            logging.INFO if result.ok else logging.WARNING,
            height=result.height,
            reason=result.reason,
        )

    def _claim_refund(self, receipt_id: str, blinded: Any, evaluated: bytes, proof: bytes) -> None:
        self.local.claim_refund(
            receipt_id, encode_elements(list(blinded)), evaluated, proof, time.time_ns() // 10**6
        )

    # -- running -----------------------------------------------------------------------

    def start(self, *, admin: bool = True) -> None:
        if self.orderer is not None:
            self.orderer.start()
            service = LedgerService(self.store, orderer=self.orderer, replica=self.replica)
            self._ledger_services.append(service)
            self._servers.append(
                start_public_server(
                    self.credentials,
                    self.config.ledger.orderer_listen,
                    StoreMembership(self.store),
                    [add_ledger(service)],
                    requests_per_second=max(1000.0, self.config.limits.requests_per_second),
                    burst_seconds=self.config.limits.burst_seconds,
                    # Every follower holds two streams (blocks, checkpoints), each a
                    # server thread for its whole life; leave room for submissions.
                    threads=max(self.config.gateway.threads, 64),
                    reuse_port=False,
                    metrics=self.metrics,
                )
            )
        if self.follower is not None:
            self.follower.start()
        if admin:
            self._servers.append(
                start_admin_server(
                    self.config.admin_socket,
                    [add_admin(AdminService(self)), add_scenario_admin(ScenarioAdminService(self))],
                )
            )
        self._threads = [
            threading.Thread(target=_warm_pool, name="warm-pool", daemon=True),
            threading.Thread(target=self._record_loop, name="recorder", daemon=True),
            threading.Thread(target=self._snapshot_loop, name="snapshots", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, grace: float = 2.0) -> None:
        self._stop.set()
        for service in self._ledger_services:
            service.close()
        for server in self._servers:
            server.stop(grace)
        if self.follower is not None:
            self.follower.stop()
        # Closing the peers' channels cancels what the background threads are waiting for
        # (a snapshot fetch from a member that has just stopped waits for it to be ready,
        # up to its deadline), so they see the stop at once.
        self.peers.close()
        for thread in self._threads:
            thread.join(timeout=10)
        try:
            self._record_once(publish=False)
        except Exception:
            _log.warning("last receipts not recorded before stopping", exc_info=True)
        if self.orderer is not None:
            try:
                self.orderer.stop()
            except LedgerError:
                # The ordering log is unreachable: what was pending is dropped, and its
                # submitters sign and submit again after the restart.
                _log.warning("pending transactions not ordered before stopping", exc_info=True)
            finally:
                if self.ordering_log is not None:
                    self.ordering_log.close()
        self.querier.close()
        self.local.close()
        self.reader.close()
        self.store.close()

    def _record_once(self, *, publish: bool) -> None:
        if publish:
            # Hits and settlements first: a list the ledger refuses to publish must not
            # hold them up.
            self.recorder.report_hits()
            self.recorder.settle()
            self.recorder.publish()
            self.recorder.claim_refunds()
        self.recorder.drain()
        self.recorder.confirm()

    def _record_loop(self) -> None:
        last_publish = 0.0
        while not self._stop.wait(0.05):
            now = time.monotonic()
            publish = now - last_publish >= 2.0
            try:
                self._record_once(publish=publish)
                if publish:
                    last_publish = now
            except GatewayError as exc:
                log_event(_log, "recording paused", logging.WARNING, reason=str(exc)[:200])
                self._stop.wait(1.0)
            except Exception:
                _log.error("recording failed", exc_info=True)
                self._stop.wait(1.0)
            if self.metrics is not None:
                self.metrics.ledger_height.set(self.store.height)

    def _snapshot_loop(self) -> None:
        interval = self.config.query.snapshot_sync_seconds
        while not self._stop.wait(interval):
            try:
                self.sync_snapshots([], now_ms())
            except Exception:
                if self._stop.is_set():
                    return  # a fetch cancelled by stop(), not a failure
                _log.error("snapshot sync failed", exc_info=True)

    def sync_snapshots(self, members: list[str], now_ms: int) -> dict[str, str]:
        kinds = sorted(list_types(self.store.state()))
        errors = self.snapshots.sync_all(kinds, self.member_id, now_ms)
        if members:
            errors = {k: v for k, v in errors.items() if k.split("/")[0] in members}
        if self.metrics is not None:
            for peer, list_type, snapshot in self.snapshots.held():
                self.metrics.snapshot_entries.labels(peer, list_type).set(len(snapshot))
        return errors

    # -- status ------------------------------------------------------------------------

    def own_lists(self) -> list[Any]:
        if not self.config.index_path.exists():
            return []
        index = IndexStore(self.config.index_path, pool=None)
        try:
            out = []
            for list_type in index.list_types():
                commitment = index.commitment(list_type)
                row = index_row(self.store.state(), self.member_id, list_type)
                out.append(
                    admin_pb2.SnapshotStatus(
                        list_type=list_type,
                        epoch=commitment.epoch,
                        size=commitment.size,
                        verified=row is not None and row.epoch == commitment.epoch,
                    )
                )
            return out
        finally:
            index.close()

    def peer_status(self) -> list[Any]:
        by_peer: dict[str, list[Any]] = {}
        for peer, list_type, snapshot in self.snapshots.held():
            by_peer.setdefault(peer, []).append(
                admin_pb2.SnapshotStatus(
                    list_type=list_type, epoch=snapshot.epoch, size=len(snapshot), verified=True
                )
            )
        state = self.store.state()
        out = []
        for peer, snapshots in sorted(by_peer.items()):
            member = get_member(state, peer)
            out.append(
                admin_pb2.PeerStatus(
                    member_id=peer,
                    address=member.address if member else "",
                    reachable=True,
                    snapshots=snapshots,
                )
            )
        return out

    def status_message(self) -> Any:
        head = self.store.head()
        info = consortium_info(self.store.state())
        return admin_pb2.StatusResponse(
            member_id=self.member_id,
            ledger_height=max(0, self.store.height),
            ledger_head=head.hash if head else b"",
            own_lists=self.own_lists(),
            peers=self.peer_status(),
            workers=self.config.worker_count(),
            normaliser_version=str(info["normaliser_version"]) if info else "",
        )
