"""Token buckets: never above the burst, never below zero, refusals cost nothing; buckets
shared by processes decide as one would."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

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


def test_limiters_sharing_a_directory_share_each_peers_bucket(tmp_path: Path) -> None:
    one = RateLimiter(2.0, 4.0, unit="elements", shared=tmp_path / "limits")
    two = RateLimiter(2.0, 4.0, unit="elements", shared=tmp_path / "limits")
    try:
        one.charge("bank-b", 3, now=10.0)
        with pytest.raises(RateLimitedError, match=r"retry in 1\.00s"):
            two.charge("bank-b", 3, now=10.0)
        two.charge("bank-b", 1, now=10.0)  # the last token, taken through the other one
        with pytest.raises(RateLimitedError):
            one.charge("bank-b", 1, now=10.0)
        two.charge("bank-c", 4, now=10.0)  # another peer, another bucket
        one.charge("bank-b", 1, now=10.5)  # refilled at 2 per second
    finally:
        one.close()
        two.close()
    assert stat.S_IMODE((tmp_path / "limits").stat().st_mode) == 0o700
    files = sorted(p.name for p in (tmp_path / "limits").iterdir())
    assert files == ["elements.bank-b", "elements.bank-c"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / "limits").iterdir())


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),  # which process
            st.sampled_from(["bank-b", "bank-c"]),
            st.floats(min_value=-1, max_value=3),
            st.floats(min_value=0, max_value=6),
        ),
        max_size=40,
    )
)
def test_shared_buckets_decide_as_one_limiter_would(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, str, float, float]]
) -> None:
    directory = tmp_path_factory.mktemp("limits")
    alone = RateLimiter(1.5, 5.0, unit="requests")
    shared = [RateLimiter(1.5, 5.0, unit="requests", shared=directory) for _ in range(3)]
    now = 100.0
    try:
        for who, peer, dt, cost in steps:
            now += dt
            outcomes = []
            for limiter in (alone, shared[who]):
                try:
                    limiter.charge(peer, cost, now)
                    outcomes.append("ok")
                except RateLimitedError as exc:
                    outcomes.append(str(exc))
            assert outcomes[0] == outcomes[1]
    finally:
        for limiter in shared:
            limiter.close()


def test_a_bucket_dated_after_a_reboot_counts_as_full(tmp_path: Path) -> None:
    directory = tmp_path / "limits"
    limiter = RateLimiter(1.0, 2.0, unit="requests", shared=directory)
    try:
        limiter.charge("bank-b", 2, now=5000.0)
        with pytest.raises(RateLimitedError):
            limiter.charge("bank-b", 1, now=5000.0)
        # The host restarted: its monotonic clock reads less than the file says.
        limiter.charge("bank-b", 2, now=3.0)
        # Our own sibling's later reading (lock order) is not a reboot: nothing is minted.
        with pytest.raises(RateLimitedError):
            limiter.charge("bank-b", 1, now=2.5)
    finally:
        limiter.close()


_HAMMER = """
import sys
from pathlib import Path
from gateway._errors import RateLimitedError
from gateway._ratelimit import RateLimiter

limiter = RateLimiter(1.0, 150.0, unit="elements", shared=Path(sys.argv[1]))
admitted = 0
for _ in range(100):
    try:
        limiter.charge("bank-b", 1, now=50.0)  # one instant: nothing refills
        admitted += 1
    except RateLimitedError:
        pass
print(admitted)
"""


def test_processes_sharing_a_bucket_admit_the_burst_exactly(tmp_path: Path) -> None:
    # Four processes ask for 400 tokens of a 150-token bucket at the same instant.
    directory = tmp_path / "limits"
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _HAMMER, str(directory)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    admitted = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        admitted.append(int(out))
    assert sum(admitted) == 150, admitted
