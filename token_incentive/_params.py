"""Credit parameters: names, units, defaults and the constraints they must keep.

Every parameter lives in the governance table ``gov.params`` under a ``credits.`` name,
is set in genesis and changes only through governance. All values are integers (or
lists and maps of integers): no floats anywhere in state.

Units:

- amounts are **milli-credits** (1 credit = 1000 milli-credits);
- ``credits.price`` (c_L) is milli-credits **per item** evaluated, per list type;
- ``credits.serve_reward`` (α) is milli-credits per item served, counted up to
  ``credits.serve_cap`` (m) items per counterparty per epoch;
- ``credits.hit_reward`` (β) is milli-credits per confirmed hit at weight 1000 ‰ and
  quality 1; ``credits.hit_weight`` (w_L) is in **parts per thousand** per list type;
- ``credits.decay`` (λ) is ``[num, den]``, the fraction of a positive balance kept at
  each settlement, ``0 <= num < den``;
- ``credits.quality_prior`` (a0, b0) are Beta pseudo-counts, integers;
- times are milliseconds;
- ``credits.watch_price`` is milli-credits per watched identifier **per epoch**, per
  list type; a list type it does not name costs ⌈c_L / watch_epochs⌉ (the query price
  spread over 30 day-long epochs, by default). One watch evaluation buys
  ``credits.watch_epochs`` epochs and is charged ``watch_price · watch_epochs`` per
  identifier up front, which must be at least c_L: calling a lookup a watch never
  makes it cheaper than a query (``token_incentive._watch``).

The constraint that keeps every query credit-negative for the two members involved,
α + β·max w_L < min c_L, reads in these units ``1000·α + β·max(w_L) < 1000·min(c_L)``.
A second constraint, ``1000·γ >= β·max(w_L)``, makes an upheld false positive cost at
least what a confirmed hit pays, so padding a list with entries that only ever produce
false positives cannot pay.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger import PARAMS, ContractError, State, Value, table_token
from token_incentive._errors import ParamsError

__all__ = [
    "PARAM_NAMES",
    "CreditParams",
    "check_params",
    "default_params",
    "load_params",
    "params_from_state",
]

PERMILLE = 1000

# The genesis defaults. A day-long epoch; one credit per item on the fraud and account
# lists; grants sized so a member publishing all three lists can screen ~3,000 items a
# day before dipping into its overdraft.
_DEFAULTS: dict[str, Value] = {
    "credits.price": {
        "high_risk_account": 1000,
        "marketing_abuse": 500,
        "transaction_fraud": 1000,
    },
    "credits.hit_weight": {
        "high_risk_account": 800,
        "marketing_abuse": 500,
        "transaction_fraud": 1000,
    },
    "credits.grant": 1_000_000,
    "credits.serve_reward": 100,
    "credits.hit_reward": 300,
    "credits.decay": [9, 10],
    "credits.cap": 20_000_000,
    "credits.overdraft": 2_000_000,
    "credits.serve_cap": 10_000,
    "credits.penalty": 5_000,
    "credits.feedback_window_ms": 2 * 86_400_000,
    "credits.epoch_ms": 86_400_000,
    "credits.request_ttl_ms": 5 * 60_000,
    "credits.dispute_open_ms": 7 * 86_400_000,
    "credits.quality_prior": [4, 1],
    "credits.max_items": 100_000,
    # Open canary commitments an observer may hold: each buys one free probe per
    # responder and epoch, so this bounds what an observer can test for nothing.
    "credits.max_canaries": 1_000,
    # Watchlists (token_incentive._watch): one evaluation of a watched book buys 30
    # epochs (30 days at the default epoch); no list type priced apart from c_L.
    "credits.watch_epochs": 30,
    "credits.watch_price": {},
}
# Parameters added after the first release: a chain whose genesis predates one uses
# its default until governance sets it.
_LATER = frozenset({"credits.max_canaries", "credits.watch_epochs", "credits.watch_price"})

PARAM_NAMES = frozenset(_DEFAULTS)


@dataclass(frozen=True, slots=True)
class CreditParams:
    """The credit parameters, typed and checked; see the module docstring for units."""

    price: Mapping[str, int]
    hit_weight: Mapping[str, int]
    grant: int
    serve_reward: int
    hit_reward: int
    decay_num: int
    decay_den: int
    cap: int
    overdraft: int
    serve_cap: int
    penalty: int
    feedback_window_ms: int
    epoch_ms: int
    request_ttl_ms: int
    dispute_open_ms: int
    prior_a: int
    prior_b: int
    max_items: int
    max_canaries: int
    watch_epochs: int = 30
    # Explicit per-epoch watch prices; ``watch_price_of`` derives the rest from c_L.
    watch_price: Mapping[str, int] = field(default_factory=dict)

    def decayed(self, balance: int) -> int:
        """λ·B rounded down for a positive balance; a debt does not decay."""
        if balance <= 0:
            return balance
        return balance * self.decay_num // self.decay_den

    def watch_price_of(self, list_type: str) -> int:
        """Milli-credits per watched identifier per epoch on ``list_type``."""
        explicit = self.watch_price.get(list_type)
        if explicit is not None:
            return explicit
        price = self.price.get(list_type, max(self.price.values()))
        return -(-price // self.watch_epochs)

    def watch_charge(self, list_type: str) -> int:
        """What one watch evaluation charges per identifier: ``watch_epochs`` epochs."""
        return self.watch_price_of(list_type) * self.watch_epochs

    def quality(self, tp: int, fp: int) -> Fraction:
        """q = (TP + a0) / (TP + FP + a0 + b0), exact."""
        return Fraction(tp + self.prior_a, tp + fp + self.prior_a + self.prior_b)


def default_params() -> dict[str, Value]:
    """The ``credits.*`` entries for the genesis builder's ``gov.params`` (fresh copies)."""
    out: dict[str, Value] = {}
    for name, value in _DEFAULTS.items():
        if isinstance(value, dict):
            out[name] = dict(value)
        elif isinstance(value, list):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def _int(values: Mapping[str, Any], name: str, minimum: int) -> int:
    value = values.get(name)
    if value is None:
        raise ParamsError(f"parameter {name} is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamsError(f"parameter {name} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise ParamsError(f"parameter {name} must be at least {minimum}, not {value}")
    return value


def _pair(values: Mapping[str, Any], name: str) -> tuple[int, int]:
    value = values.get(name)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
    ):
        raise ParamsError(f"parameter {name} must be a list of two integers")
    return value[0], value[1]


