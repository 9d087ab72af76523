"""Holdings: fungible amounts of instruments, keyed by (instrument, account).

The conserved-amount ledger of every scenario. An *instrument* (a share class, a
currency at a cash bank, a receivable certificate's root) has one issuer; an *account*
is a member id or an object (``certificate:C1.2``, :func:`scenarios.kit.account`). The
rules, kept here for every scenario:

- Amount enters only by :meth:`Holdings.mint` and leaves only by
  :meth:`Holdings.burn`, both by the instrument's issuer (the first mint creates the
  instrument and makes its minter the issuer). Burns carry a reason (``redeemed``,
  ``voided``) so a scenario can report where supply went.
- Everything else moves amount between accounts: a move debits exactly what it
  credits; an allocation is a set of moves splitting an amount by weights with the
  largest remainder, so the parts sum exactly.
- No balance is ever negative. :meth:`Holdings.lock` sets amount aside for one
  instruction; only a move naming that instruction can spend it, and
  :meth:`Holdings.release` gives it back: a locked holding cannot be spent twice.
- Conservation, ``minted − burned = Σ free + Σ locked`` over every account, is
  audited per instrument by :meth:`Holdings.audit` from state alone (for views and
  queries: it reads every account of the instrument). The transaction engine checks
  every transaction with :meth:`Holdings.audit_writes` instead, at the cost of the
  rows the transaction wrote: if every instrument was conserved before it (by
  induction from genesis, where both tables are empty), every instrument is conserved
  after it exactly when, per instrument written, the change in ``Σ free + Σ locked``
  over the rows written equals the change in ``minted − Σ burned``, no row written
  holds a negative amount, and the instrument still exists. Both read rows from state,
  never from what the code that wrote them says it did, so a bug that credits without
  a debit (or writes a row directly) is refused.

Who must consent is returned, not decided, here: every debit of a member's account
and every mint or burn names the member whose signature the transaction needs, and the
engine requires it with the others.

Tables: ``<contract>.instruments`` (id → ``{issuer, minted, burned{reason: n}}``) and
``<contract>.holdings`` (``<instrument>|<account>`` → ``{free, locks{instruction: n}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import TOMBSTONE, ContractError, Overlay, State
from scenarios.kit._arith import allocate

__all__ = ["Holdings", "Supply", "is_member_account"]

_MAX = 10**18


def is_member_account(account: str) -> bool:
    return ":" not in account


def _qty(qty: int) -> int:
    if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= _MAX:
        raise ContractError(f"a quantity is 1 to {_MAX} units")
    return qty


@dataclass(frozen=True, slots=True)
class Supply:
    """An instrument's totals: ``minted − Σ burned = outstanding`` when conserved."""

    minted: int
    burned: Mapping[str, int]
    outstanding: int

    @property
    def conserved(self) -> bool:
        return self.minted - sum(self.burned.values()) == self.outstanding


