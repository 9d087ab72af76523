"""Helpers for tests that speak gRPC to real gateways: the status a call is refused
with, and waiting for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from gateway._status import REASON_KEY

__all__ = ["Refusal", "refusal", "wait_for"]


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str
    details: str


def refusal(call: Callable[[], Any]) -> Refusal:
    """The status ``call`` is refused with; fails the test if it is answered."""
    try:
        call()
    except grpc.RpcError as error:
        rpc: Any = error
        metadata = dict(rpc.trailing_metadata() or ())
        return Refusal(rpc.code().name, str(metadata.get(REASON_KEY, "")), rpc.details() or "")
    raise AssertionError("the hostile call was answered")


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s: {what}")
        time.sleep(0.05)