def _per_list(values: Mapping[str, Any], name: str, minimum: int) -> dict[str, int]:
    value = values.get(name)
    if not isinstance(value, dict) or not value:
        raise ParamsError(f"parameter {name} must be a non-empty map of list type to integer")
    out: dict[str, int] = {}
    for list_type, amount in value.items():
        if not isinstance(list_type, str) or not list_type:
            raise ParamsError(f"parameter {name} has a bad list type {list_type!r}")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < minimum:
            raise ParamsError(f"parameter {name}[{list_type}] must be an integer >= {minimum}")
        out[list_type] = amount
    return out


def _with_later(values: Mapping[str, Any]) -> Mapping[str, Any]:
    missing = {name: _DEFAULTS[name] for name in _LATER if name not in values}
    return {**values, **missing} if missing else values


def load_params(values: Mapping[str, Any]) -> CreditParams:
    """Type-check the ``credits.*`` parameters and enforce the scheme's constraints."""
    price = _per_list(values, "credits.price", 1)
    weight = _per_list(values, "credits.hit_weight", 0)
    if set(price) != set(weight):
        raise ParamsError("credits.price and credits.hit_weight must name the same list types")
    decay_num, decay_den = _pair(values, "credits.decay")
    if not 0 <= decay_num < decay_den:
        raise ParamsError("credits.decay [num, den] must have 0 <= num < den")
    prior_a, prior_b = _pair(values, "credits.quality_prior")
    if prior_a < 0 or prior_b < 0 or prior_a + prior_b == 0:
        raise ParamsError("credits.quality_prior [a0, b0] must be >= 0 and not both zero")
    p = CreditParams(
        price=price,
        hit_weight=weight,
        grant=_int(values, "credits.grant", 0),
        serve_reward=_int(values, "credits.serve_reward", 0),
        hit_reward=_int(values, "credits.hit_reward", 0),
        decay_num=decay_num,
        decay_den=decay_den,
        cap=_int(values, "credits.cap", 1),
        overdraft=_int(values, "credits.overdraft", 0),
        serve_cap=_int(values, "credits.serve_cap", 0),
        penalty=_int(values, "credits.penalty", 0),
        feedback_window_ms=_int(values, "credits.feedback_window_ms", 1),
        epoch_ms=_int(values, "credits.epoch_ms", 1),
        request_ttl_ms=_int(values, "credits.request_ttl_ms", 1),
        dispute_open_ms=_int(values, "credits.dispute_open_ms", 0),
        prior_a=prior_a,
        prior_b=prior_b,
        max_items=_int(values, "credits.max_items", 1),
        max_canaries=_int(_with_later(values), "credits.max_canaries", 0),
        watch_epochs=_int(_with_later(values), "credits.watch_epochs", 1),
        watch_price=_watch_prices(_with_later(values), price),
    )
    max_w, min_c = max(weight.values()), min(price.values())
    # α + β·max w/1000 < min c, multiplied through by 1000 to stay in integers.
    if PERMILLE * p.serve_reward + p.hit_reward * max_w >= PERMILLE * min_c:
        raise ParamsError(
            "credits parameters break α + β·max w_L < min c_L: "
            f"{p.serve_reward} + {p.hit_reward}·{max_w}/1000 >= {min_c} milli-credits per item"
        )
    if PERMILLE * p.penalty < p.hit_reward * max_w:
        raise ParamsError(
            "credits.penalty must be at least β·max w_L, what one confirmed hit can pay: "
            f"{p.penalty} < {p.hit_reward}·{max_w}/1000"
        )
    for list_type in price:
        if p.watch_charge(list_type) < price[list_type]:
            raise ParamsError(
                f"credits.watch_price[{list_type}] · credits.watch_epochs must be at least"
                f" the query price {price[list_type]}: a watch evaluation may not be a"
                " cheaper query"
            )
    return p


