"""``Step`` judges a step on the orderer's head, not on whatever its replica has so far.

A step usually follows another member's step that committed a moment ago (the financier
approves the financing the supplier just applied for). A fresh-clone CI run once refused
such a step — "approve_financing is not allowed when certificate 'M-1.2' is ACTIVE" —
because the financier's replica had not pulled the supplier's block yet. Here the
replica is one block behind the orderer and gets it only after ``Step`` started: the
step must wait for it, and must fail with a clear error when it never comes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gateway._errors import DeadlineError
from gateway._ledger_client import Committed
from gateway._pb.riskshare.scenarios.v1 import scenarios_pb2
from gateway._scenarios import ScenarioAdminService, encode_payload
from ledger import ContractError, Replica, Store
from tests.ledger.helpers import make_net, populate


class _Orderer:
    """The orderer as ``Step`` sees it: its head, and a submit that records what our
    replica held when the step was submitted (then refuses, ending the call)."""

    def __init__(self, head: int, replica: Store) -> None:
        self.head = head
        self.replica = replica
        self.submitted_at: list[int] = []

    def head_height(self, *, timeout: float) -> int:
        return self.head

    def submit(self, kind: str, body: Any, *, wait: bool = True) -> Committed:
        self.submitted_at.append(self.replica.height)
        return Committed(b"", False, reason="recorded by the test")


def _lagging(tmp_path: Path) -> tuple[Store, Store, Replica]:
    """The orderer's full chain, and a replica holding all of it but the head block."""
    net = make_net(("m1", "m2", "m3", "obs"), roles={"obs": "observer"})
    source = net.store(tmp_path / "orderer.sqlite")
    populate(net, source)
    store = Store(tmp_path / "replica.sqlite")
    replica = Replica(store, net.registry)
    replica.sync(source.block(h) or b"" for h in range(source.height))
    assert store.height == source.height - 1
    return source, store, replica


def _step(service: ScenarioAdminService) -> None:
    request = scenarios_pb2.StepRequest(
        kind="scf.accept",
        object="C-1",
        payload=encode_payload({}),
        cosigners=["m2"],  # ourselves only: no peer is asked
        version=-1,
    )
    service.Step(request, None)


def _service(tmp_path: Path, store: Store, orderer: _Orderer) -> ScenarioAdminService:
    node = SimpleNamespace(
        member_id="m2",
        store=store,
        submitter=SimpleNamespace(link=orderer, submit=orderer.submit),
        config=SimpleNamespace(member=SimpleNamespace(data_dir=tmp_path)),
    )
    return ScenarioAdminService(node)  # type: ignore[arg-type]


def test_a_step_waits_for_the_block_its_replica_has_not_pulled_yet(tmp_path: Path) -> None:
    source, store, replica = _lagging(tmp_path)
    orderer = _Orderer(source.height, store)
    service = _service(tmp_path, store, orderer)

    def deliver_late() -> None:
        time.sleep(0.3)
        replica.sync([source.block(source.height) or b""])

    late = threading.Thread(target=deliver_late)
    late.start()
    with pytest.raises(ContractError, match="recorded by the test"):
        _step(service)
    late.join()
    assert orderer.submitted_at == [source.height]  # judged on the head, not one behind
    source.close()
    store.close()


def test_a_replica_that_never_catches_up_is_a_clear_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, store, _ = _lagging(tmp_path)
    orderer = _Orderer(source.height, store)
    service = _service(tmp_path, store, orderer)
    monkeypatch.setattr("gateway._scenarios._REPLICA_WAIT_S", 0.2)
    with pytest.raises(DeadlineError, match=f"has not reached height {source.height}"):
        _step(service)
    assert orderer.submitted_at == []  # nothing submitted on the stale state
    source.close()
    store.close()
