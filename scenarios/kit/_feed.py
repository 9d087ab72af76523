"""The feed: one row per scenario event, ordered by height, for subscriptions.

``WatchEvents(party=me, from_height)`` must find "the events on objects I am a party
to, from height H" without walking every object's history. So the engine writes, next
to each event, a row in the contract's feed table keyed
``<height, 12 digits>|<tx id hex>|<n, 3 digits>`` holding what a subscriber needs: the
object's type, id and version, the transition, the state it reached, and the members
the event concerns (the object's parties and the transaction's signers). A reader
scans one height at a time (a prefix), so following the chain costs what it returns.
A confidential object's row names its keyed hash instead of its id (``_private``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger import State, TxContext, Value

if TYPE_CHECKING:
    from scenarios.kit._objects import Event, Obj

__all__ = ["FeedEvent", "feed_events", "write_feed", "write_private_feed"]


@dataclass(frozen=True, slots=True)
class FeedEvent:
    height: int
    key: str
    type: str
    object: str
    version: int
    transition: str
    state: str
    members: tuple[str, ...]
    signers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "type": self.type,
            "object": self.object,
            "version": self.version,
            "transition": self.transition,
            "state": self.state,
            "members": list(self.members),
            "signers": list(self.signers),
        }


def _key(height: int) -> str:
    return f"{height:012d}|"


def write_feed(
    state: State, table: str, ctx: TxContext, events: Sequence[tuple[Obj, Event]]
) -> None:
    for n, (obj, event) in enumerate(events):
        row: dict[str, Value] = {
            "type": obj.type,
            "object": obj.id,
            "version": obj.version,
            "transition": event.transition,
            "state": obj.state,
            "members": sorted(obj.members() | set(event.signers)),
            "signers": list(event.signers),
        }
        state.put(table, f"{_key(ctx.height)}{ctx.tx_id.hex()}|{n:03d}", row)


def write_private_feed(
    state: State, table: str, ctx: TxContext, hid: str, version: int, members: Sequence[str]
) -> None:
    row: dict[str, Value] = {
        "type": "private",
        "object": hid,
        "version": version,
        "transition": "",
        "state": "",
        "members": sorted(members),
        "signers": [],
    }
    state.put(table, f"{_key(ctx.height)}{ctx.tx_id.hex()}|000", row)


def feed_events(
    state: State, table: str, from_height: int, to_height: int, party: str | None = None
) -> Iterator[FeedEvent]:
    """The feed's events at heights ``from_height..to_height``, those of ``party``."""
    for height in range(max(0, from_height), to_height + 1):
        for key, row in state.scan(table, _key(height)):
            assert isinstance(row, dict)
            if party is not None and party not in row["members"]:
                continue
            yield FeedEvent(
                height=height,
                key=key,
                type=row["type"],
                object=row["object"],
                version=row["version"],
                transition=row["transition"],
                state=row["state"],
                members=tuple(row["members"]),
                signers=tuple(row["signers"]),
            )