def _watch_prices(values: Mapping[str, Any], price: Mapping[str, int]) -> dict[str, int]:
    """``credits.watch_price``: a map (maybe empty) from priced list types to prices >= 1."""
    value = values.get("credits.watch_price")
    if not isinstance(value, dict):
        raise ParamsError("parameter credits.watch_price must be a map of list type to integer")
    if not value:
        return {}
    out = _per_list(values, "credits.watch_price", 1)
    unknown = sorted(set(out) - set(price))
    if unknown:
        raise ParamsError(f"credits.watch_price names list types without a price: {unknown}")
    return out


def check_params(values: Mapping[str, Value]) -> None:
    """The contract's ``param_check``: refuse consortium parameters that break the rules."""
    try:
        load_params(values)
    except ParamsError as exc:
        raise ContractError(str(exc)) from None


# Parsed parameters by the content token of gov.params (ledger.table_token): every
# receipt needs them, and they change only through governance.
_MEMO_LIMIT = 256
_parsed: dict[Hashable, CreditParams] = {}


def params_from_state(state: State) -> CreditParams:
    """The parameters in force in ``state`` (the governance table)."""
    token = table_token(state, PARAMS)
    if token is not None:
        known = _parsed.get(token)
        if known is not None:
            return known
    p = load_params(dict(state.scan(PARAMS, "credits.")))
    if token is not None:
        if len(_parsed) >= _MEMO_LIMIT:
            _parsed.clear()
        _parsed[token] = p
    return p
