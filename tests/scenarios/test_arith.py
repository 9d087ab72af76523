"""The kit's exact arithmetic and party-set quorums, against published tables and
reference computations written independently of the code under test (``Fraction``).

- Day counts match ISDA's published examples for the 2006 Definitions §4.16
  (``tests/vectors/isda_daycount``), and accruals are those day counts times
  principal and rate, rounded half up once.
- Allocation sums exactly and is the largest-remainder (Hamilton) apportionment: each
  part is its quota rounded down or up, and exactly the largest remainders round up.
- A party set's quorum decision is the reference fraction comparison, for any weights,
  signers and quorum.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import ContractError
from scenarios.kit import (
    ALL,
    MAJORITY,
    TWO_THIRDS,
    DayCount,
    PartySet,
    Quorum,
    Rate,
    accrue,
    allocate,
    day_count,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "isda_daycount"


def _rows(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


THIRTY = _rows("thirty_360.csv")
ACTUAL = _rows("actual.csv")


def test_the_vectors_are_all_there() -> None:
    assert len(THIRTY) == 27 and {r["example"] for r in THIRTY} == {"1", "2", "3"}
    assert len(ACTUAL) == 22


@pytest.mark.parametrize("row", THIRTY, ids=lambda r: f"{r['start']}..{r['end']}")
def test_thirty_360_matches_isda(row: dict[str, str]) -> None:
    start, end = date.fromisoformat(row["start"]), date.fromisoformat(row["end"])
    assert day_count(DayCount.THIRTY_360, start, end) == (int(row["days"]), 360)


@pytest.mark.parametrize("row", ACTUAL, ids=lambda r: f"{r['start']}..{r['end']}")
def test_actual_day_counts_match_isda(row: dict[str, str]) -> None:
    start, end = date.fromisoformat(row["start"]), date.fromisoformat(row["end"])
    assert day_count(DayCount.ACT_360, start, end) == (int(row["days"]), 360)
    assert day_count(DayCount.ACT_365F, start, end) == (int(row["days"]), 365)


def _reference_accrual(principal: int, rate: Fraction, days: int, basis: int) -> int:
    exact = principal * rate * Fraction(days, basis)
    floor = exact.numerator // exact.denominator
    return floor + (1 if exact - floor >= Fraction(1, 2) else 0)


@pytest.mark.parametrize(
    ("convention", "rows", "basis"),
    [
        (DayCount.THIRTY_360, THIRTY, 360),
        (DayCount.ACT_360, ACTUAL, 360),
        (DayCount.ACT_365F, ACTUAL, 365),
    ],
    ids=["30/360", "ACT/360", "ACT/365F"],
)
def test_accruals_follow_the_day_count_tables(
    convention: DayCount, rows: list[dict[str, str]], basis: int
) -> None:
    # 12,345,678.91 at 4.35 % and at 5.125 %: every published period.
    for principal in (1_234_567_891, 1, 999):
        for num, den in ((435, 10_000), (5125, 100_000)):
            for row in rows:
                start, end = date.fromisoformat(row["start"]), date.fromisoformat(row["end"])
                expected = _reference_accrual(
                    principal, Fraction(num, den), int(row["days"]), basis
                )
                assert accrue(principal, Rate(num, den), convention, start, end) == expected


@settings(deadline=None)
@given(
    st.integers(0, 10**15),
    st.integers(0, 10**6),
    st.dates(date(1990, 1, 1), date(2090, 1, 1)),
    st.integers(0, 4000),
    st.sampled_from(list(DayCount)),
)
def test_accrual_is_the_day_count_fraction_rounded_once(
    principal: int, ppm: int, start: date, length: int, convention: DayCount
) -> None:
    end = start + timedelta(days=length)
    days, basis = day_count(convention, start, end)
    expected = _reference_accrual(principal, Fraction(ppm, 10**6), days, basis)
    assert accrue(principal, Rate.ppm(ppm), convention, start, end) == expected


def test_a_period_cannot_run_backwards() -> None:
    with pytest.raises(ContractError, match="cannot end before"):
        day_count(DayCount.ACT_360, date(2025, 2, 1), date(2025, 1, 1))


def _hamilton(amount: int, weights: list[int]) -> list[int]:
    """The largest-remainder method from its definition, in exact fractions."""
    total = sum(weights)
    quotas = [Fraction(amount * w, total) for w in weights]
    parts = [q.numerator // q.denominator for q in quotas]
    left = amount - sum(parts)
    ranked = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for i in ranked[:left]:
        parts[i] += 1
    return parts


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, 10**12),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
)
def test_allocation_sums_exactly_with_largest_remainder_fairness(
    amount: int, weights: list[int]
) -> None:
    parts = allocate(amount, weights)
    assert sum(parts) == amount
    assert parts == _hamilton(amount, weights)
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        quota = Fraction(amount * weight, total)
        assert quota - 1 < part < quota + 1  # within one unit of its exact share
        if weight == 0:
            assert part == 0
    # Whoever rounded up had a remainder at least as large as anyone who did not.
    remainders = [Fraction(amount * w, total) % 1 for w in weights]
    up = [r for r, p, w in zip(remainders, parts, weights, strict=True) if p > amount * w // total]
    down = [
        r for r, p, w in zip(remainders, parts, weights, strict=True) if p == amount * w // total
    ]
    if up and down:
        assert min(up) >= max(down)


def test_allocation_examples() -> None:
    # 100 among three equal lenders: 34, 33, 33 (the first wins the tie).
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    # A syndicate 50/30/20 % of 1,000.01: exact parts, the cent to the largest remainder.
    assert allocate(100_001, [5000, 3000, 2000]) == [50_001, 30_000, 20_000]
    for bad in ([], [0, 0], [-1, 2]):
        with pytest.raises(ContractError):
            allocate(10, bad)


def _reference_reached(
    weights: list[int], signed: set[int], num: int, den: int, strict: bool
) -> bool:
    share = Fraction(sum(weights[i] for i in signed), sum(weights))
    return share > Fraction(num, den) if strict else share >= Fraction(num, den)


@settings(max_examples=500, deadline=None)
@given(
    weights=st.lists(st.integers(1, 10**9), min_size=1, max_size=12),
    data=st.data(),
)
def test_quorum_decisions_match_the_reference(weights: list[int], data: st.DataObject) -> None:
    den = data.draw(st.integers(1, 1000))
    num = data.draw(st.integers(0, den))
    strict = data.draw(st.booleans()) and num < den
    members = [f"m{i}" for i in range(len(weights))]
    signed = data.draw(st.sets(st.integers(0, len(weights) - 1)))
    party = PartySet(tuple(members), tuple(weights), Quorum(num, den, strict))
    signers = [members[i] for i in signed] + ["outsider"]
    assert party.reached(signers) == _reference_reached(weights, signed, num, den, strict)
    assert set(party.unsigned(signers)) == {members[i] for i in range(len(weights))} - {
        members[i] for i in signed
    }


def test_named_quorums() -> None:
    lenders = PartySet(("a", "b", "c"), (50, 30, 20), TWO_THIRDS)
    assert not lenders.reached(["a"]) and not lenders.reached(["b", "c"])
    assert lenders.reached(["a", "c"])  # 70 % ≥ 66⅔ %
    assert PartySet(("a", "b"), (50, 50), MAJORITY).reached(["a"]) is False  # not > half
    assert PartySet(("a", "b", "c"), (1, 1, 1), MAJORITY).reached(["a", "b"])
    assert not PartySet.equal(["a", "b"], ALL).reached(["a"])
    round_trip = PartySet.from_row(lenders.to_row())
    assert round_trip == lenders
    for bad in (
        lambda: PartySet(("a", "a"), (1, 1)),
        lambda: PartySet(("a",), (0,)),
        lambda: PartySet(("a", "b"), (1,)),
        lambda: PartySet((), ()),
        lambda: Quorum(2, 1),
        lambda: Quorum(1, 1, strict=True),
        lambda: PartySet.from_row({"members": ["a"], "weights": [1], "quorum": [1, 1, "x"]}),
    ):
        with pytest.raises(ContractError):
            bad()
