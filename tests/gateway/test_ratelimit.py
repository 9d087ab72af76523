"""Token buckets: never above the burst, never below zero, refusals cost nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import RateLimitedError, RateLimiter, TokenBucket

_steps = st.lists(
    st.tuples(st.floats(min_value=-1, max_value=5), st.floats(min_value=0, max_value=12)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    rate=st.floats(min_value=0.1, max_value=100),
    burst=st.floats(min_value=1, max_value=10),
    steps=_steps,
)
def test_bucket_invariants(rate: float, burst: float, steps: list[tuple[float, float]]) -> None:
    bucket = TokenBucket.full(rate, burst, 0.0)
    now = 0.0
    admitted = 0.0
    for dt, cost in steps:
        now += dt  # time may step backwards
        before = (bucket.tokens, bucket.updated)
        bucket.refill(now)
        refilled = bucket.tokens
        wait = bucket.take(now, cost)
        assert 0.0 <= bucket.tokens <= burst + 1e-9
        if wait == 0.0:
            admitted += cost
            assert bucket.tokens == pytest.approx(refilled - cost)
        else:
            assert bucket.tokens == refilled  # a refusal removes nothing
            assert wait > 0
        assert bucket.updated >= before[1]
    # Over the whole run nothing beyond the burst plus the refill was admitted.
    horizon = max(0.0, bucket.updated)
    assert admitted <= burst + rate * horizon + 1e-6


def test_limiter_refuses_per_peer_and_names_the_wait() -> None:
    limiter = RateLimiter(2.0, 4.0, unit="requests")
    for _ in range(4):
        limiter.charge("bank-b", 1, now=10.0)
    with pytest.raises(RateLimitedError, match=r"retry in 0\.50s"):
        limiter.charge("bank-b", 1, now=10.0)
    limiter.charge("bank-c", 1, now=10.0)
    limiter.charge("bank-b", 1, now=10.5)
    with pytest.raises(RateLimitedError, match="exceeds the burst"):
        limiter.charge("bank-c", 5, now=100.0)
