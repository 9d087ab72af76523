"""Asset securitisation (SCENARIOS.md §1): an auto-loan ABS on the shared ledger.

Two machines, loan-level and pseudonymous (borrowers' identities and documents stay
behind the originator's gateway; the ledger holds a pseudonymous reference, amounts,
cash events, report hashes and trigger evaluations):

- ``loan`` — ``apply`` [originator] → ``APPLIED``; ``screen`` [originator] stores the
  id of a real riskshare query receipt (``scenarios.kit.Screening``: the originator's
  gateway asked the consortium's lists, the responder recorded it; one identifier of
  it per loan) → ``SCREENED``; ``approve`` only from ``SCREENED``, so never without a
  screening receipt; ``reject``. Cash events — ``disburse``, ``repay`` (``kind``
  repay or prepay), ``write_off`` — each co-signed by the custodian bank;
  ``mark_delinquent`` [servicer] records days past due. ``outstanding = principal −
  Σ principal repaid − written off ≥ 0`` on every step. A loan enters a pool only as a
  leg of the plan's ``transfer_to_pool`` (``enter_pool``), checked against the plan's
  eligibility rules — data on the plan — at the transfer date; it is ever in at most
  one pool. ``repurchase`` [originator, custodian co-signs] takes a pooled loan back at
  its outstanding balance, only when it breaches eligibility now.
- ``plan`` — ``create`` [manager] with trustee, servicer, custodian, three tranches
  (senior, mezzanine, subordinate: balance and coupon), period fees, eligibility and
  trigger parameters → ``STRUCTURING``; ``transfer_to_pool`` [servicer, the manager
  co-signs]; ``issue`` [manager, trustee co-signs] once the tranches sum to the pool
  balance → ``REVOLVING``; ``publish_servicer_report`` [servicer, custodian co-signs]
  — its pool balance must be the sum of the pooled loans' outstanding, and its
  collections exactly what the pooled loans collected since the last report (the
  report's statement is hashed); the funds become available to distribute;
  ``distribute`` [manager, trustee co-signs] — the waterfall (``_waterfall``) line by
  line, in order, summing to the funds available; ``end_revolving`` [manager] →
  ``AMORTISING``; ``evaluate_triggers`` [anyone] → ``EARLY_AMORTISATION`` when the
  pool balance has stayed below the floor for the trigger's days (from the first
  report that saw it below to the latest, every report between seeing it below too),
  and it is still below; ``terminate`` [manager] once every tranche is repaid.

Triggers cannot be suppressed: once the trigger holds, the plan's next step must be
``evaluate_triggers`` (``scenarios.kit.trigger_first``) — a distribution is refused
until it is applied. History is append-only: every step is an event; a correction is a
new event.

Deviations from §1: the 30 consecutive days are observed by the servicer's reports
(each dated, no later than today), which is what every replica can check from state;
``EVENT_OF_DEFAULT`` is not modelled; the plan's cash is an attribute reconciled to
the loans' recorded collections rather than a kit holding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ledger import ContractError, State
from scenarios.abs._waterfall import LINES, waterfall
from scenarios.kit import (
    ANYONE,
    NEW,
    Date,
    Documents,
    Enum,
    Int,
    Invariant,
    ListOf,
    Machine,
    Member,
    Money,
    Obj,
    Post,
    Ppm,
    Primitive,
    Record,
    Rule,
    Schema,
    Screening,
    SetAttr,
    SetParty,
    SetRules,
    SetState,
    Spawn,
    Str,
    Transition,
    View,
    amend_rules,
    build_contract,
    days_between,
    parse_date,
    trigger_first,
)

__all__ = [
    "CONTRACT",
    "CURRENCY",
    "LOANS",
    "MAX_AMOUNT",
    "NAME",
    "PLANS",
    "TRANCHES",
    "breaches",
    "pool_balance",
    "pool_loans",
]

NAME = "abs"
CURRENCY = "CNY"
MAX_AMOUNT = 10**15
TRANCHES = ("senior", "mezzanine", "subordinate")
_MEMBERS = frozenset({"member"})
_LIVE = frozenset({"CURRENT", "DELINQUENT"})


def pool_loans(state: State, plan: str) -> list[Obj]:
    """Every loan that is or was in ``plan``'s pool."""
    return [x for x in LOANS.scan(state) if x.attrs.get("plan") == plan]


