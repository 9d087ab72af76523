"""Insurance policies and their claims (SCENARIOS.md §2b, §2c), kept by the insurer.

A policy is a confidential object: its terms, its screening and its claims are the
insurer's book, so the shared ledger holds only a keyed hash, a version and a
commitment (``scenarios.kit.Confidential``); what the consortium must agree on about a
claim — that no other insurer is paying the same loss — is the claim registration on
the shared ledger (``_claims``). The rules, each enforced here:

- **Sale-time check.** ``QUOTED → CHECKED`` names the receipt of a risk-sharing
  query the insurer made (``riskshare query``): recorded on the ledger, the insurer's
  own, a list query, not refunded, at most :data:`SCREENING_DAYS` old. The insurer
  records what it answered. A hit routes the policy to ``REVIEW``, where only a person
  decides (``review`` with the reviewer's notes → ``CHECKED``, or ``decline``): a hit is
  never an automatic refusal (the UK Insurance Fraud Register principle).
- ``CHECKED → ISSUED`` only while the screening receipt is still at most
  :data:`SCREENING_DAYS` old.
- **Claims** live on their policy, each ``FNOL → ASSESSED → APPROVED → PAID`` (or
  ``DENIED``): first notice needs an issued policy and a loss date within cover and
  not in the future; assessment needs the claim's registration on the shared registry
  (registration precedes payment); an approved amount is at most the assessment and
  at most ``min(limit − deductible, sum insured − Σ paid before)``; payment needs the
  registration ``PAID`` on the registry, which the registry allows only when no
  duplicate flag stands.
- **Parametric** (flight delay): one step takes the claim ``FNOL → ORACLE_CONFIRMED →
  PAID`` when the oracle's signed observation of the insured flight shows a delay of
  at least the policy's threshold; the payout is fixed, paid once per policy.
- Whole-machine invariant: Σ paid ≤ sum insured, and each claim's payment is at most
  the limit less the deductible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError
from scenarios.kit import (
    ALL,
    NEW,
    Confidential,
    Date,
    Documents,
    Enum,
    Int,
    Invariant,
    Machine,
    Money,
    Post,
    Primitive,
    Rule,
    Schema,
    SetAttr,
    SetParty,
    SetState,
    Str,
    Transition,
    View,
    observation,
    parse_date,
    screening_receipt,
)

__all__ = [
    "CANCELLED",
    "CHECKED",
    "DECLINED",
    "EXPIRED",
    "ISSUED",
    "POLICIES",
    "QUOTED",
    "REVIEW",
    "SCREENING_DAYS",
    "cap",
    "paid_total",
]

NAME = "ins"
QUOTED = "QUOTED"
CHECKED = "CHECKED"
REVIEW = "REVIEW"
ISSUED = "ISSUED"
DECLINED = "DECLINED"
EXPIRED = "EXPIRED"
CANCELLED = "CANCELLED"
# A sale-time check older than this must be done again before the policy is issued.
SCREENING_DAYS = 30
MAX_AMOUNT = 10**13
_RECEIPT = Str(re.compile(r"[0-9a-f]{64}"), help="The receipt id `riskshare query` printed.")
_SERIES = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CLAIM = Str(help="The claim id (the id of its registration on the registry).")


def paid_total(policy: Mapping[str, Any]) -> int:
    return sum(int(c.get("paid", 0)) for c in policy.get("claims", {}).values())


def cap(policy: Mapping[str, Any]) -> int:
    """What the next claim may be paid: ``min(limit − deductible, sum insured − Σ paid)``."""
    room = int(policy["sum_insured"]) - paid_total(policy)
    return max(0, min(int(policy["limit"]) - int(policy["deductible"]), room))


def _claims(v: View) -> dict[str, dict[str, Any]]:
    return {k: dict(c) for k, c in v.before.attrs.get("claims", {}).items()}


def _claim(v: View) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    claims = _claims(v)
    cid = v.payload["claim"]
    if cid not in claims:
        raise ContractError(f"policy {v.id!r} has no claim {cid!r}")
    return claims, claims[cid]


def _expect(claim: Mapping[str, Any], cid: str, *states: str) -> None:
    if claim["state"] not in states:
        raise ContractError(f"claim {cid!r} is {claim['state']}, not {' or '.join(states)}")


# Effects ------------------------------------------------------------------------------


def _quote(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("insurer", v.actor)
    product = p["product"]
    needed = ("flight", "flight_date", "delay_minutes") if product == "parametric" else ()
    missing = [f for f in needed if f not in p]
    if missing:
        raise ContractError(f"a parametric policy needs {', '.join(missing)}")
    if product == "indemnity" and any(f in p for f in ("flight", "flight_date", "delay_minutes")):
        raise ContractError("an indemnity policy names no flight")
    for key, value in p.items():
        yield SetAttr(key, value)
    yield SetAttr("claims", {})


def _check(v: View) -> Iterable[Primitive]:
    p = v.payload
    row = screening_receipt(v.state, p["receipt"], v.actor, v.ctx.block_time, SCREENING_DAYS)
    yield SetAttr("screening", {"receipt": p["receipt"], "at": row.time, "result": p["result"]})
    # A hit goes to a person; nothing here refuses a policy because of it.
    yield SetState(REVIEW if p["result"] == "hit" else CHECKED)


def _review(v: View) -> Iterable[Primitive]:
    yield SetAttr("review", {"reviewer": v.payload["reviewer"], "notes": v.payload["notes"]})


def _issue(v: View) -> Iterable[Primitive]:
    receipt = v.before.attrs["screening"]["receipt"]
    screening_receipt(v.state, receipt, v.actor, v.ctx.block_time, SCREENING_DAYS)
    yield SetAttr("issued_on", v.today.isoformat())


def _endorse(v: View) -> Iterable[Primitive]:
    p = v.payload
    if "sum_insured" in p:
        yield SetAttr("sum_insured", p["sum_insured"])
    yield SetAttr("endorsements", [*v.before.attrs.get("endorsements", []), p["doc"]])


def _fnol(v: View) -> Iterable[Primitive]:
    a, p = v.before.attrs, v.payload
    if a["product"] != "indemnity":
        raise ContractError("a parametric policy is claimed on the oracle's observation")
    claims = _claims(v)
    if p["claim"] in claims:
        raise ContractError(f"claim {p['claim']!r} is already notified on {v.id!r}")
    loss = parse_date(p["loss_date"])
    if not parse_date(a["cover_from"]) <= loss <= parse_date(a["cover_to"]):
        raise ContractError(f"loss date {p['loss_date']} is outside the cover")
    if loss > v.today:
        raise ContractError("loss date is in the future")
    claims[p["claim"]] = {
        "state": "FNOL",
        "loss_date": p["loss_date"],
        "claimed": p["claimed"],
        "paid": 0,
    }
    yield SetAttr("claims", claims)


def _assess(v: View) -> Iterable[Primitive]:
    from scenarios.ins._claims import REGISTRATIONS, open_registration

    claims, claim = _claim(v)
    cid = v.payload["claim"]
    _expect(claim, cid, "FNOL")
    open_registration(v.get(REGISTRATIONS, cid), cid, v.actor)
    claim.update(state="ASSESSED", assessed=v.payload["amount"])
    yield SetAttr("claims", claims)


def _approve(v: View) -> Iterable[Primitive]:
    claims, claim = _claim(v)
    cid, amount = v.payload["claim"], v.payload["amount"]
    _expect(claim, cid, "ASSESSED")
    if amount > claim["assessed"]:
        raise ContractError(f"approved {amount} exceeds the assessment {claim['assessed']}")
    room = cap(v.before.attrs)
    if amount > room:
        raise ContractError(
            f"approved {amount} exceeds min(limit − deductible, sum insured − paid) = {room}"
        )
    claim.update(state="APPROVED", approved=amount)
    yield SetAttr("claims", claims)


def _pay(v: View) -> Iterable[Primitive]:
    from scenarios.ins._claims import PAID, REGISTRATIONS

    claims, claim = _claim(v)
    cid = v.payload["claim"]
    _expect(claim, cid, "APPROVED")
    reg = v.get(REGISTRATIONS, cid)
    if reg is None or reg.state != PAID:
        state = "missing" if reg is None else reg.state
        raise ContractError(
            f"claim {cid!r} is {state} on the claim registry; it must be PAID there first "
            "(a duplicate flag is resolved before payment)"
        )
    claim.update(state="PAID", paid=claim["approved"], paid_on=v.today.isoformat())
    yield SetAttr("claims", claims)


def _deny(v: View) -> Iterable[Primitive]:
    claims, claim = _claim(v)
    _expect(claim, v.payload["claim"], "FNOL", "ASSESSED", "APPROVED")
    claim["state"] = "DENIED"
    yield SetAttr("claims", claims)


def _parametric(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    if a["product"] != "parametric":
        raise ContractError("only a parametric policy pays on an observation")
    claims = _claims(v)
    if claims:
        raise ContractError(f"policy {v.id!r} has paid its flight already")
    seen = observation(v.state, NAME, a["flight"], a["flight_date"])
    if seen is None:
        raise ContractError(f"no oracle observation of {a['flight']} on {a['flight_date']}")
    if seen.scale != 0 or seen.value < a["delay_minutes"]:
        raise ContractError(
            f"delay_threshold: {a['flight']} was {seen.value} minutes late, the policy pays "
            f"from {a['delay_minutes']}"
        )
    payout = min(a["limit"] - a["deductible"], a["sum_insured"])
    claims[v.payload["claim"]] = {
        "state": "PAID",
        "history": ["FNOL", "ORACLE_CONFIRMED", "PAID"],
        "loss_date": a["flight_date"],
        "observed": seen.value,
        "claimed": payout,
        "paid": payout,
        "paid_on": v.today.isoformat(),
    }
    yield SetAttr("claims", claims)


# Rules --------------------------------------------------------------------------------


def _terms_hold(p: Post) -> bool:
    a = p.after.attrs
    return (
        0 <= a["deductible"] < a["limit"]
        and a["sum_insured"] >= 1
        and parse_date(a["cover_from"]) <= parse_date(a["cover_to"])
    )


def _within_sum_insured(p: Post) -> bool:
    if p.after.version == 0 or "claims" not in p.after.attrs:
        return True
    a = p.after.attrs
    per_claim = a["limit"] - a["deductible"]
    return paid_total(a) <= a["sum_insured"] and all(
        c.get("paid", 0) <= per_claim for c in a["claims"].values()
    )


_INVARIANTS = (
    Invariant(
        "paid_within_cover",
        _within_sum_insured,
        "claims paid exceed the sum insured or a claim exceeds limit − deductible",
    ),
)
_QUOTE_RULES = (
    Rule(
        "terms",
        _terms_hold,
        "needs 0 ≤ deductible < limit, a sum insured and cover_from ≤ cover_to",
    ),
)
_EXPIRE_RULES = (
    Rule(
        "cover_ended",
        lambda p: p.today > parse_date(p.after.attrs["cover_to"]),
        "the cover has not ended",
    ),
)

_INSURER = frozenset({"insurer"})
_MEMBERS = frozenset({"member"})
_ISSUED = frozenset({ISSUED})
_CLAIM_ONLY = Schema({"claim": _CLAIM})

_TRANSITIONS = (
    Transition(
        "quote",
        frozenset({NEW}),
        frozenset({QUOTED}),
        _INSURER,
        Schema(
            {
                "product": Enum(frozenset({"indemnity", "parametric"}), help="The product."),
                "coverage": Str(help="The loss type covered (collision, flight_delay...)."),
                "currency": Str(re.compile(r"[A-Z]{3}"), help="ISO 4217 currency."),
                "limit": Money(None, 1, MAX_AMOUNT, help="Limit per claim, e.g. 20,000.00."),
                "deductible": Money(None, 0, MAX_AMOUNT, help="Deductible per claim."),
                "sum_insured": Money(None, 1, MAX_AMOUNT, help="Sum insured over the term."),
                "premium": Money(None, 0, MAX_AMOUNT, help="Premium."),
                "cover_from": Date(help="Cover starts YYYY-MM-DD."),
                "cover_to": Date(help="Cover ends YYYY-MM-DD."),
                "holder": Documents(option="holder-file", help="The policyholder's file."),
                "flight": Str(
                    _SERIES, required=False, help="Parametric: the oracle series, FLIGHT.BA117."
                ),
                "flight_date": Date(required=False, help="Parametric: the flight's date."),
                "delay_minutes": Int(1, 10_000, required=False, help="Parametric: pays from."),
            }
        ),
        _quote,
        _QUOTE_RULES,
        consortium_roles=_MEMBERS,
        help="Quote a policy (the policyholder's file stays behind your gateway).",
    ),
    Transition(
        "check",
        frozenset({QUOTED}),
        frozenset({CHECKED, REVIEW}),
        _INSURER,
        Schema(
            {
                "receipt": _RECEIPT,
                "result": Enum(frozenset({"clear", "hit"}), help="What the query answered."),
            }
        ),
        _check,
        help="Record the sale-time screening (a riskshare query receipt); a hit goes to "
        "manual review, never to refusal.",
    ),
    Transition(
        "review",
        frozenset({REVIEW}),
        frozenset({CHECKED}),
        _INSURER,
        Schema(
            {
                "reviewer": Str(help="Who reviewed the hit."),
                "notes": Documents(option="notes", help="The reviewer's notes."),
            }
        ),
        _review,
        help="A person reviewed the screening hit and lets the sale go on.",
    ),
    Transition(
        "decline",
        frozenset({QUOTED, REVIEW}),
        frozenset({DECLINED}),
        _INSURER,
        help="Decline the sale (a person's decision).",
    ),
    Transition(
        "issue",
        frozenset({CHECKED}),
        frozenset({ISSUED}),
        _INSURER,
        effect=_issue,
        help=f"Issue a checked policy (its screening at most {SCREENING_DAYS} days old).",
    ),
    Transition(
        "endorse",
        _ISSUED,
        _ISSUED,
        _INSURER,
        Schema(
            {
                "sum_insured": Money(None, 1, MAX_AMOUNT, required=False, help="New sum insured."),
                "doc": Documents(option="doc", help="The endorsement."),
            }
        ),
        _endorse,
        help="Endorse an issued policy.",
    ),
    Transition(
        "fnol",
        _ISSUED,
        _ISSUED,
        _INSURER,
        Schema(
            {
                "claim": _CLAIM,
                "loss_date": Date(help="The day of the loss."),
                "claimed": Money(None, 1, MAX_AMOUNT, help="Amount claimed."),
            }
        ),
        _fnol,
        help="First notice of loss on a policy of yours.",
    ),
    Transition(
        "assess",
        _ISSUED,
        _ISSUED,
        _INSURER,
        Schema({"claim": _CLAIM, "amount": Money(None, 0, MAX_AMOUNT, help="Assessed loss.")}),
        _assess,
        help="Assess a notified claim (its registration must be on the claim registry).",
    ),
    Transition(
        "approve_claim",
        _ISSUED,
        _ISSUED,
        _INSURER,
        Schema({"claim": _CLAIM, "amount": Money(None, 1, MAX_AMOUNT, help="Amount to pay.")}),
        _approve,
        help="Approve a claim: at most the assessment and min(limit − deductible, sum "
        "insured − paid).",
    ),
    Transition(
        "pay_claim",
        _ISSUED,
        _ISSUED,
        _INSURER,
        _CLAIM_ONLY,
        _pay,
        command="pay",
        help="Pay an approved claim (its registration PAID on the claim registry).",
    ),
    Transition(
        "deny_claim",
        _ISSUED,
        _ISSUED,
        _INSURER,
        _CLAIM_ONLY,
        _deny,
        command="deny",
        help="Deny a claim.",
    ),
    Transition(
        "parametric_claim",
        _ISSUED,
        _ISSUED,
        _INSURER,
        _CLAIM_ONLY,
        _parametric,
        command="parametric",
        help="Pay a parametric policy on the oracle's signed observation of its flight.",
    ),
    Transition(
        "expire",
        _ISSUED,
        frozenset({EXPIRED}),
        _INSURER,
        rules=_EXPIRE_RULES,
        help="Expire a policy whose cover has ended.",
    ),
    Transition(
        "cancel",
        frozenset({QUOTED, CHECKED, REVIEW, ISSUED}),
        frozenset({CANCELLED}),
        _INSURER,
        help="Cancel a policy.",
    ),
)

POLICIES = Machine(
    NAME,
    "policy",
    _TRANSITIONS,
    invariants=_INVARIANTS,
    confidential=Confidential(retention_days=5 * 365, quorum=ALL),
)
