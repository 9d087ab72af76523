"""Generated protobuf and gRPC stubs of etcd's v3 API (v3.4), used by `ledger._etcd`.

Regenerate with `tools/gen_etcd_stubs.sh` from the protos vendored in `tools/proto/etcd/`;
never edit the generated modules by hand.
"""
