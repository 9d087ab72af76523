"""An independent reading of the ledger's credit transactions: DESIGN §6 in a page.

The :class:`Oracle` is fed the transactions a ledger applied, in order (kind, signer,
body, block time, transaction id), and the publications that reciprocity and grants
depend on. From those alone it recomputes every balance movement: the charge of each
recorded query, each refund, and each epoch's settlement — grants, served rewards
with the per-counterparty cap, hit rewards (1/k shares, lagged quality, rounded down
per payment), penalties, decay and the cap — and the totals minted, burned and
penalised. It imports no code of ``token_incentive``: messages are read with the
ledger's codec, the rules are written out again here from DESIGN §6 and
docs/CREDITS.md. The tests hold the contract to it: every balance, every statement
line and every settlement entry must agree.

It covers what the tests' workloads do (no canaries, no change of credit parameters
after genesis): anything else raises, so a workload cannot outgrow it unnoticed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger import EncodingError, Store, decode, decode_genesis_config, encode

__all__ = ["Line", "Oracle", "replay_store"]

_PAID = ("r", "c")  # reported and not disputed: confirmed, or silent until settlement


def _request(data: bytes) -> Any:
    """A query request's fields: version 2 (names the OPRF key), or version 1 (names none)."""
    try:
        return decode("credits-request", 2, data)
    except EncodingError:
        return decode("credits-request", 1, data)


@dataclass(frozen=True, slots=True)
class Line:
    """One movement of one member's balance, and the transaction that made it."""

    tx: bytes
    kind: str  # charge, refund, settle
    ref: str  # receipt id, or the settled epoch
    amount: int


@dataclass
class _Receipt:
    querier: str
    responder: str
    list_type: str
    items: int
    charge: int
    epoch: int
    refunded: bool = False
    ks: list[int] | None = None  # per reported hit: how many responders said yes
    states: list[str] = field(default_factory=list)  # r, c, d, u, v per hit


@dataclass
class _Dispute:
    holder: str
    list_type: str
    hits: list[int]
    ks: list[int]
    status: str = "filed"
    verdict_epoch: int | None = None
    accounted: bool = False