def pool_balance(state: State, plan: str) -> int:
    return sum(x.attrs["outstanding"] for x in pool_loans(state, plan) if x.attrs["in_pool"])


def breaches(loan: Obj, params: Mapping[str, Any]) -> list[str]:
    """The eligibility criteria ``loan`` fails (a criterion not set is not in force)."""
    a = loan.attrs
    failed = []
    if loan.state != "CURRENT":
        failed.append(f"is {loan.state}, not CURRENT")
    if not a.get("screen"):
        failed.append("has no screening receipt")
    checks = (
        ("max_principal", a["principal"] > params.get("max_principal", a["principal"])),
        ("min_rate", a["rate_ppm"] < params.get("min_rate", a["rate_ppm"])),
        ("max_term", a["term"] > params.get("max_term", a["term"])),
        ("max_dpd", a["dpd"] > params.get("max_dpd", a["dpd"])),
    )
    failed += [f"fails {name}" for name, fails in checks if fails]
    return failed


# Loans -----------------------------------------------------------------------------------


def _apply(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("originator", v.actor)
    yield SetParty("servicer", p["servicer"])
    yield SetParty("custodian", p["custodian"])
    for key in ("borrower_ref", "principal", "term"):
        yield SetAttr(key, p[key])
    yield SetAttr("rate_ppm", p["rate"])
    for key in ("outstanding", "principal_repaid", "interest_collected", "written_off", "dpd"):
        yield SetAttr(key, 0)
    yield SetAttr("pool_collected", 0)
    yield SetAttr("in_pool", False)


def _screen(v: View) -> Iterable[Primitive]:
    yield SetAttr("screen", v.payload["receipt"])


def _disburse(v: View) -> Iterable[Primitive]:
    yield SetAttr("outstanding", v.before.attrs["principal"])
    yield SetAttr("disbursed_ref", v.payload["bank_ref"])


def _repay(v: View) -> Iterable[Primitive]:
    a, p = v.before.attrs, v.payload
    if p["principal"] > a["outstanding"]:
        raise ContractError(f"the principal repaid exceeds the outstanding {a['outstanding']}")
    if p["principal"] + p["interest"] == 0:
        raise ContractError("a repayment moves some cash")
    outstanding = a["outstanding"] - p["principal"]
    if p["kind"] == "prepay" and outstanding != 0:
        raise ContractError("a prepayment repays the whole outstanding")
    yield SetAttr("outstanding", outstanding)
    yield SetAttr("principal_repaid", a["principal_repaid"] + p["principal"])
    yield SetAttr("interest_collected", a["interest_collected"] + p["interest"])
    if a["in_pool"]:
        yield SetAttr("pool_collected", a["pool_collected"] + p["principal"] + p["interest"])
    yield SetAttr("dpd", 0)
    if outstanding == 0:
        yield SetState("PREPAID" if p["kind"] == "prepay" else "PAID_OFF")
    else:
        yield SetState("CURRENT")


def _mark_delinquent(v: View) -> Iterable[Primitive]:
    yield SetAttr("dpd", v.payload["dpd"])


def _write_off(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    if a["dpd"] < 90:
        raise ContractError(f"a loan is written off at 90 days past due, not {a['dpd']}")
    yield SetAttr("written_off", a["written_off"] + a["outstanding"])
    yield SetAttr("outstanding", 0)


def _enter_pool(v: View) -> Iterable[Primitive]:
    if v.before.attrs.get("plan") is not None:
        raise ContractError(f"loan {v.id!r} was already in pool {v.before.attrs['plan']!r}")
    yield SetAttr("plan", v.payload["plan"])
    yield SetAttr("in_pool", True)


def _repurchase(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    if not a["in_pool"]:
        raise ContractError(f"loan {v.id!r} is in no pool")
    plan = PLANS.load(v.state, a["plan"])
    failed = breaches(v.before, plan.attrs["rules"]["params"])
    if not failed:
        raise ContractError("no eligibility breach: the loan meets every criterion")
    yield SetAttr("in_pool", False)
    yield SetAttr("repurchase", {"price": a["outstanding"], "breach": failed})
    yield SetAttr("pool_collected", a["pool_collected"] + a["outstanding"])
    yield SetAttr("principal_repaid", a["principal_repaid"] + a["outstanding"])
    yield SetAttr("outstanding", 0)
    yield SetState("REPURCHASED")


def _outstanding_holds(p: Post) -> bool:
    a = p.after.attrs
    if p.after.state in {"APPLIED", "SCREENED", "APPROVED", "REJECTED"}:
        return bool(a["outstanding"] == 0)
    balance = a["principal"] - a["principal_repaid"] - a["written_off"]
    return bool(a["outstanding"] == balance >= 0)


def _eligible(p: Post) -> bool:
    plan = PLANS.load(p.state, p.payload["plan"])
    params = plan.attrs["rules"]["params"]
    return not breaches(p.before, params)


_CASH = frozenset({"custodian"})
_ORIGINATOR = frozenset({"originator"})
_SERVICER = frozenset({"servicer"})

LOANS = Machine(
    NAME,
    "loan",
    [
        Transition(
            "apply",
            frozenset({NEW}),
            frozenset({"APPLIED"}),
            _ORIGINATOR,
            Schema(
                {
                    "borrower_ref": Str(help="The borrower's pseudonymous reference."),
                    "principal": Money(CURRENCY, 1, MAX_AMOUNT, help="Principal."),
                    "rate": Ppm(help="Annual rate, e.g. 6.50%."),
                    "term": Int(1, 120, help="Term in months."),
                    "servicer": Member(help="The servicer."),
                    "custodian": Member(help="The custodian bank (co-signs cash)."),
                    "doc": Documents(required=False, help="The loan file, kept here."),
                }
            ),
            _apply,
            consortium_roles=_MEMBERS,
            help="Record a loan application (the originator).",
        ),
        Transition(
            "screen",
            frozenset({"APPLIED"}),
            frozenset({"SCREENED"}),
            _ORIGINATOR,
            Schema({"receipt": Screening(help="The riskshare query receipt id.")}),
            _screen,
            consortium_roles=_MEMBERS,
            help="Store the receipt of the applicant's screening against the lists.",
        ),
        Transition(
            "approve",
            frozenset({"SCREENED"}),
            frozenset({"APPROVED"}),
            _ORIGINATOR,
            rules=(
                Rule(
                    "screened",
                    lambda p: bool(p.after.attrs.get("screen")),
                    "a loan is approved only with a screening receipt",
                ),
            ),
            consortium_roles=_MEMBERS,
            command="approve-loan",
            help="Approve a screened application.",
        ),
        Transition(
            "reject",
            frozenset({"APPLIED", "SCREENED"}),
            frozenset({"REJECTED"}),
            _ORIGINATOR,
            consortium_roles=_MEMBERS,
            help="Reject an application.",
        ),
        Transition(
            "disburse",
            frozenset({"APPROVED"}),
            frozenset({"CURRENT"}),
            _ORIGINATOR,
            Schema({"bank_ref": Str(help="The custodian's payment reference.")}),
            _disburse,
            required_signers=_CASH,
            consortium_roles=_MEMBERS,
            help="Disburse the principal (the custodian co-signs).",
        ),
        Transition(
            "repay",
            _LIVE,
            frozenset({"CURRENT", "PAID_OFF", "PREPAID"}),
            _SERVICER,
            Schema(
                {
                    "kind": Enum(frozenset({"repay", "prepay"}), help="repay or prepay."),
                    "principal": Money(CURRENCY, 0, MAX_AMOUNT, help="Principal received."),
                    "interest": Money(CURRENCY, 0, MAX_AMOUNT, help="Interest received."),
                    "bank_ref": Str(help="The custodian's receipt reference."),
                }
            ),
            _repay,
            required_signers=_CASH,
            consortium_roles=_MEMBERS,
            help="Record a repayment or prepayment (the custodian co-signs).",
        ),
        Transition(
            "mark_delinquent",
            _LIVE,
            frozenset({"DELINQUENT"}),
            _SERVICER,
            Schema({"dpd": Int(1, 999, help="Days past due.")}),
            _mark_delinquent,
            consortium_roles=_MEMBERS,
            help="Record a loan past due.",
        ),
        Transition(
            "write_off",
            frozenset({"DELINQUENT"}),
            frozenset({"WRITTEN_OFF"}),
            _SERVICER,
            effect=_write_off,
            required_signers=_CASH,
            consortium_roles=_MEMBERS,
            help="Write off a loan 90 days past due (the custodian co-signs).",
        ),
        Transition(
            "enter_pool",
            frozenset({"CURRENT"}),
            frozenset({"CURRENT"}),
            _SERVICER,
            Schema({"plan": Str()}),
            _enter_pool,
            rules=(Rule("eligible", _eligible, "the loan fails the plan's eligibility"),),
            internal=True,
            help="Enter a plan's pool (a leg of transfer_to_pool).",
        ),
        Transition(
            "repurchase",
            _LIVE,
            frozenset({"REPURCHASED"}),
            _ORIGINATOR,
            effect=_repurchase,
            required_signers=_CASH,
            consortium_roles=_MEMBERS,
            help="Take back a pooled loan that breaches eligibility, at its outstanding.",
        ),
    ],
    invariants=(
        Invariant(
            "outstanding",
            _outstanding_holds,
            "outstanding must be principal − principal repaid − written off, not negative",
        ),
    ),
)


# Plans -----------------------------------------------------------------------------------


def _params(obj: Obj) -> Mapping[str, Any]:
    rules = obj.attrs.get("rules")
    return rules["params"] if isinstance(rules, Mapping) else {}


def _create(v: View) -> Iterable[Primitive]:
    p = v.payload
    yield SetParty("manager", v.actor)
    for role in ("trustee", "servicer", "custodian"):
        yield SetParty(role, p[role])
    yield SetAttr(
        "tranches",
        {t: {"balance": p[t], "coupon": p.get(f"{t}_coupon", 0)} for t in TRANCHES},
    )
    yield SetAttr("fees", p["fees"])
    yield SetAttr("available", 0)
    yield SetAttr("reported", 0)
    yield SetAttr("paid", {line: 0 for line in LINES})
    yield SetRules(p["rules"])


def _transfer(v: View) -> Iterable[Primitive]:
    for loan in v.payload["loans"]:
        yield Spawn(LOANS, loan, "enter_pool", {"plan": v.id})


def _issue(v: View) -> Iterable[Primitive]:
    balance = pool_balance(v.state, v.id)
    total = sum(t["balance"] for t in v.before.attrs["tranches"].values())
    if balance != total:
        raise ContractError(f"the tranches sum to {total}, the pool balance is {balance}")
    return ()


def _collected(state: State, plan: str) -> int:
    return sum(x.attrs["pool_collected"] for x in pool_loans(state, plan))


def _report(v: View) -> Iterable[Primitive]:
    a, p = v.before.attrs, v.payload
    if p["as_of"] > v.today.isoformat():
        raise ContractError(f"a report is as of a day that has passed, not {p['as_of']}")
    last = a.get("last_report")
    if last is not None and p["as_of"] <= last:
        raise ContractError(f"the last report was as of {last}")
    balance = pool_balance(v.state, v.id)
    collections = _collected(v.state, v.id) - a["reported"]
    if (p["pool_balance"], p["collections"]) != (balance, collections):
        raise ContractError(
            f"the report does not reconcile: pool balance {balance} and collections "
            f"{collections} on the ledger, {p['pool_balance']} and {p['collections']} reported"
        )
    floor = _params(v.before).get("floor")
    below = floor is not None and balance < floor
    # SetAttr(key, None) deletes the attribute: "not below" is its absence.
    yield SetAttr("below_since", (a.get("below_since") or p["as_of"]) if below else None)
    yield SetAttr("last_report", p["as_of"])
    yield SetAttr("reported", a["reported"] + collections)
    yield SetAttr("available", a["available"] + collections)
    yield SetAttr(
        "report", {"as_of": p["as_of"], "statement": p["statement"], "delinquent": p["delinquent"]}
    )


def _trigger_holds(plan: Obj, post: Post) -> bool:
    """Early amortisation: the pool balance below the floor for the trigger's days."""
    params = _params(plan)
    since = plan.attrs.get("below_since")
    if plan.state != "REVOLVING" or since is None or "floor" not in params:
        return False
    days = days_between(parse_date(since), parse_date(plan.attrs["last_report"]))
    return (
        bool(days >= params.get("trigger_days", 30))
        and pool_balance(post.state, plan.id) < params["floor"]
    )


def _evaluate(v: View) -> Iterable[Primitive]:
    post = Post(v.before, v.before, v.payload, v.ctx, v.state)
    if not _trigger_holds(v.before, post):
        raise ContractError("no trigger holds")
    yield SetState("EARLY_AMORTISATION")
    yield SetAttr(
        "trigger",
        {
            "kind": "early_amortisation",
            "on": v.today.isoformat(),
            "below_since": v.before.attrs["below_since"],
        },
    )


def _distribute(v: View) -> Iterable[Primitive]:
    a = v.before.attrs
    if a["available"] == 0:
        raise ContractError("no funds available: publish the servicer's report first")
    expected = waterfall(
        a["available"],
        a["fees"],
        {t: x["balance"] for t, x in a["tranches"].items()},
        {t: x["coupon"] for t, x in a["tranches"].items()},
        amortising=v.before.state != "REVOLVING",
    )
    given = [(x["line"], x["amount"]) for x in v.payload["lines"]]
    for i, (want, got) in enumerate(zip(expected, given, strict=False)):
        if got[0] != want[0]:
            raise ContractError(f"waterfall line {i + 1} is {want[0]}, not {got[0]}")
        if got[1] != want[1]:
            raise ContractError(f"waterfall line {i + 1} ({want[0]}) pays {want[1]}, not {got[1]}")
    if len(given) != len(expected):
        raise ContractError(f"the waterfall has {len(expected)} lines, not {len(given)}")
    tranches = {t: dict(x) for t, x in a["tranches"].items()}
    for tranche in TRANCHES:
        tranches[tranche]["balance"] -= dict(expected)[f"{tranche}_principal"]
    paid = {line: a["paid"][line] + amount for line, amount in expected}
    yield SetAttr("tranches", tranches)
    yield SetAttr("paid", paid)
    yield SetAttr("available", 0)
    yield SetAttr("distribution", {"as_of": a.get("last_report"), "lines": dict(expected)})


def _terminate(v: View) -> Iterable[Primitive]:
    left = {t: x["balance"] for t, x in v.before.attrs["tranches"].items() if x["balance"]}
    if left:
        raise ContractError(f"tranches are still outstanding: {left}")
    return ()


_RULES = Schema(
    {
        "max_principal": Money(CURRENCY, 1, MAX_AMOUNT, required=False),
        "min_rate": Ppm(required=False),
        "max_term": Int(1, 120, required=False),
        "max_dpd": Int(0, 999, required=False),
        "floor": Money(CURRENCY, 0, MAX_AMOUNT, required=False),
        "trigger_days": Int(1, 365, required=False),
    }
)
_LINE = Record(Schema({"line": Enum(frozenset(LINES)), "amount": Money(CURRENCY, 0, MAX_AMOUNT)}))
_ISSUED = frozenset({"REVOLVING", "AMORTISING", "EARLY_AMORTISATION"})
_MANAGER = frozenset({"manager"})


def _tranche_within_balance(p: Post) -> bool:
    return all(x["balance"] >= 0 for x in p.after.attrs["tranches"].values())


PLANS = Machine(
    NAME,
    "plan",
    [
        Transition(
            "create",
            frozenset({NEW}),
            frozenset({"STRUCTURING"}),
            _MANAGER,
            Schema(
                {
                    "trustee": Member(help="The trustee (co-signs issue and distributions)."),
                    "servicer": Member(help="The servicer."),
                    "custodian": Member(help="The custodian bank (co-signs reports)."),
                    "senior": Money(CURRENCY, 0, MAX_AMOUNT, help="Senior tranche balance."),
                    "mezzanine": Money(CURRENCY, 0, MAX_AMOUNT, help="Mezzanine balance."),
                    "subordinate": Money(CURRENCY, 0, MAX_AMOUNT, help="Subordinate balance."),
                    "senior_coupon": Ppm(help="Senior coupon, e.g. 4.00%."),
                    "mezzanine_coupon": Ppm(help="Mezzanine coupon."),
                    "fees": Money(CURRENCY, 0, MAX_AMOUNT, help="Fees per period."),
                    "rules": Record(_RULES, help="Eligibility and trigger parameters (JSON)."),
                }
            ),
            _create,
            consortium_roles=_MEMBERS,
            help="Structure a plan: parties, tranches, fees, eligibility and triggers.",
        ),
        Transition(
            "transfer_to_pool",
            frozenset({"STRUCTURING", "REVOLVING"}),
            frozenset({"STRUCTURING", "REVOLVING"}),
            _SERVICER,
            Schema({"loans": ListOf(Str(), 1, 15, unique=True, help="loan;loan;...")}),
            _transfer,
            required_signers=_MANAGER,
            consortium_roles=_MEMBERS,
            help="Transfer eligible loans into the pool (the manager co-signs).",
        ),
        Transition(
            "issue",
            frozenset({"STRUCTURING"}),
            frozenset({"REVOLVING"}),
            _MANAGER,
            effect=_issue,
            required_signers=frozenset({"trustee"}),
            consortium_roles=_MEMBERS,
            help="Issue the notes once the tranches match the pool (the trustee co-signs).",
        ),
        Transition(
            "publish_servicer_report",
            _ISSUED,
            _ISSUED,
            _SERVICER,
            Schema(
                {
                    "as_of": Date(help="The report's date."),
                    "pool_balance": Money(CURRENCY, 0, MAX_AMOUNT, help="Pool balance."),
                    "collections": Money(CURRENCY, 0, MAX_AMOUNT, help="Collections."),
                    "delinquent": Int(0, 10**6, help="Loans past due."),
                    "statement": Documents(help="The custodian's statement."),
                }
            ),
            _report,
            required_signers=_CASH,
            consortium_roles=_MEMBERS,
            help="Publish the period's report, reconciled to the ledger (custodian co-signs).",
        ),
        Transition(
            "evaluate_triggers",
            frozenset({"REVOLVING"}),
            frozenset({"EARLY_AMORTISATION"}),
            frozenset({ANYONE}),
            effect=_evaluate,
            help="Apply a trigger that holds: early amortisation (anyone).",
        ),
        Transition(
            "distribute",
            _ISSUED,
            _ISSUED,
            _MANAGER,
            Schema({"lines": ListOf(_LINE, 1, len(LINES), help="The waterfall (JSON).")}),
            _distribute,
            rules=(Rule("tranches", _tranche_within_balance, "a tranche paid beyond its balance"),),
            required_signers=frozenset({"trustee"}),
            consortium_roles=_MEMBERS,
            help="Distribute the available funds through the waterfall (trustee co-signs).",
        ),
        Transition(
            "end_revolving",
            frozenset({"REVOLVING"}),
            frozenset({"AMORTISING"}),
            _MANAGER,
            consortium_roles=_MEMBERS,
            help="End the revolving period as scheduled: principal is paid from now on.",
        ),
        Transition(
            "terminate",
            frozenset({"AMORTISING", "EARLY_AMORTISATION"}),
            frozenset({"TERMINATED"}),
            _MANAGER,
            effect=_terminate,
            consortium_roles=_MEMBERS,
            help="Terminate the plan once every tranche is repaid.",
        ),
    ],
    invariants=(trigger_first("trigger_first", _trigger_holds, "evaluate_triggers"),),
    rules_schema=_RULES,
)
PLANS.transitions["amend_rules"] = amend_rules(
    _RULES,
    roles=frozenset({"manager", "trustee", "servicer", "custodian"}),
    from_states=frozenset({"STRUCTURING", *_ISSUED}),
)

CONTRACT = build_contract(NAME, [LOANS, PLANS])
