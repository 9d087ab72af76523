"""Credit parameters: defaults, types, and the constraints enforced whenever they are set."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import ContractError, Value
from token_incentive import ParamsError, check_params, default_params, load_params

from ._net import Net

LTS = ("high_risk_account", "marketing_abuse", "transaction_fraud")


def test_defaults_are_valid_integers_and_keep_the_constraints() -> None:
    values = default_params()
    p = load_params(values)
    assert all(not isinstance(v, float) for v in values.values())
    assert p.serve_reward + Fraction(p.hit_reward * max(p.hit_weight.values()), 1000) < min(
        p.price.values()
    )
    assert values is not default_params()  # a fresh copy each time


@given(
    st.dictionaries(st.sampled_from(LTS), st.integers(1, 5000), min_size=3),
    st.dictionaries(st.sampled_from(LTS), st.integers(0, 2000), min_size=3),
    st.integers(0, 6000),
    st.integers(0, 20_000),
    st.integers(0, 20_000),
)
def test_the_constraint_is_enforced_exactly(
    price: dict[str, int], weight: dict[str, int], alpha: int, beta: int, penalty: int
) -> None:
    values: dict[str, Value] = {
        **default_params(),
        "credits.price": dict(price),
        "credits.hit_weight": dict(weight),
        "credits.serve_reward": alpha,
        "credits.hit_reward": beta,
        "credits.penalty": penalty,
    }
    max_w = max(weight.values())
    ok = alpha + Fraction(beta * max_w, 1000) < min(price.values()) and penalty >= Fraction(
        beta * max_w, 1000
    )
    if ok:
        check_params(values)
    else:
        with pytest.raises(ContractError):
            check_params(values)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("credits.serve_reward", 1000, "α + β·max w_L < min c_L"),
        ("credits.hit_reward", 600, "α + β·max w_L < min c_L"),
        ("credits.penalty", 100, "at least β·max w_L"),
        ("credits.decay", [10, 10], "0 <= num < den"),
        ("credits.decay", [0.5, 1], "two integers"),
        ("credits.cap", 0, "at least 1"),
        ("credits.grant", True, "must be an integer"),
        ("credits.grant", None, "is missing"),
        ("credits.price", {"transaction_fraud": 1000}, "same list types"),
        ("credits.quality_prior", [0, 0], "not both zero"),
        ("credits.epoch_ms", 0, "at least 1"),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(name: str, value: Any, message: str) -> None:
    values: dict[str, Any] = default_params()
    if value is None:
        del values[name]
    else:
        values[name] = value
    with pytest.raises(ParamsError, match=message.replace("+", r"\+")):
        load_params(values)
    with pytest.raises(ContractError):
        check_params(values)


def test_a_governance_change_that_breaks_the_constraint_is_refused() -> None:
    net = Net()
    with pytest.raises(ContractError, match="min c_L"):
        net.set_params(serve_reward=1000)
    net.set_params(serve_reward=199)  # 199 + 300 < 500 (the cheapest list): still negative
