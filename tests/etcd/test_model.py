"""A hypothesis state machine drives EtcdLog on the real cluster against a model of the
ordering-log rules: write once, in order, a sliding window that never drops the head."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger._etcd import EtcdLog
from ledger._etcd_errors import HeightGap
from ledger._etcd_local import LocalEtcdCluster


def make_machine(endpoints: list[str]) -> type[RuleBasedStateMachine]:
    class OrderingLogMachine(RuleBasedStateMachine):
        @initialize()
        def fresh_log(self) -> None:
            self.log = EtcdLog(endpoints, "m-" + uuid.uuid4().hex[:12])
            self.blocks: dict[int, bytes] = {}
            self.floor = 0
            self.last = -1

        def teardown(self) -> None:
            self.log.close()

        @rule(offset=st.integers(min_value=-3, max_value=2), data=st.binary(max_size=40))
        def append(self, offset: int, data: bytes) -> None:
            height = max(0, self.last + 1 + offset)
            if height == self.last + 1:
                assert self.log.append(height, data) is True
                self.blocks[height] = data
                self.last = height
            elif height <= self.last:
                assert self.log.append(height, data) is False
            else:
                try:
                    self.log.append(height, data)
                except HeightGap:
                    pass
                else:
                    raise AssertionError(f"append at {height} after {self.last} was accepted")

        @rule(offset=st.integers(min_value=-4, max_value=3))
        def get(self, offset: int) -> None:
            height = max(0, self.last + offset)
            expected = self.blocks.get(height) if height >= self.floor else None
            assert self.log.get(height) == expected

        @rule(offset=st.integers(min_value=-3, max_value=3))
        def compact(self, offset: int) -> None:
            keep = max(0, self.last + offset)
            self.log.compact(keep)
            if self.last >= 0:
                self.floor = max(self.floor, min(keep, self.last))

        @rule(height=st.integers(min_value=0, max_value=50), data=st.binary(max_size=8))
        def seed(self, height: int, data: bytes) -> None:
            accepted = self.log.seed(height, data)
            if self.last == -1:
                assert accepted
                self.blocks[height] = data
                self.floor = self.last = height
            else:
                starts_so = self.floor == height and self.blocks.get(height) == data
                assert accepted == starts_so

        @invariant()
        def window_matches(self) -> None:
            if hasattr(self, "log"):
                assert self.log.last_height() == self.last
                assert self.log.floor() == self.floor

    return OrderingLogMachine


def test_log_follows_the_model(cluster: LocalEtcdCluster) -> None:
    machine = make_machine(cluster.endpoints)
    machine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    machine.TestCase().runTest()
