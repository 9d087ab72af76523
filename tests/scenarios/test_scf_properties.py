"""Supply-chain finance as a state machine: any sequence of steps keeps §3's invariants.

Every step is tried against the real contract and against an oracle written from the
spec (who may do what, from which state, before or after maturity). They must agree:
an allowed step applies, a refused one raises ``ContractError`` and changes nothing.
After every step the invariants are checked from state alone: conservation of face
value per root and per split, chain of title, one holder, financed at most once,
nothing after redemption, one root per invoice, one event per version.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from scenarios.kit import Obj, day_of, parse_date
from scenarios.scf import (
    ACTIVE,
    CANCELLED,
    CERTIFICATES,
    CONTRACT,
    DRAFT,
    DUE,
    FINANCED,
    FINANCING_PENDING,
    INVOICES,
    LIVE,
    OVERDUE,
    REDEEMED,
    SPLIT,
    SUPPLY,
    price,
)
from tests.scenarios._net import Net, ms

ISSUERS = ["core1", "core2"]
SUPPLIERS = ["s1", "s2", "s3"]
FINANCIERS = ["bank1", "bank2"]
PAYBANK = "paybank"
EVERYONE = ISSUERS + SUPPLIERS + FINANCIERS + [PAYBANK]
START = date(2025, 1, 6)


def fp(n: int) -> bytes:
    return hashlib.sha256(f"invoice-{n}".encode()).digest()


class SupplyChainFinance(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.net = Net(dict.fromkeys(EVERYONE, "member"), [CONTRACT])
        self.net.now = ms(START.isoformat())
        self.roots: list[str] = []
        self.approvals: dict[str, int] = {}

    # Helpers ---------------------------------------------------------------------------

    def today(self) -> date:
        return day_of(self.net.now)

    def certs(self) -> list[Obj]:
        return list(CERTIFICATES.scan(self.net.state))

    def pick(self, data: st.DataObject, states: frozenset[str] | None = None) -> Obj | None:
        certs = [c for c in self.certs() if states is None or c.state in states]
        if not certs:
            return None
        return data.draw(st.sampled_from(certs))

    def attempt(
        self, expected: bool, member: str, name: str, obj_id: str, payload: Any, cosigners: Any = ()
    ) -> bool:
        return self.net.attempt(expected, CERTIFICATES, member, name, obj_id, payload, cosigners)

    def before_maturity(self, c: Obj) -> bool:
        return self.today() < parse_date(c.attrs["maturity"])

    def any_in(self, state: str) -> bool:
        return any(c.state == state for c in self.certs())

    def who(self, data: st.DataObject, likely: str) -> str:
        """Mostly the member the spec expects, sometimes anyone (a wrong signer)."""
        if data.draw(st.integers(0, 9)) < 7:
            return likely
        return data.draw(st.sampled_from(EVERYONE))

    # Steps -----------------------------------------------------------------------------

    @initialize(faces=st.lists(st.integers(2, 10_000), min_size=1, max_size=3))
    def accepted_roots(self, faces: list[int]) -> None:
        for i, face in enumerate(faces):
            payload: dict[str, Any] = {
                "holder": SUPPLIERS[i % len(SUPPLIERS)],
                "face": face,
                "maturity": (START + timedelta(days=180)).isoformat(),
                "invoice": self.net.fingerprints(ISSUERS[i % 2], [fp(100 + i)]),
                "doc_hash": fp(-1),
            }
            self.net.step(CERTIFICATES, ISSUERS[i % 2], "issue", f"I{i}", payload)
            self.net.step(CERTIFICATES, payload["holder"], "accept", f"I{i}")
            self.roots.append(f"I{i}")

    @rule(
        issuer=st.sampled_from(ISSUERS),
        holder=st.sampled_from(ISSUERS + SUPPLIERS),
        face=st.integers(1, 10_000),
        term=st.integers(-2, 380),
        invoice=st.integers(0, 7),
    )
    def issue(self, issuer: str, holder: str, face: int, term: int, invoice: int) -> None:
        cert_id = f"R{len(self.roots)}"
        maturity = self.today() + timedelta(days=term)
        try:
            limit = self.today().replace(year=self.today().year + 1)
        except ValueError:  # 29 February
            limit = self.today().replace(year=self.today().year + 1, day=28)
        free = INVOICES.holder(self.net.state, fp(invoice)) is None
        ok = free and holder != issuer and self.today() < maturity <= limit
        payload = {
            "holder": holder,
            "face": face,
            "maturity": maturity.isoformat(),
            "invoice": self.net.fingerprints(issuer, [fp(invoice)]),
            "doc_hash": fp(-1),
        }
        if self.attempt(ok, issuer, "issue", cert_id, payload):
            self.roots.append(cert_id)

    @precondition(lambda self: self.any_in(DRAFT))
    @rule(data=st.data())
    def accept_or_cancel(self, data: st.DataObject) -> None:
        c = self.pick(data, frozenset({DRAFT}))
        if c is None:
            return
        accept = data.draw(st.booleans())
        member = self.who(data, c.parties["holder" if accept else "issuer"])
        if accept:
            self.attempt(
                c.state == DRAFT and member == c.parties["holder"], member, "accept", c.id, {}
            )
        else:
            self.attempt(
                c.state == DRAFT and member == c.parties["issuer"], member, "cancel", c.id, {}
            )

    @rule(data=st.data(), to=st.sampled_from(EVERYONE))
    def transfer(self, data: st.DataObject, to: str) -> None:
        c = self.pick(data)
        if c is None:
            return
        member = self.who(data, c.parties["holder"])
        face = c.attrs["face"]
        amount = data.draw(st.integers(1, face + 1))
        holder = c.parties["holder"]
        ok = c.state == ACTIVE and member == holder and self.before_maturity(c)
        ok = ok and to != holder and amount <= face
        self.attempt(ok, member, "transfer", c.id, {"to": to, "amount": amount})

    @rule(data=st.data())
    def split(self, data: st.DataObject) -> None:
        c = self.pick(data)
        if c is None:
            return
        face = c.attrs["face"]
        n = data.draw(st.integers(2, 4))
        cuts = sorted(data.draw(st.lists(st.integers(0, face), min_size=n - 1, max_size=n - 1)))
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, face], strict=True)]
        if data.draw(st.booleans()):
            amounts[0] += 1  # does not sum to the face
        ok = (
            c.state == ACTIVE
            and self.before_maturity(c)
            and min(amounts) >= 1
            and sum(amounts) == face
        )
        self.attempt(ok, c.parties["holder"], "split", c.id, {"amounts": amounts})

    @rule(
        data=st.data(),
        financier=st.sampled_from(FINANCIERS + SUPPLIERS),
        rate=st.integers(0, 200_000),
        fee=st.integers(0, 5),
    )
    def apply_financing(self, data: st.DataObject, financier: str, rate: int, fee: int) -> None:
        c = self.pick(data)
        if c is None:
            return
        member = self.who(data, c.parties["holder"])
        holder = c.parties["holder"]
        ok = (
            c.state == ACTIVE
            and member == holder
            and self.before_maturity(c)
            and financier != holder
        )
        payload = {"financier": financier, "rate_ppm": rate, "fee": fee}
        if self.attempt(ok, member, "apply_financing", c.id, payload) and data.draw(st.booleans()):
            self.decide(data, CERTIFICATES.load(self.net.state, c.id), data.draw(st.booleans()))

    @precondition(lambda self: self.any_in(FINANCING_PENDING))
    @rule(data=st.data(), approve=st.booleans())
    def decide_financing(self, data: st.DataObject, approve: bool) -> None:
        c = self.pick(data, frozenset({FINANCING_PENDING}))
        if c is not None:
            self.decide(data, c, approve)

    def decide(self, data: st.DataObject, c: Obj, approve: bool) -> None:
        member = self.who(data, c.parties["financier"])
        is_financier = member == c.parties["financier"]
        if not approve:
            self.attempt(is_financier, member, "reject_financing", c.id, {})
            return
        days = (parse_date(c.attrs["maturity"]) - self.today()).days
        terms = c.attrs["terms"]
        proceeds = price(c.attrs["face"], terms["rate_ppm"], max(days, 0), terms["fee"]).proceeds
        ok = is_financier and days >= 1 and proceeds >= 1
        if self.attempt(ok, member, "approve_financing", c.id, {"bank_ref": "P"}):
            self.approvals[c.id] = self.approvals.get(c.id, 0) + 1
            financed = CERTIFICATES.load(self.net.state, c.id)
            assert financed.parties["holder"] == member
            assert financed.attrs["financing"]["proceeds"] == proceeds

    @rule(days=st.integers(1, 90))
    def advance(self, days: int) -> None:
        self.net.now += days * 86_400_000

    @rule(data=st.data(), overdue=st.booleans())
    def mark(self, data: st.DataObject, overdue: bool) -> None:
        c = self.pick(data)
        if c is None:
            return
        late = (self.today() - parse_date(c.attrs["maturity"])).days
        if overdue:
            ok = c.state in {ACTIVE, FINANCING_PENDING, FINANCED, DUE} and late >= 1
            self.attempt(ok, "s3", "mark_overdue", c.id, {})
        else:
            ok = c.state in {ACTIVE, FINANCING_PENDING, FINANCED} and late >= 0
            self.attempt(ok, "bank2", "mark_due", c.id, {})

    @rule(data=st.data(), cosigned=st.booleans())
    def redeem(self, data: st.DataObject, cosigned: bool) -> None:
        c = self.pick(data)
        if c is None:
            return
        member = self.who(data, c.parties["issuer"])
        at_maturity = self.today() >= parse_date(c.attrs["maturity"])
        needs_cosig = member != PAYBANK
        ok = c.state in {ACTIVE, FINANCED, DUE, OVERDUE} and member == c.parties["issuer"]
        ok = ok and at_maturity and (cosigned or not needs_cosig)
        payload = {"paying_bank": PAYBANK, "amount": c.attrs["face"], "bank_ref": "R"}
        cosigners = [PAYBANK] if cosigned and needs_cosig else []
        holder = c.parties["holder"]
        if self.attempt(ok, member, "redeem", c.id, payload, cosigners):
            paid = CERTIFICATES.load(self.net.state, c.id).attrs["redemption"]
            assert paid == {
                "paid": c.attrs["face"],
                "paid_to": holder,
                "on": self.today().isoformat(),
                "bank_ref": "R",
            }

    # Invariants --------------------------------------------------------------------------

    @invariant()
    def conservation(self) -> None:
        certs = {c.id: c for c in self.certs()}
        for root in self.roots:
            supply = SUPPLY.audit(self.net.state, root)
            assert supply["issued"] == certs[root].attrs["face"]
            if certs[root].state not in {DRAFT, CANCELLED}:
                assert supply["voided"] == 0
                live = sum(
                    c.attrs["face"]
                    for c in certs.values()
                    if c.attrs["root"] == root and c.state in LIVE
                )
                redeemed = sum(
                    c.attrs["face"]
                    for c in certs.values()
                    if c.attrs["root"] == root and c.state == REDEEMED
                )
                assert live + redeemed == certs[root].attrs["face"]
        for c in certs.values():
            if c.state == SPLIT:
                children = [certs[k] for k in c.attrs["children"]]
                assert sum(k.attrs["face"] for k in children) == c.attrs["face"]
                assert all(k.attrs["parent"] == c.id for k in children)

    @invariant()
    def chain_of_title_and_one_holder(self) -> None:
        certs = {c.id: c for c in self.certs()}
        for c in certs.values():
            assert set(c.parties) >= {"issuer", "holder"}
            assert c.attrs["face"] >= 1
            node = c
            while node.id != node.attrs["root"]:
                parent = certs[node.attrs["parent"]]
                assert parent.state == SPLIT and node.id in parent.attrs["children"]
                assert parent.parties["issuer"] == c.parties["issuer"]
                node = parent
            root = node
            assert root.id == c.attrs["root"]
            if c is not root:
                assert root.parties["issuer"] == c.parties["issuer"]
                assert "accepted_on" in root.attrs  # reached an issued (accepted) root
            assert (c.state == FINANCING_PENDING) == ("financier" in c.parties)

    @invariant()
    def financed_at_most_once_and_nothing_after_redeem(self) -> None:
        for c in self.certs():
            events = CERTIFICATES.events(self.net.state, c.id)
            assert [e.version_after for e in events] == list(range(1, c.version + 1))
            names = [e.transition for e in events]
            assert names.count("approve_financing") <= 1
            assert self.approvals.get(c.id, 0) == names.count("approve_financing")
            if "approve_financing" in names:
                assert c.state in {FINANCED, DUE, OVERDUE, REDEEMED}
            if c.state == REDEEMED:
                assert names[-1] == "redeem"

    @invariant()
    def one_root_per_invoice(self) -> None:
        for n in range(8):
            holder = INVOICES.holder(self.net.state, fp(n))
            backing = [
                c.id
                for c in self.certs()
                if c.id == c.attrs["root"]
                and c.state != CANCELLED
                and fp(n) in c.attrs["invoice_fps"]
            ]
            assert backing == ([] if holder is None else [holder])


TestSupplyChainFinance = SupplyChainFinance.TestCase
TestSupplyChainFinance.settings = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
