"""One in-process consortium for every hostile test (see `tests.hostile._net`), stopped
when the package's tests are done so its threads do not run beside later tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._stubs import psi_stub
from tests.hostile._net import LIST, Answered, Net, start_net, wait_for


@pytest.fixture(scope="package")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    yield from start_net(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="package")
def answered(net: Net) -> Answered:
    """One real query (bank-c asks bank-a), answered and recorded on every replica."""
    signed, pending = net.request("bank-c", "bank-a", ["13800138000"])
    request = psi_pb2.EvaluateRequest(
        list_type=LIST,
        normaliser_version="v1",
        signed_request=signed.to_bytes(),
        blinded=pending.request(),
        key_id=net.key_id("bank-a"),
    )
    response = psi_stub(net.channel("bank-c", "bank-a")).EvaluateBatch(request, timeout=30)
    wait_for(
        lambda: all(
            node.store.state().get("credits.receipts", signed.receipt_id) is not None
            for node in net.nodes.values()
        )
    )
    net.quiet()
    return Answered(signed, pending, request, response)