class Holdings:
    """The instruments and holdings of one contract."""

    def __init__(self, contract: str) -> None:
        self.instruments = f"{contract}.instruments"
        self.holdings = f"{contract}.holdings"

    @property
    def tables(self) -> frozenset[str]:
        return frozenset({self.instruments, self.holdings})

    # Reading ---------------------------------------------------------------------

    def instrument(self, state: State, instrument: str) -> dict[str, Any] | None:
        row = state.get(self.instruments, instrument)
        return dict(row) if isinstance(row, dict) else None

    def issuer(self, state: State, instrument: str) -> str | None:
        row = self.instrument(state, instrument)
        return None if row is None else str(row["issuer"])

    def _row(self, state: State, instrument: str, account: str) -> dict[str, Any]:
        row = state.get(self.holdings, f"{instrument}|{account}")
        if not isinstance(row, dict):
            return {"free": 0, "locks": {}}
        return {"free": row["free"], "locks": dict(row["locks"])}

    def balance(self, state: State, instrument: str, account: str) -> int:
        """What ``account`` may spend freely."""
        return int(self._row(state, instrument, account)["free"])

    def locked(self, state: State, instrument: str, account: str, instruction: str) -> int:
        return int(self._row(state, instrument, account)["locks"].get(instruction, 0))

    def accounts(self, state: State, instrument: str) -> dict[str, dict[str, Any]]:
        prefix = f"{instrument}|"
        return {
            key[len(prefix) :]: dict(row)  # type: ignore[arg-type]
            for key, row in state.scan(self.holdings, prefix)
        }

    # Writing ---------------------------------------------------------------------

    def _put(self, state: State, instrument: str, account: str, row: dict[str, Any]) -> None:
        key = f"{instrument}|{account}"
        if row["free"] == 0 and not row["locks"]:
            state.delete(self.holdings, key)
        else:
            state.put(self.holdings, key, row)

    def _need(self, state: State, instrument: str) -> dict[str, Any]:
        row = self.instrument(state, instrument)
        if row is None:
            raise ContractError(f"no instrument {instrument!r}")
        return row

    def _debit(self, state: State, qty: int, instrument: str, account: str, lock: str) -> None:
        row = self._row(state, instrument, account)
        if lock:
            held = row["locks"].get(lock, 0)
            if held < qty:
                raise ContractError(
                    f"{account} has {held} {instrument} locked for {lock!r}, not {qty}"
                )
            if held == qty:
                del row["locks"][lock]
            else:
                row["locks"][lock] = held - qty
        else:
            if row["free"] < qty:
                raise ContractError(
                    f"{account} holds {row['free']} {instrument} free to move, not {qty}"
                )
            row["free"] -= qty
        self._put(state, instrument, account, row)

    def _credit(self, state: State, qty: int, instrument: str, account: str) -> None:
        row = self._row(state, instrument, account)
        row["free"] += qty
        self._put(state, instrument, account, row)

    def mint(self, state: State, actor: str, qty: int, instrument: str, dst: str) -> str:
        """Create ``qty`` new units for ``dst``; the issuer (returned) must consent.

        The first mint of an instrument creates it, with ``actor`` as its issuer.
        """
        _qty(qty)
        row = self.instrument(state, instrument)
        if row is None:
            row = {"issuer": actor, "minted": 0, "burned": {}}
        row["minted"] += qty
        state.put(self.instruments, instrument, row)
        self._credit(state, qty, instrument, dst)
        return str(row["issuer"])

    def burn(self, state: State, qty: int, instrument: str, src: str, reason: str) -> str:
        """Destroy ``qty`` of ``src``'s free units; the issuer (returned) must consent."""
        _qty(qty)
        row = self._need(state, instrument)
        self._debit(state, qty, instrument, src, "")
        burned = dict(row["burned"])
        burned[reason] = burned.get(reason, 0) + qty
        state.put(self.instruments, instrument, {**row, "burned": burned})
        return str(row["issuer"])

    def move(
        self, state: State, qty: int, instrument: str, src: str, dst: str, instruction: str = ""
    ) -> None:
        """Move ``qty`` from ``src`` (from its lock for ``instruction``, if named) to ``dst``."""
        _qty(qty)
        self._need(state, instrument)
        if src == dst:
            raise ContractError("a move needs two different accounts")
        self._debit(state, qty, instrument, src, instruction)
        self._credit(state, qty, instrument, dst)

    def lock(self, state: State, qty: int, instrument: str, owner: str, instruction: str) -> None:
        """Set ``qty`` of ``owner``'s free units aside for ``instruction`` only."""
        _qty(qty)
        self._need(state, instrument)
        self._debit(state, qty, instrument, owner, "")
        row = self._row(state, instrument, owner)
        row["locks"][instruction] = row["locks"].get(instruction, 0) + qty
        self._put(state, instrument, owner, row)

    def release(
        self, state: State, qty: int | None, instrument: str, owner: str, instruction: str
    ) -> int:
        """Give back ``qty`` (all, when None) of what ``owner`` locked for ``instruction``."""
        held = self.locked(state, instrument, owner, instruction)
        amount = held if qty is None else _qty(qty)
        if amount == 0:
            return 0
        self._debit(state, amount, instrument, owner, instruction)
        self._credit(state, amount, instrument, owner)
        return amount

    def allocate(
        self,
        state: State,
        qty: int,
        instrument: str,
        src: str,
        weights: Sequence[tuple[str, int]],
    ) -> dict[str, int]:
        """Move ``qty`` from ``src`` to the weighted accounts, largest remainder."""
        parts = allocate(qty, [w for _, w in weights])
        out: dict[str, int] = {}
        for (account, _), part in zip(weights, parts, strict=True):
            out[account] = part
            if part:
                self.move(state, part, instrument, src, account)
        return out

    # Auditing --------------------------------------------------------------------

    def audit(self, state: State, instrument: str) -> Supply:
        """Check conservation for ``instrument`` from state alone; raise if broken."""
        row = self._need(state, instrument)
        outstanding = 0
        for account, held in self.accounts(state, instrument).items():
            amounts = [held["free"], *held["locks"].values()]
            if any(a < 0 for a in amounts):
                raise ContractError(f"{account} holds a negative amount of {instrument}")
            outstanding += sum(amounts)
        supply = Supply(row["minted"], dict(row["burned"]), outstanding)
        if not supply.conserved:
            raise ContractError(f"instrument {instrument!r} is not conserved: {supply}")
        return supply

    def audit_writes(self, before: State, after: Overlay) -> tuple[str, ...]:
        """Check conservation across ``after``'s buffered writes over ``before``; raise if
        broken, else return the instruments checked.

        ``after`` must be an overlay directly over ``before`` holding one transaction's
        writes, and every instrument in ``before`` conserved (the module docstring has
        why that makes this check equal to :meth:`audit` of every instrument). It reads
        each holdings and instruments row the overlay wrote, before and after, and
        nothing else.
        """
        held: dict[str, int] = {}  # change in Σ free + Σ locked over the rows written
        supply: dict[str, int] = {}  # change in minted − Σ burned
        # Instruments that must exist after: every one whose row was written (once
        # minted, an instrument is never deleted) or that a row written still holds.
        named: set[str] = set()
        for (table, key), value in after.writes.items():
            now = None if value is TOMBSTONE else value
            if table == self.holdings:
                # Instrument ids never contain "|" (they are ids: ``ID_PATTERN`` and
                # the separators a contract derives), so the first one ends the id.
                instrument, sep, account = key.partition("|")
                if not sep:
                    raise ContractError(f"holdings row {key!r} names no account")
                change = _held(instrument, account, now) - _held(
                    instrument, account, before.get(table, key)
                )
                held[instrument] = held.get(instrument, 0) + change
                if now is not None:
                    named.add(instrument)
            elif table == self.instruments:
                was = before.get(table, key)
                supply[key] = supply.get(key, 0) + _supply(key, now) - _supply(key, was)
                if now is not None or was is not None:
                    named.add(key)
        instruments = tuple(sorted(held.keys() | supply.keys()))
        for instrument in instruments:
            if instrument in named and not isinstance(
                after.get(self.instruments, instrument), dict
            ):
                # Amounts of an instrument nobody minted, or one deleted while held.
                raise ContractError(f"no instrument {instrument!r}")
            moved, issued = held.get(instrument, 0), supply.get(instrument, 0)
            if moved != issued:
                raise ContractError(
                    f"instrument {instrument!r} is not conserved: this transaction "
                    f"changes its holdings by {moved:+d} and its supply by {issued:+d}"
                )
        return instruments


def _amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _held(instrument: str, account: str, row: object) -> int:
    """``free + Σ locks`` of one holdings row (0 when absent); raise if malformed."""
    if row is None:
        return 0
    if isinstance(row, dict):
        free, locks = row.get("free"), row.get("locks")
        if _amount(free) and isinstance(locks, dict) and all(map(_amount, locks.values())):
            return int(free) + sum(locks.values())  # type: ignore[arg-type]
    raise ContractError(f"{account} holds a negative or malformed amount of {instrument}")


def _supply(instrument: str, row: object) -> int:
    """``minted − Σ burned`` of one instruments row (0 when absent); raise if malformed."""
    if row is None:
        return 0
    if isinstance(row, dict):
        minted, burned = row.get("minted"), row.get("burned")
        if _amount(minted) and isinstance(burned, dict) and all(map(_amount, burned.values())):
            return int(minted) - sum(burned.values())  # type: ignore[arg-type]
    raise ContractError(f"instrument {instrument!r} has a negative or malformed supply")