class Oracle:
    def __init__(
        self, params: Mapping[str, Any], roles: Mapping[str, str], genesis_time: int
    ) -> None:
        self.price: dict[str, int] = dict(params["credits.price"])
        self.weight: dict[str, int] = dict(params["credits.hit_weight"])
        self.g0: int = params["credits.grant"]
        self.alpha: int = params["credits.serve_reward"]
        self.m: int = params["credits.serve_cap"]
        self.beta: int = params["credits.hit_reward"]
        self.keep_num, self.keep_den = params["credits.decay"]
        self.cap: int = params["credits.cap"]
        self.gamma: int = params["credits.penalty"]
        self.overdraft: int = params["credits.overdraft"]
        self.a0, self.b0 = params["credits.quality_prior"]
        self.epoch_ms: int = params["credits.epoch_ms"]
        self.roles = dict(roles)
        self.genesis = genesis_time
        self.pub: dict[tuple[str, str], tuple[int, int | None]] = {}
        self.receipts: dict[str, _Receipt] = {}
        self.disputes: dict[str, _Dispute] = {}
        self.lines: dict[str, list[Line]] = defaultdict(list)
        self.b: dict[str, int] = defaultdict(int)  # B_j(t): the recurrence's balance
        self.tp: dict[str, int] = defaultdict(int)
        self.fp: dict[str, int] = defaultdict(int)
        self.last_settled = -1
        self.minted = self.burned = self.penalties = 0
        # epoch -> member -> the settlement entry this oracle computed
        self.settlements: dict[int, dict[str, dict[str, int]]] = {}

    # -- reading ---------------------------------------------------------------------

    def balance(self, member: str) -> int:
        return sum(line.amount for line in self.lines.get(member, ()))

    def balances(self) -> dict[str, int]:
        return {m: self.balance(m) for m in self.lines}

    @property
    def supply(self) -> int:
        """Minted − burned − penalties, from the transactions alone."""
        return self.minted - self.burned - self.penalties

    def epoch(self, time: int) -> int:
        return max(0, (time - self.genesis) // self.epoch_ms)

    # -- publications ----------------------------------------------------------------

    def publish(self, member: str, list_type: str, size: int, expires_at: int | None) -> None:
        self.pub[member, list_type] = (size, expires_at)

    def unpublish(self, member: str, list_type: str) -> None:
        self.pub.pop((member, list_type), None)

    # -- transactions ----------------------------------------------------------------

    def apply(self, kind: str, member: str, body: Mapping[str, Any], time: int, tx: bytes) -> None:
        """One transaction the ledger applied (refused ones are never fed)."""
        if kind == "pub.publish_index":
            self.publish(member, body["list_type"], body["size"], body["expires_at"])
        elif kind == "gov.genesis" or kind.startswith("pub."):
            pass  # read by the caller (parameters, members), or moving no credit
        elif not kind.startswith(("credits.", "gov.")):
            pass  # another contract's (a scenario's): it moves no credit
        elif kind == "credits.receipt":
            self._receipt(body, time, tx)
        elif kind == "credits.refund":
            self._refund(member, body, tx)
        elif kind == "credits.hits":
            for item in body["items"]:
                for rid in item:
                    r = self.receipts[rid]
                    r.ks = (r.ks or []) + [len(item)]
                    r.states.append("r")
        elif kind == "credits.feedback":
            self._feedback(body)
        elif kind == "credits.evidence":
            self.disputes[body["dispute"]].status = "opened"
        elif kind == "credits.resolve":
            self._resolve(body, time)
        elif kind == "credits.settle":
            self._settle(body["epoch"], tx)
        elif kind == "credits.delisted":
            pass  # no credit moves
        else:
            raise NotImplementedError(f"the oracle does not model {kind}")

    def _receipt(self, body: Mapping[str, Any], time: int, tx: bytes) -> None:
        req: Any = _request(body["request"])
        querier = req["querier"]
        rid = hashlib.sha256(
            encode("credits-receipt-id", 1, [querier, req["request_id"]])
        ).hexdigest()
        if self.roles.get(querier) != "member":
            raise NotImplementedError("canary probes are not modelled")
        charge = self.price[req["list_type"]] * req["item_count"]
        self.receipts[rid] = _Receipt(
            querier, req["responder"], req["list_type"], req["item_count"], charge, self.epoch(time)
        )
        self.lines[querier].append(Line(tx, "charge", rid, -charge))
        self.burned += charge

    def _refund(self, member: str, body: Mapping[str, Any], tx: bytes) -> None:
        rid = body["receipt"]
        r = self.receipts[rid]
        assert r.querier == member and not r.refunded and r.ks is None
        r.refunded = True
        self.lines[member].append(Line(tx, "refund", rid, r.charge))
        self.burned -= r.charge

    def _feedback(self, body: Mapping[str, Any]) -> None:
        rid = body["receipt"]
        r = self.receipts[rid]
        chosen = sorted(body.get("hits") or [i for i, s in enumerate(r.states) if s == "r"])
        for i in chosen:
            r.states[i] = "c" if body["action"] == "confirm" else "d"
        if body["action"] == "dispute":
            assert r.ks is not None
            self.disputes[rid] = _Dispute(
                r.responder, r.list_type, chosen, [r.ks[i] for i in chosen]
            )

    def _resolve(self, body: Mapping[str, Any], time: int) -> None:
        rid = body["dispute"]
        d = self.disputes[rid]
        d.status = body["verdict"]
        d.verdict_epoch = self.epoch(time)
        r = self.receipts[rid]
        for i in d.hits:
            r.states[i] = "u" if d.status == "upheld" else "v"

    # -- settlement --------------------------------------------------------------------

    def _reward(self, list_type: str, ks: list[int], q: Fraction) -> int:
        exact = (
            self.beta
            * q
            * self.weight.get(list_type, 0)
            * sum((Fraction(1, k) for k in ks), Fraction(0))
        )
        exact /= 1000
        return exact.numerator // exact.denominator  # each payment rounded down once

    def _settle(self, t: int, tx: bytes) -> None:
        assert t == self.last_settled + 1, "settlements come in epoch order"
        end = self.genesis + (t + 1) * self.epoch_ms
        names = ("grant", "served", "hits", "penalty", "decay", "cap", "charges")
        comp: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
        quality = {
            j: Fraction(self.tp[j] + self.a0, self.tp[j] + self.fp[j] + self.a0 + self.b0)
            for j in set(self.roles) | set(self.tp) | set(self.fp)
        }  # as after the previous settlement: lagged
        tp_add: dict[str, int] = defaultdict(int)
        fp_add: dict[str, int] = defaultdict(int)
        for j, role in self.roles.items():
            if role != "member":
                continue
            live = 0
            for lt in self.price:
                size, expires = self.pub.get((j, lt), (0, None))
                if size > 0 and (expires is None or expires > end):
                    live += 1
            comp[j]["grant"] = self.g0 * live
        served: dict[tuple[str, str], int] = defaultdict(int)
        for r in self.receipts.values():
            if r.epoch != t or r.refunded:
                continue
            comp[r.querier]["charges"] += r.charge
            served[r.responder, r.querier] += r.items
            paid = [k for k, s in zip(r.ks or [], r.states, strict=True) if s in _PAID]
            if paid:
                comp[r.responder]["hits"] += self._reward(r.list_type, paid, quality[r.responder])
                tp_add[r.responder] += len(paid)
        for (responder, _), items in served.items():
            comp[responder]["served"] += self.alpha * min(items, self.m)
        for d in self.disputes.values():
            if d.verdict_epoch is None or d.verdict_epoch > t or d.accounted:
                continue
            d.accounted = True
            if d.status == "upheld":
                comp[d.holder]["penalty"] += self.gamma * len(d.hits)
                fp_add[d.holder] += len(d.hits)
            else:
                comp[d.holder]["hits"] += self._reward(d.list_type, d.ks, quality[d.holder])
                tp_add[d.holder] += len(d.hits)
        entries: dict[str, dict[str, int]] = {}
        for j in sorted(set(comp) | set(self.b) | set(tp_add) | set(fp_add)):
            c = comp[j]
            before = self.b[j]
            # A debt the epoch's recorded answers ran below the overdraft floor is
            # penalised by its size.
            c["penalty"] += max(0, c["charges"] - before - self.overdraft)
            kept = before * self.keep_num // self.keep_den if before > 0 else before
            c["decay"] = before - kept
            income = c["grant"] + c["served"] + c["hits"]
            c["cap"] = max(0, kept + income - self.cap)
            delta = income - c["decay"] - c["cap"] - c["penalty"]
            if any(c[n] for n in names if n != "charges"):
                self.lines[j].append(Line(tx, "settle", f"{t:012d}", delta))
            self.b[j] = before + delta - c["charges"]
            self.minted += income
            self.burned += c["decay"] + c["cap"]
            self.penalties += c["penalty"]
            if any(c.values()) or tp_add[j] or fp_add[j]:
                entries[j] = {**c, "delta": delta, "settled": self.b[j]}
                entries[j] |= {"tp": tp_add[j], "fp": fp_add[j]}
        for j, n in tp_add.items():
            self.tp[j] += n
        for j, n in fp_add.items():
            self.fp[j] += n
        self.settlements[t] = entries
        self.last_settled = t


def replay_store(store: Store, to_height: int | None = None) -> Oracle:
    """An oracle fed a replica's chain from genesis, block by block, valid transactions
    only, each at its block's time — through the ledger's public reading API only."""
    genesis = store.txs(to_height=0)[0].decoded().tx
    assert genesis.kind == "gov.genesis"
    config = decode_genesis_config(genesis.body["config"])
    roles = {f["id"]: f["role"] for f in config["founders"]}
    oracle = Oracle(config["params"], roles, config["time"])
    head = store.height if to_height is None else to_height
    times = {b.height: b.time for b in store.blocks_info(0, head + 1)}
    for record in store.txs(to_height=head):
        if record.ok and record.height > 0:
            stx = record.decoded().tx
            oracle.apply(stx.kind, stx.member, stx.body, times[record.height], record.tx_id)
    return oracle
