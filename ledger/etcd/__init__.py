"""The etcd ordering log: its client, and a local cluster for tests and benchmarks.

A production consortium runs its own etcd cluster (docs/ETCD.md); ``LocalEtcdCluster``
starts one from Debian's ``etcd-server`` on loopback, for the suite, the demo's etcd
mode and the benchmarks. ``rpc_pb2`` is etcd's own KV protocol, for a benchmark's raw
reference.
"""

from ledger._etcd import EtcdLog
from ledger._etcd_client import EtcdClient, EtcdTLS
from ledger._etcd_local import EtcdServerTLS, LocalEtcdCluster
from ledger._etcdpb import rpc_pb2

__all__ = ["EtcdClient", "EtcdLog", "EtcdServerTLS", "EtcdTLS", "LocalEtcdCluster", "rpc_pb2"]
