"""The fingerprint (duplicate) registry: first registration wins, later ones are flagged.

A fingerprint is 32 bytes derived from normalised business fields (an invoice's seller,
number, date and amount, say) by the consortium OPRF under the registry key, which only
the registry role holds (by default the observer). The ledger sees fingerprints only,
so nobody reading it can test guesses offline: every guess would be an online, metered,
logged evaluation by the registry. The contract cannot tell a real fingerprint from
random bytes, and does not need to: a member who registers noise only fails to detect
its own duplicates.

Two indexes, both keyed by fingerprint:

- :class:`FingerprintRegistry` is exclusive: at most one *active* holder per fingerprint.
  :meth:`~FingerprintRegistry.claim` gives all of a registration's fingerprints to it,
  or none of them when any is already held (the result names the holders, so the
  scenario can flag both parties). The first active holder keeps a fingerprint until it
  releases it (settlement, withdrawal, lapse): first wins.
- :class:`SimilarityIndex` is not exclusive: it lists the active holders of each partial
  ("similar") fingerprint so a new registration can raise review alerts, never a block.

Registries in one *pool* are one registry across scenarios: a fingerprint has at most
one active holder among all of them, so an invoice that backs a receivable certificate
(supply-chain finance) is a duplicate when a bank registers it for trade finance, and
the other way round — the double financing across platforms the registry exists to
stop. A contract writes only its own tables (``ledger``), so each scenario keeps its
own table and *reads* the others of its pool when it claims; the pool's members are the
registries that registered scenarios declare (``Scenario.registries``), so every replica
consults the same tables. A holder in another scenario's table is named
``<contract>:<id>`` (``scf:C1``); ``describe`` says who registered it and its status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ledger import ContractError, State, encode
from scenarios._errors import ScenarioError

__all__ = [
    "FINANCING",
    "FP_SIZE",
    "Claim",
    "FingerprintRegistry",
    "Holder",
    "SimilarityIndex",
    "fingerprint_input",
]

FP_SIZE = 32
# The pool of every registry of financed documents (invoices, bills of lading): one
# document is financed once across supply-chain finance and trade finance.
FINANCING = "financing"
# A similarity fingerprint keeps at most this many active holders; past it, the oldest
# fall off (a review signal, never a block, so truncation can only lose a warning).
_MAX_SIMILAR = 64


def fingerprint_input(domain: str, fields: Sequence[str], normaliser_version: int) -> bytes:
    """The OPRF input for one fingerprint: domain-separated and versioned.

    ``domain`` names what is fingerprinted and how (``tf.invoice.exact``); the fields
    are already normalised by the scenario's normaliser of ``normaliser_version``.
    """
    return encode(
        "scenario-fp-input",
        1,
        {"domain": domain, "fields": list(fields), "normaliser": normaliser_version},
    )


def _key(fp: bytes) -> str:
    if not isinstance(fp, bytes) or len(fp) != FP_SIZE:
        raise ContractError(f"a fingerprint is exactly {FP_SIZE} bytes")
    return fp.hex()


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim: ``first`` when every fingerprint was free.

    ``conflicts`` lists ``(fingerprint, active holder)`` pairs in fingerprint order.
    """

    first: bool
    conflicts: tuple[tuple[bytes, str], ...] = ()

    @property
    def holders(self) -> tuple[str, ...]:
        """The distinct registrations a duplicate collides with, in first-seen order."""
        return tuple(dict.fromkeys(holder for _, holder in self.conflicts))


@dataclass(frozen=True, slots=True)
class Holder:
    """What a registration that collides may see of the holder: its reference, the
    member that registered it (a member id, nothing more) and its status."""

    ref: str
    member: str
    status: str


# (state, id in the registry's own table) → (registering member, status).
Describe = Callable[[State, str], tuple[str, str]]


