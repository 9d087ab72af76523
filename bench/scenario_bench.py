"""Scenario transitions per second through the kit's engine, against the ledger's raw
receipt rate, in one run on this machine.

Both go through the same path: signed transactions submitted in batches to an
``EmbeddedOrderer`` with the consortium's real registry (every signature checked, each
transaction applied by its contract on the pending state, ≤ 1 MiB blocks committed to
SQLite with WAL and ``synchronous=FULL``), each phase in a fresh process:

- **reference**: the ledger's raw rate — ``credits.receipt`` transactions exactly as
  ``bench/ledger_bench.py`` measures them (``embedded_receipts_per_s``);
- **single-leg steps** (equity settlement, ``scenarios.equity``): every step of K
  trades before settlement — ``propose``, ``confirm``, ``instruct`` (which spawns two
  instruction legs), and each instruction's ``allocate`` (a holding moved into the
  instruction's account, conservation audited) and ``approve`` — 7 transactions per
  trade, each a one-leg kit transaction judged by its machine;
- **DvP batches**: the K trades settled in ``equity.tx`` batches of B ``trade.settle``
  legs (each spawning its two instruction legs: 3 objects and 2 moves per trade, all or
  nothing): batches per second and trades settled per second;
- **distributions** (syndicated loans, ``scenarios.syndicate``): a confidential
  facility's ``accrue`` → ``post_payment`` → ``distribute`` → ``set_rate`` cycle run
  by the kit's engine on the private state as every party's gateway runs it to
  endorse (``scenarios.kit.run_private``): distributions per second per party, engine
  only — the ledger's share of a confidential step is one ``<contract>.private``
  commitment with its endorsements, which the single-leg figure bounds.

Ratios are against the reference in the same run (the target for single-leg steps is
≥ 0.5 × the ledger's raw rate), by wall-clock rate and by process CPU per transaction
— the robust figure on a shared machine, where wall-clock rates move with other
people's load. The load average is reported.

Usage: .venv/bin/python bench/scenario_bench.py [--quick] [--json] [--trades K] [--batch B]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ledger_bench import (
    BATCH,
    MEMBERS,
    T0,
    Workload,
    _fresh,
    bench_embedded,
    bench_founders,
    key_of,
    registry_for,
)
from ledger import (
    EmbeddedOrderer,
    GenesisConfig,
    MemoryState,
    Replica,
    Store,
    TxContext,
    build_genesis_block,
    seed_member,
    sign_genesis,
    sign_transaction,
)
from ledger import (
    Member as LedgerMember,
)
from token_incentive import default_params

DAY = "2025-06-15"  # T0's calendar day (UTC)
ISSUER, CASH_BANK, BUYER, OPERATOR = MEMBERS


def _load() -> float:
    return round(os.getloadavg()[0], 2)


class Txs:
    """A genesis with the equity cash bank named, and signed transactions after it."""

    def __init__(self) -> None:
        founders = bench_founders()
        params = default_params()
        params["ledger.proposers"] = [MEMBERS[0]]
        params["equity.cash_banks"] = [CASH_BANK]
        config = GenesisConfig("bench", founders, T0, params=params)
        raw = config.encode()
        self.chain = config.chain_id
        self.genesis = build_genesis_block(
            raw,
            {m: sign_genesis(raw, key_of(m)) for m in MEMBERS},
            proposer=MEMBERS[0],
            key=key_of(MEMBERS[0]),
            registry=registry_for(False),
        ).raw
        self.seq = dict.fromkeys(MEMBERS, 1)

    def tx(self, member: str, kind: str, body: dict[str, Any]) -> bytes:
        self.seq[member] += 1
        return sign_transaction(
            key_of(member),
            chain=self.chain,
            member=member,
            kind=kind,
            body=body,
            seq=self.seq[member],
            time=T0,
        ).raw

    def step(
        self, member: str, kind: str, obj: str, version: int, payload: dict[str, Any] | None = None
    ) -> bytes:
        body = {"object": obj, "version": version, "payload": payload or {}}
        return self.tx(member, f"equity.{kind}", body)


def equity_workload(trades: int, batch: int) -> tuple[bytes, list[bytes], list[bytes], list[bytes]]:
    """The genesis, the set-up, the single-leg steps of ``trades`` trades, and their
    settlement in batches of ``batch``."""
    t = Txs()
    setup = [
        t.step(ISSUER, "create", "ACME", 0, {"kind": "share"}),
        t.step(ISSUER, "issue", "ACME", 1, {"to": ISSUER, "qty": 10**12}),
        t.step(CASH_BANK, "create", "USD", 0, {"kind": "cash"}),
        t.step(CASH_BANK, "issue", "USD", 1, {"to": BUYER, "qty": 10**15}),
    ]
    steps: list[bytes] = []
    for i in range(trades):
        tid = f"T{i}"
        terms = {
            "buyer": BUYER,
            "operator": OPERATOR,
            "security": "ACME",
            "qty": 100,
            "cash": "USD",
            "price": 250,
            "trade_date": DAY,
            "settle_date": DAY,
            "cutoff": DAY,
        }
        steps += [
            t.step(ISSUER, "propose", tid, 0, terms),
            t.step(BUYER, "confirm", tid, 1),
            t.step(OPERATOR, "instruct", tid, 2),
            t.step(ISSUER, "allocate", f"{tid}~D", 1),
            t.step(BUYER, "approve", f"{tid}~D", 2),
            t.step(BUYER, "allocate", f"{tid}~P", 1),
            t.step(ISSUER, "approve", f"{tid}~P", 2),
        ]
    batches = []
    for i in range(0, trades, batch):
        legs = [
            {
                "machine": "trade",
                "object": f"T{j}",
                "version": 3,
                "transition": "settle",
                "payload": {},
            }
            for j in range(i, min(trades, i + batch))
        ]
        batches.append(t.tx(OPERATOR, "equity.tx", {"legs": legs}))
    return t.genesis, setup, steps, batches


def _submit(orderer: EmbeddedOrderer, raws: list[bytes]) -> tuple[float, float]:
    """Submit and commit ``raws``: wall seconds, and process CPU µs per transaction."""
    cpu = time.process_time()
    start = time.perf_counter()
    for i in range(0, len(raws), BATCH):
        answers = orderer.submit_many(raws[i : i + BATCH])
        refused = [a.reason for a in answers if not a.accepted]
        if refused:
            raise SystemExit(f"refused: {refused[:3]}")
    orderer.flush()
    return time.perf_counter() - start, (time.process_time() - cpu) / len(raws) * 1e6


def bench_equity(trades: int, batch: int, path: str) -> dict[str, Any]:
    genesis, setup, steps, batches = equity_workload(trades, batch)
    registry = registry_for(False)
    store = Store(Path(path))
    Replica(store, registry).apply(genesis)
    orderer = EmbeddedOrderer(
        store, registry, member=MEMBERS[0], key=key_of(MEMBERS[0]), clock=lambda: T0
    )
    _submit(orderer, setup)
    load = _load()
    steps_s, steps_cpu = _submit(orderer, steps)
    batches_s, batches_cpu = _submit(orderer, batches)
    committed = store.txs(ok=True, from_height=2)
    assert len(committed) == len(steps) + len(batches), "every step is committed and valid"
    from scenarios.equity import TRADES

    state = store.state()
    assert all(TRADES.load(state, f"T{i}").state == "SETTLED" for i in range(trades))
    store.close()
    orderer.verifier.close()
    return {
        "steps_per_s": len(steps) / steps_s,
        "batches_per_s": len(batches) / batches_s,
        "trades_settled_per_s": trades / batches_s,
        "step_cpu_us": steps_cpu,
        "trade_settled_cpu_us": batches_cpu * len(batches) / trades,
        "load": load,
    }


def bench_distributions(cycles: int) -> dict[str, Any]:
    """A facility's interest cycles through the engine as each party runs them."""
    from scenarios import engine_for
    from scenarios.kit import MS_PER_DAY, PrivateRecord, run_private
    from scenarios.syndicate import FACILITIES

    lenders = ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e"]
    state = MemoryState()
    for m in [*lenders, "acme"]:
        row = LedgerMember(m, m, "member", "active", b"\0" * 32, b"\0" * 32, "", 0)
        seed_member(state, row)
    engine = engine_for("syndicate")
    height = 0
    now = 20_000 * MS_PER_DAY  # 2024-10-04; the cycles' dates are before it
    record: PrivateRecord | None = None

    def step(actor: str, transition: str, payload: dict[str, Any]) -> None:
        nonlocal height, record
        height += 1
        ctx = TxContext(
            hashlib.sha256(b"%d" % height).digest(),
            FACILITIES.kind("private"),
            actor,
            "member",
            height,
            now,
            {},
            height,
            now,
        )
        parties = frozenset() if record is None else record.obj.members()
        _, outcome = run_private(
            engine,
            state,
            ctx,
            FACILITIES,
            record,
            "SYN-1",
            transition,
            payload,
            endorsers=parties | {actor},
            strict=True,
        )
        record = PrivateRecord("syndicate", outcome.objects[0], b"k" * 32, b"")

    shares = dict(zip(lenders, [300_000, 250_000, 200_000, 150_000, 100_000], strict=True))
    step(
        "bank-a",
        "sign",
        {
            "borrower": "acme",
            "shares": shares,
            "commitment": 10**13,
            "maturity": "2030-01-01",
            "daycount": "ACT/360",
            "margin": 15_000,
            "borrower_consent": False,
        },
    )
    step("bank-a", "satisfy_conditions", {})
    step(
        "acme",
        "request_drawdown",
        {"loan": "L1", "amount": 30_000_000_07, "start": "2000-01-01", "maturity": "2029-12-31"},
    )
    step("bank-a", "issue_notices", {"loan": "L1"})
    for m in lenders:
        step(m, "fund", {"loan": "L1"})
    step("bank-a", "confirm_funding", {"loan": "L1"})
    from datetime import date, timedelta

    day = date(2000, 1, 1)
    load = _load()
    start = time.perf_counter()
    for i in range(cycles):
        end = day + timedelta(days=30)
        step("bank-a", "set_rate", {"loan": "L1", "end": end.isoformat(), "base": 30_000})
        step("bank-a", "accrue", {"loan": "L1", "to": end.isoformat()})
        assert record is not None
        gross = record.obj.attrs["loans"]["L1"]["period_accrued"]
        step(
            "bank-a",
            "post_payment",
            {
                "payment": f"P{i}",
                "loan": "L1",
                "type": "interest",
                "gross": gross,
                "record_date": end.isoformat(),
            },
        )
        step("bank-a", "distribute", {"payment": f"P{i}"})
        day = end
    elapsed = time.perf_counter() - start
    return {
        "distributions_per_s": cycles / elapsed,
        "steps_per_s": 4 * cycles / elapsed,
        "load": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 60 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trades", type=int, help="trades (7 single-leg steps each)")
    parser.add_argument("--batch", type=int, default=10, help="trades per settlement batch")
    args = parser.parse_args()
    trades = args.trades or (300 if args.quick else 2_000)
    receipts = 7 * trades
    load_before = _load()
    work = Workload.make(receipts)
    with tempfile.TemporaryDirectory(prefix="scenario-bench-") as tmp:
        base = Path(tmp)
        reference = _fresh(bench_embedded, work, base / "reference.sqlite")
        equity = _fresh(bench_equity, trades, args.batch, str(base / "equity.sqlite"))
    distributions = _fresh(bench_distributions, 50 if args.quick else 200)
    raw = reference["rate"]
    result = {
        "trades": trades,
        "batch": args.batch,
        "reference_receipts": receipts,
        "load_average_before_after": [load_before, _load()],
        "ledger_raw_receipts_per_s": round(raw),
        "single_leg_steps_per_s": round(equity["steps_per_s"]),
        "single_leg_vs_raw": round(equity["steps_per_s"] / raw, 3),
        "cpu_us": {
            "receipt": round(reference["cpu_us"]),
            "single_leg_step": round(equity["step_cpu_us"]),
            "trade_settled_in_batch": round(equity["trade_settled_cpu_us"]),
        },
        "single_leg_vs_raw_by_cpu": round(reference["cpu_us"] / equity["step_cpu_us"], 3),
        "dvp_trades_vs_raw_by_cpu": round(reference["cpu_us"] / equity["trade_settled_cpu_us"], 3),
        "dvp_batches_per_s": round(equity["batches_per_s"], 1),
        "dvp_trades_settled_per_s": round(equity["trades_settled_per_s"]),
        "dvp_trades_vs_raw": round(equity["trades_settled_per_s"] / raw, 3),
        "distributions_per_s_engine_per_party": round(distributions["distributions_per_s"], 1),
        "confidential_steps_per_s_engine_per_party": round(distributions["steps_per_s"]),
        "confidential_steps_vs_raw": round(distributions["steps_per_s"] / raw, 3),
        "loads": {
            "reference": reference["load"],
            "equity": equity["load"],
            "distributions": distributions["load"],
        },
    }
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return
    for key, value in result.items():
        print(f"{key:40} {value}")


if __name__ == "__main__":
    main()
