"""The investment-supervision check (SCENARIOS.md §5): an instruction judged on the
hypothetical post-trade portfolio under the agreement's rules.

A pure function of the rules in force (the agreement's rule parameters), the portfolio
before the trade, the securities master and the instruction. It returns every violated
rule, named, in a fixed order, so every party's gateway reaches the same result; a rule
whose parameter the parties did not set is not in force. Values are cash plus quantity
× price (minor units), shares of NAV are compared exactly in parts per million:

- ``allowed_classes``: the instrument's asset class is allowed;
- ``min_rating``: the instrument is rated at least the minimum;
- ``prohibited_counterparties``: the counterparty is not prohibited;
- ``trading_days``: the day of the instruction is a trading day (Monday 0);
- ``no_overdraft`` / ``no_short``: cash and every position stay ≥ 0 (always in force);
- ``max_issuer``: each issuer's holdings at most that share of NAV;
- ``min_cash``: cash at least that share of NAV;
- ``max_leverage``: gross holdings at most that share of NAV.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

__all__ = ["RATINGS", "nav", "post_trade", "violations"]

# Highest first: a rating is "at least" another when it comes no later in this list.
RATINGS = ("AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB", "B")
_PPM = 1_000_000


def nav(portfolio: Mapping[str, Any], securities: Mapping[str, Any]) -> int:
    positions = portfolio["positions"]
    held = sum(int(q) * int(securities[i]["price"]) for i, q in positions.items())
    return int(portfolio["cash"]) + held


def post_trade(portfolio: Mapping[str, Any], instruction: Mapping[str, Any]) -> dict[str, Any]:
    """The portfolio as it would be after the instruction settles."""
    sign = 1 if instruction["side"] == "buy" else -1
    positions = dict(portfolio["positions"])
    held = positions.get(instruction["instrument"], 0) + sign * instruction["qty"]
    positions[instruction["instrument"]] = held
    if held == 0:
        del positions[instruction["instrument"]]
    cash = portfolio["cash"] - sign * instruction["qty"] * instruction["price"]
    return {"cash": cash, "positions": positions}


def _pct(ppm: int) -> str:
    # Integers only: the text is recorded in the state every party commits to.
    return f"{ppm // 10_000}.{ppm % 10_000 // 100:02d} %"


def violations(
    params: Mapping[str, Any],
    portfolio: Mapping[str, Any],
    securities: Mapping[str, Any],
    instruction: Mapping[str, Any],
    day: date,
) -> list[str]:
    found: list[str] = []
    security = securities[instruction["instrument"]]
    allowed = params.get("allowed_classes")
    if allowed is not None and security["class"] not in allowed:
        found.append(f"allowed_classes: {security['class']} is not allowed")
    minimum = params.get("min_rating")
    if minimum is not None and RATINGS.index(security["rating"]) > RATINGS.index(minimum):
        found.append(f"min_rating: {security['rating']} is below {minimum}")
    if instruction["counterparty"] in params.get("prohibited_counterparties", []):
        found.append(f"prohibited_counterparties: {instruction['counterparty']}")
    days = params.get("trading_days")
    if days is not None and day.weekday() not in days:
        found.append(f"trading_days: {day.isoformat()} is outside the trading window")
    after = post_trade(portfolio, instruction)
    if after["cash"] < 0:
        found.append("no_overdraft: cash would be negative")
    if any(q < 0 for q in after["positions"].values()):
        found.append("no_short: a position would be negative")
    value = nav(after, securities)
    if value <= 0:
        return [*found, "nav: the portfolio would have no value"]
    by_issuer: dict[str, int] = {}
    for i, q in after["positions"].items():
        issuer = securities[i]["issuer"]
        by_issuer[issuer] = by_issuer.get(issuer, 0) + q * securities[i]["price"]
    limit = params.get("max_issuer")
    if limit is not None:
        for issuer, held in sorted(by_issuer.items()):
            if held * _PPM > limit * value:
                found.append(
                    f"max_issuer: {issuer} {_pct(held * _PPM // value)} of NAV above {_pct(limit)}"
                )
    floor = params.get("min_cash")
    if floor is not None and after["cash"] * _PPM < floor * value:
        found.append(
            f"min_cash: cash {_pct(after['cash'] * _PPM // value)} of NAV below {_pct(floor)}"
        )
    leverage = params.get("max_leverage")
    gross = sum(by_issuer.values())
    if leverage is not None and gross * _PPM > leverage * value:
        found.append(
            f"max_leverage: holdings {_pct(gross * _PPM // value)} of NAV above {_pct(leverage)}"
        )
    return found
