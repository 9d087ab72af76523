"""The oracle role: observations a named member signs, kept as ledger objects.

Fixings, prices, index levels and parametric-insurance triggers come from outside the
consortium. A scenario that needs them names its oracle with the governance parameter
``<contract>.oracle`` (a member id). Only that member records an observation
(``<contract>.observe``), and it signs the observation itself,

    riskshare/scenario-observation/v1 \\0 CBOR{chain, contract, series, as_of, value, scale}

so an observation read off the ledger carries its own proof of origin, apart from the
transaction that recorded it. ``value`` is an integer and ``scale`` its decimals
(a 4.35 % fixing is value 435, scale 4; a price of 12.50 is 1250, scale 2). One
observation per series and date: a correction is a new series or date, never an
overwrite, so a rule that read an observation reads the same one on every replay.

Rules and effects read them through :func:`observation` (``View.observation``).

Table: ``<contract>.observations``: ``<series>@<as_of>`` → ``{series, as_of, value,
scale, oracle, signature, at}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import ContractError, Handler, State, TxContext, encode, param, require_member_signature
from scenarios.kit._tx import chain_id

__all__ = [
    "OBSERVATION_DOMAIN",
    "Observation",
    "observation",
    "observation_message",
    "observations_table",
    "observe_handler",
    "oracle_member",
    "sign_observation",
]

OBSERVATION_DOMAIN = "scenario-observation"
_SERIES = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_KEYS = frozenset({"series", "as_of", "value", "scale", "signature"})


@dataclass(frozen=True, slots=True)
class Observation:
    series: str
    as_of: str
    value: int
    scale: int
    oracle: str
    signature: bytes


def observations_table(contract: str) -> str:
    return f"{contract}.observations"


def oracle_member(state: State, contract: str) -> str | None:
    named = param(state, f"{contract}.oracle")
    return named if isinstance(named, str) else None


def observation_message(
    chain: bytes, contract: str, series: str, as_of: str, value: int, scale: int
) -> bytes:
    return encode(
        OBSERVATION_DOMAIN,
        1,
        {
            "chain": chain,
            "contract": contract,
            "series": series,
            "as_of": as_of,
            "value": value,
            "scale": scale,
        },
    )


def sign_observation(
    key: Ed25519PrivateKey,
    chain: bytes,
    contract: str,
    series: str,
    as_of: str,
    value: int,
    scale: int,
) -> bytes:
    return key.sign(observation_message(chain, contract, series, as_of, value, scale))


def observation(state: State, contract: str, series: str, as_of: str) -> Observation | None:
    row = state.get(observations_table(contract), f"{series}@{as_of}")
    if not isinstance(row, dict):
        return None
    return Observation(
        row["series"], row["as_of"], row["value"], row["scale"], row["oracle"], row["signature"]
    )


def _check(body: Mapping[str, Any]) -> tuple[str, str, int, int, bytes]:
    if set(body) != _KEYS:
        raise ContractError(f"an observation is exactly {sorted(_KEYS)}")
    series, as_of, value = body["series"], body["as_of"], body["value"]
    scale, signature = body["scale"], body["signature"]
    if not isinstance(series, str) or _SERIES.fullmatch(series) is None:
        raise ContractError(f"series must match {_SERIES.pattern}")
    try:
        valid = isinstance(as_of, str) and date.fromisoformat(as_of).isoformat() == as_of
    except ValueError:
        valid = False
    if not valid:
        raise ContractError("as_of must be a date YYYY-MM-DD")
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 10**18:
        raise ContractError("value must be an integer (scaled by scale decimals)")
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 18:
        raise ContractError("scale must be 0 to 18 decimals")
    if not isinstance(signature, bytes):
        raise ContractError("signature must be bytes")
    return series, as_of, value, scale, signature


def observe_handler(contract: str) -> Handler:
    """``<contract>.observe``: the named oracle records one signed observation."""

    def handle(state: State, ctx: TxContext) -> None:
        oracle = oracle_member(state, contract)
        if oracle is None:
            raise ContractError(f"{contract} has no oracle: set the {contract}.oracle parameter")
        if ctx.member != oracle:
            raise ContractError(f"only the oracle {oracle!r} records {contract} observations")
        series, as_of, value, scale, signature = _check(ctx.body)
        message = observation_message(chain_id(state), contract, series, as_of, value, scale)
        require_member_signature(state, oracle, message, signature)
        key = f"{series}@{as_of}"
        table = observations_table(contract)
        if state.get(table, key) is not None:
            raise ContractError(f"{series} on {as_of} is already observed; observations stand")
        state.put(
            table,
            key,
            {
                "series": series,
                "as_of": as_of,
                "value": value,
                "scale": scale,
                "oracle": oracle,
                "signature": signature,
                "at": ctx.block_time,
            },
        )

    handle.__name__ = f"{contract}_observe"
    return handle