class FingerprintRegistry:
    """One active holder per fingerprint. Table rows: ``{active, first, count}``.

    With a ``pool``, every registry of that pool that a registered scenario declares
    counts too (read, never written); ``describe`` then names a holder's registering
    member and status for the others' alerts and refusals.
    """

    def __init__(
        self, table: str, *, pool: str | None = None, describe: Describe | None = None
    ) -> None:
        if pool is not None and describe is None:
            raise ScenarioError(f"pooled registry {table!r} needs describe")
        self.table = table
        self.pool = pool
        self.contract = table.partition(".")[0]
        self._describe = describe

    @property
    def tables(self) -> frozenset[str]:
        return frozenset({self.table})

    def peers(self) -> tuple[FingerprintRegistry, ...]:
        """The other registries of this one's pool, in registration order."""
        if self.pool is None:
            return ()
        from scenarios._registry import pooled_registries

        return tuple(r for r in pooled_registries(self.pool) if r.table != self.table)

    def holder(self, state: State, fp: bytes) -> str | None:
        """The active holder in this registry's own table."""
        row = state.get(self.table, _key(fp))
        if row is None:
            return None
        assert isinstance(row, dict)
        active = row["active"]
        return active if isinstance(active, str) else None

    def conflicts(self, state: State, fps: Iterable[bytes], ref: str) -> Claim:
        """What :meth:`claim` would find, without changing anything: other holders in
        this table, then active holders in the pool's other tables (``<contract>:<id>``)."""
        found = []
        peers = self.peers()
        for fp in sorted(set(fps)):
            holder = self.holder(state, fp)
            if holder is not None and holder != ref:
                found.append((fp, holder))
            for peer in peers:
                held = peer.holder(state, fp)
                if held is not None:
                    found.append((fp, f"{peer.contract}:{held}"))
        return Claim(first=not found, conflicts=tuple(found))

    def describe(self, state: State, ref: str) -> Holder:
        """Who holds ``ref`` (an id of this table, or ``<contract>:<id>`` of a peer)."""
        contract, sep, object_id = ref.partition(":")
        registry: FingerprintRegistry = self
        if sep:
            found = [p for p in self.peers() if p.contract == contract]
            if not found:
                raise ContractError(f"no registry of {contract!r} in pool {self.pool!r}")
            registry = found[0]
        else:
            object_id = ref
        if registry._describe is None:
            raise ContractError(f"registry {registry.table!r} cannot describe its holders")
        member, status = registry._describe(state, object_id)
        return Holder(ref, member, status)

    def claim(self, state: State, fps: Iterable[bytes], ref: str) -> Claim:
        """Make ``ref`` the active holder of every fingerprint, or of none of them."""
        fps = sorted(set(fps))
        outcome = self.conflicts(state, fps, ref)
        if not outcome.first:
            return outcome
        for fp in fps:
            key = _key(fp)
            row = state.get(self.table, key)
            if row is None:
                new = {"active": ref, "first": ref, "count": 1}
            else:
                assert isinstance(row, dict)
                new = {**row, "active": ref, "count": row["count"] + 1}
            state.put(self.table, key, new)
        return outcome

    def release(self, state: State, fps: Iterable[bytes], ref: str) -> None:
        """``ref`` stops being active; fingerprints it does not hold are left alone."""
        for fp in sorted(set(fps)):
            key = _key(fp)
            row = state.get(self.table, key)
            if isinstance(row, dict) and row["active"] == ref:
                state.put(self.table, key, {**row, "active": None})


class SimilarityIndex:
    """Active holders of each partial fingerprint. Table rows: ``{refs: [...]}``."""

    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def tables(self) -> frozenset[str]:
        return frozenset({self.table})

    def _refs(self, state: State, key: str) -> list[str]:
        row = state.get(self.table, key)
        if row is None:
            return []
        assert isinstance(row, dict)
        return list(row["refs"])

    def matches(self, state: State, fps: Iterable[bytes], ref: str) -> tuple[str, ...]:
        """Other active registrations sharing any of ``fps``, in first-seen order."""
        seen: dict[str, None] = {}
        for fp in sorted(set(fps)):
            for other in self._refs(state, _key(fp)):
                if other != ref:
                    seen[other] = None
        return tuple(seen)

    def add(self, state: State, fps: Iterable[bytes], ref: str) -> None:
        for fp in sorted(set(fps)):
            key = _key(fp)
            refs = [r for r in self._refs(state, key) if r != ref] + [ref]
            state.put(self.table, key, {"refs": refs[-_MAX_SIMILAR:]})

    def remove(self, state: State, fps: Iterable[bytes], ref: str) -> None:
        for fp in sorted(set(fps)):
            key = _key(fp)
            refs = self._refs(state, key)
            if ref in refs:
                refs.remove(ref)
                if refs:
                    state.put(self.table, key, {"refs": refs})
                else:
                    state.delete(self.table, key)
