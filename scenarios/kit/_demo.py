"""A scenario's demo flow, written once against the consortium it will run on.

``riskshare demo --scenario <name>`` runs the flow of any registered scenario that has
one. The scenario says *what* happens — which member submits which step, which steps
the ledger must refuse, who authorises a co-signature — as a function of a
:class:`DemoRun`; the gateway side (``gateway._scenario_demo``) says *how*: it starts
the members' gateways, submits each step through the submitter's own gateway, and
checks each outcome against the expected one. ``scenarios`` may not import the
gateway (DESIGN §2), hence the protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from ledger import State
from scenarios.kit._objects import Obj
from scenarios.kit._tx import Leg

__all__ = ["Demo", "DemoRun", "with_consent"]


class DemoRun(Protocol):
    """The consortium a demo flow runs on (implemented by the gateway's demo runner)."""

    @property
    def today(self) -> date:
        """The consortium's calendar day (UTC)."""
        ...

    def step(
        self,
        actor: str,
        say: str,
        kind: str,
        object_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        cosigners: Sequence[str] = (),
        refused: bool = False,
    ) -> Obj | None:
        """Submit ``kind`` through ``actor``'s gateway; ``refused`` says the ledger must
        refuse it. The gateway asks ``cosigners`` to co-sign, or, when none are named,
        whoever the step needs. The object after the step, or None when refused."""
        ...

    def submit(
        self, actor: str, say: str, legs: Sequence[Leg], *, refused: bool = False
    ) -> Obj | None:
        """Submit a transaction of several legs of the scenario's contract through
        ``actor``'s gateway (a leg's version -1: as on its replica), all or nothing; the
        first leg's object after it, or None when refused."""
        ...

    def authorize(
        self, member: str, kind: str, object_id: str, payload: Mapping[str, Any] | None = None
    ) -> None:
        """``member``'s operator authorises its gateway to co-sign exactly this step:
        ``kind`` on the object at its current version, with ``payload`` (its digest)."""
        ...

    def authorize_tx(self, member: str, legs: Sequence[Leg]) -> None:
        """``member``'s operator authorises its gateway to co-sign exactly this
        transaction of several legs (a leg's version -1: as on its replica)."""
        ...

    def fingerprint(
        self, actor: str, family: str, inputs: Sequence[bytes]
    ) -> tuple[list[bytes], str]:
        """Have the registry evaluate ``inputs`` for ``actor``: the fingerprints and the
        id of the recorded evaluation (``fp_receipt``)."""
        ...

    def document_hash(self) -> bytes:
        """The hash of the demo's sample trade document (kept behind the gateway)."""
        ...

    def observe(self, series: str, as_of: str, value: int, scale: int) -> None:
        """The demo's oracle records a signed observation (``riskshare <name> observe``)."""
        ...

    def screen(self, actor: str, id_type: str, value: str) -> tuple[str, bool]:
        """``actor`` screens an identifier against every other member's list through the
        risk-sharing network (``riskshare query``): the receipt's id, once it is
        recorded on ``actor``'s replica, and whether any list holds it."""
        ...

    def screen_batch(
        self, actor: str, id_type: str, values: Sequence[str]
    ) -> tuple[str, list[bool]]:
        """:meth:`screen` for many identifiers in one query: one receipt covering them
        all (each step that uses it consumes one identifier), and, per identifier, in
        order, whether any list holds it."""
        ...

    def held(self, member: str, object_id: str) -> Obj:
        """A confidential object as ``member`` (a party) holds it behind its gateway."""
        ...

    def state(self, member: str) -> State:
        """``member``'s own replica, read-only, as it is now."""
        ...

    def say(self, line: str) -> None:
        """Narrate (the demo prints it, indented, under the last step)."""
        ...

    def check(self, what: str, ledger: Any, independent: Any) -> None:
        """Compare a figure the ledger holds with the flow's own, independent
        computation of it; the demo fails when they differ."""
        ...


@dataclass(frozen=True, slots=True)
class Demo:
    """A demo: the members to start (each its own gateway process), the member holding
    the fingerprint registry key if the flow fingerprints documents, the flow; the
    consortium parameters it needs at genesis (a scenario's named roles); the member
    the scenario's ``<name>.oracle`` parameter names, if it reads observations; and the
    risk-sharing lists members load before the flow (member →
    ``(list_type, id_type, value)``), if it screens."""

    members: tuple[str, ...]
    flow: Callable[[DemoRun], None]
    registry: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    oracle: str | None = None
    lists: Mapping[str, Sequence[tuple[str, str, str]]] = field(default_factory=dict)


def with_consent(
    run: DemoRun,
    actor: str,
    other: str,
    kind: str,
    object_id: str,
    payload: Mapping[str, Any],
    *,
    early: str,
    say: str,
) -> Obj | None:
    """A step that needs ``other``'s co-signature, shown as the ledger judges it: refused
    while ``other``'s operator has not authorised it (``early``), then authorised and
    taken (``say``); the object after it."""
    run.step(actor, early, kind, object_id, payload, refused=True)
    run.authorize(other, kind, object_id, payload)
    return run.step(actor, say, kind, object_id, payload)
