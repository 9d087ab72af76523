"""Subscriptions and oracle observations at the gateway (``ScenarioAdmin``).

- :func:`watch_events` — ``WatchEvents(party=me, from_height)``: the scenario feed
  (``scenarios.kit.feed_events``) of the member's own replica, filtered to events on
  objects the member is a party to (or signed), height by height; following the chain
  when asked, until the caller goes away. Nothing here decides what an event is: the
  engine wrote the feed when it applied the transaction.
- :func:`observe` — on the member a scenario names as its oracle
  (``<contract>.oracle``): sign the observation with the member's ledger key and record
  it (``<contract>.observe``); the contract checks both signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from gateway._errors import DeadlineError, PermissionDeniedError
from ledger import ContractError, Store
from scenarios import ScenarioError, engine_for, get_scenario
from scenarios.kit import FeedEvent, chain_id, feed_events, oracle_member, sign_observation

if TYPE_CHECKING:
    from gateway._node import Node

__all__ = ["observe", "watch_events"]

# How long a follower waits for the next block before checking the caller is still there.
_POLL_S = 0.5


def watch_events(
    store: Store,
    contract: str,
    member: str,
    from_height: int,
    *,
    follow: bool,
    active: Callable[[], bool],
) -> Iterator[FeedEvent]:
    """The feed events of ``member`` from ``from_height`` (see the module docstring)."""
    try:
        feed = engine_for(contract).feed
    except ScenarioError as exc:
        raise ContractError(str(exc)) from None
    height = max(0, from_height)
    while True:
        head = store.height
        if height <= head:
            yield from feed_events(store.state(), feed, height, head, member)
            height = head + 1
        if not follow or not active():
            return
        store.wait_for_height(height, _POLL_S)


def observe(
    node: Node, contract: str, series: str, as_of: str, value: int, scale: int
) -> tuple[int, bytes]:
    """Sign and record one observation as the scenario's oracle; its height and tx id."""
    try:
        scenario = get_scenario(contract)
    except ScenarioError as exc:
        raise ContractError(str(exc)) from None
    if not scenario.oracle:
        raise ContractError(f"{contract} reads no oracle")
    state = node.store.state()
    named = oracle_member(state, contract)
    if named != node.member_id:
        raise PermissionDeniedError(f"the {contract} oracle is {named!r}, not {node.member_id}")
    signature = sign_observation(
        node.credentials.signing_key, chain_id(state), contract, series, as_of, value, scale
    )
    body = {
        "series": series,
        "as_of": as_of,
        "value": value,
        "scale": scale,
        "signature": signature,
    }
    committed = node.submitter.submit(f"{contract}.observe", body, wait=True)
    if not committed.accepted or (committed.height is not None and not committed.ok):
        raise ContractError(committed.reason or "the observation was refused")
    if committed.height is None:
        raise DeadlineError("the observation is queued but not yet in a block")
    return committed.height, committed.tx_id
