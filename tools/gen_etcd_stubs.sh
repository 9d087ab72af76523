#!/usr/bin/env bash
# Regenerates ledger/_etcdpb/ (Python protobuf + gRPC stubs of etcd's v3 API) from the
# .proto files vendored, unmodified, under tools/proto/etcd/ (see its README.md).
#
# etcd's protos import gogoproto and google.api.http annotations that only matter to Go
# code generation and to the grpc-gateway; both are stripped in a scratch copy so protoc
# runs without those dependencies. The messages and services keep their wire shape.
# The copies are placed at ledger/_etcdpb/*.proto inside the scratch tree, so protoc
# writes package imports (`from ledger._etcdpb import kv_pb2`) and the generated modules
# import as a package. Run from anywhere: tools/gen_etcd_stubs.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
src="$root/tools/proto/etcd"
out="$root/ledger/_etcdpb"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ledger/_etcdpb"

"$py" - "$src" "$tmp/ledger/_etcdpb" <<'PY'
import re
import sys
from pathlib import Path

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
files = {
    "etcdserver/etcdserverpb/rpc.proto": "rpc.proto",
    "mvcc/mvccpb/kv.proto": "kv.proto",
    "auth/authpb/auth.proto": "auth.proto",
}
imports = {
    'import "etcd/mvcc/mvccpb/kv.proto";': 'import "ledger/_etcdpb/kv.proto";',
    'import "etcd/auth/authpb/auth.proto";': 'import "ledger/_etcdpb/auth.proto";',
}
dropped_imports = ('import "gogoproto/gogo.proto";', 'import "google/api/annotations.proto";')


def strip_http_options(text: str) -> str:
    # `option (google.api.http) = { ... };` nests braces (additional_bindings), so it is
    # removed by brace matching rather than by a regular expression.
    marker = re.compile(r"option\s*\(google\.api\.http\)\s*=\s*\{")
    while (m := marker.search(text)) is not None:
        depth, i = 1, m.end()
        while depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if text[i : i + 1] == ";":
            i += 1
        text = text[: m.start()] + text[i:]
    return text


for rel, name in files.items():
    text = (src / rel).read_text()
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if s in dropped_imports or re.fullmatch(r"option\s*\(gogoproto\.\w+\)\s*=\s*\w+;", s):
            continue
        lines.append(imports.get(s, line))
    text = "\n".join(lines) + "\n"
    text = re.sub(r"\s*\[\s*\(gogoproto\.[^\]]*\]", "", text)
    text = strip_http_options(text)
    if "gogoproto" in text or "google.api" in text or 'import "etcd/' in text:
        sys.exit(f"gen_etcd_stubs: could not strip every annotation from {rel}")
    (dst / name).write_text(text)
PY

(
  cd "$tmp"
  "$py" -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. \
    ledger/_etcdpb/rpc.proto ledger/_etcdpb/kv.proto ledger/_etcdpb/auth.proto
)

rm -f "$out"/*_pb2.py "$out"/*_pb2.pyi "$out"/*_pb2_grpc.py
cp "$tmp"/ledger/_etcdpb/*_pb2.py "$tmp"/ledger/_etcdpb/*_pb2.pyi "$out"/
cp "$tmp"/ledger/_etcdpb/rpc_pb2_grpc.py "$out"/
# kv and auth declare no services; their empty *_pb2_grpc.py modules are not kept.

# The generated code must load on the protobuf runtime the project pins (grpcio-tools
# bundles its own protoc, whose gencode version can be newer than that runtime).
cd "$root"
"$py" -c 'from ledger._etcdpb import auth_pb2, kv_pb2, rpc_pb2, rpc_pb2_grpc'
echo "regenerated $(ls "$out" | tr '\n' ' ')"
