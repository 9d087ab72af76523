"""docs/PROTOCOL.md names every transaction kind, service and method that exists.

The kinds come from the consortium's contract registry (the set every replica runs),
the services and methods from the .proto files under protos/; a kind or RPC added
without a line in the specification fails here.
"""

from __future__ import annotations

import re

from gateway._registry import consortium_registry
from tests.docs._tools import DOCS, ROOT

SPEC = DOCS / "PROTOCOL.md"


def _spec() -> str:
    return SPEC.read_text(encoding="utf-8")


def test_every_transaction_kind_is_specified() -> None:
    text = _spec()
    named = set(re.findall(r"`([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)`", text))
    kinds = set(consortium_registry().kinds)
    assert len(kinds) > 20
    missing = sorted(kinds - named)
    assert not missing, f"transaction kinds not in docs/PROTOCOL.md: {missing}"


def test_every_service_and_method_is_specified() -> None:
    text = _spec()
    protos = sorted((ROOT / "protos").rglob("*.proto"))
    assert protos
    for proto in protos:
        source = proto.read_text(encoding="utf-8")
        package = re.search(r"^package ([a-z0-9_.]+);", source, flags=re.MULTILINE)
        assert package is not None, proto
        assert f"`{package.group(1)}`" in text, f"package {package.group(1)} not specified"
        for service in re.findall(r"^service (\w+)", source, flags=re.MULTILINE):
            assert f"`{service}`" in text, f"service {service} ({proto.name}) not specified"
        for method in re.findall(r"^\s*rpc (\w+)\(", source, flags=re.MULTILINE):
            assert f"`{method}`" in text, f"rpc {method} ({proto.name}) not specified"
