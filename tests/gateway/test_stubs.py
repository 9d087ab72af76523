"""A channel's Psi stub is built once (building one per query cost a querier a quarter of
its Python time), and the cache stays bounded."""

from __future__ import annotations

import grpc

from gateway import _stubs
from gateway._stubs import psi_stub


def test_one_stub_per_channel_and_the_cache_stays_bounded() -> None:
    # Channels connect lazily: none of these dials anything.
    count = _stubs._PSI_STUBS_MAX + 6
    channels = [grpc.insecure_channel(f"127.0.0.1:{1 + i}") for i in range(count)]
    try:
        first = psi_stub(channels[0])
        assert psi_stub(channels[0]) is first
        assert psi_stub(channels[1]) is not first
        assert first.EvaluateBatch is psi_stub(channels[0]).EvaluateBatch
        for channel in channels:
            psi_stub(channel)
        assert len(_stubs._PSI_STUBS) <= _stubs._PSI_STUBS_MAX
        # The least recently used went first; a channel used again gets a fresh stub.
        assert id(channels[0]) not in _stubs._PSI_STUBS
        assert psi_stub(channels[0]) is not first
        assert psi_stub(channels[-1]) is psi_stub(channels[-1])
    finally:
        for channel in channels:
            channel.close()
