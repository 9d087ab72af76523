"""One real 3-member etcd cluster on 127.0.0.1 for the etcd tests.

A missing etcd binary makes `LocalEtcdCluster` raise, so every test that uses these
fixtures errors out instead of skipping. Tests that kill members use `cluster`, which
restarts whatever they left down before the next test runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger._etcd import EtcdLog
from ledger._etcd_local import LocalEtcdCluster


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEtcdCluster]:
    base: Path = tmp_path_factory.mktemp("etcd")
    with LocalEtcdCluster(base, size=3) as cluster:
        yield cluster


@pytest.fixture
def cluster(etcd_cluster: LocalEtcdCluster) -> Iterator[LocalEtcdCluster]:
    etcd_cluster.wait_healthy(30)
    yield etcd_cluster
    for i in range(etcd_cluster.size):
        if not etcd_cluster.is_running(i):
            etcd_cluster.restart(i)
    etcd_cluster.wait_healthy(30)


@pytest.fixture
def namespace() -> str:
    # Each test writes under its own consortium prefix, so tests never see each other.
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture
def log(cluster: LocalEtcdCluster, namespace: str) -> Iterator[EtcdLog]:
    with EtcdLog(cluster.endpoints, namespace) as log:
        yield log
