"""A loan's screening is a real riskshare query, through real gateway processes.

One consortium for the module: an embedded orderer and three member gateways — the
originator ``autofin`` (also the servicer) and ``bank-b``, whose fraud lists are
imported and published before the gateways start (a member asks a list type only if
it publishes one), and the custodian bank ``custody`` — each
``riskshare gateway serve`` in its own process over mutual TLS. ``autofin``'s gateway
asks ``bank-b``'s list about five applicants' phone numbers (RFC 9497 VOPRF); bank-b's
gateway records the answer as a ``credits.receipt``; the generated ``riskshare abs``
commands then store that receipt's id on each loan: an application is not approved
before it is screened, the applicant on the list is rejected, a sixth screening with
the same five-identifier receipt is refused, and a disbursement needs the custodian's
approval of its exact step. No ledger and no gateway log holds an applicant's phone
number, in clear or hashed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest

from gateway import GatewayError
from gateway._demo import wait_published as _wait_published
from gateway._localnet import create_local_consortium, load_list
from gateway.admin import AdminClient
from scenarios import ScenarioError
from scenarios.abs import LOANS
from tests.scenarios._harness import Consortium, running
from token_incentive import recorded_receipt

MEMBERS = ["autofin", "bank-b", "custody"]
LISTED = "13900139000"
APPLICANTS = ["13800138001", "13800138002", LISTED, "13800138004", "13800138005"]
LIST_ROWS = [
    ("transaction_fraud", "phone", LISTED, 3),
    ("transaction_fraud", "phone", "13700137000", 1),
]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    net = create_local_consortium(tmp_path_factory.mktemp("abs"), MEMBERS)
    load_list(net.members["bank-b"], LIST_ROWS)
    # Reciprocity: a member asks a list type only if it publishes one of its own.
    load_list(net.members["autofin"], [("transaction_fraud", "phone", "13600136000", 2)])
    with running(net, Consortium) as found:
        _wait_published(net, ["autofin", "bank-b"], timeout=180)
        yield found


def test_loans_are_screened_by_a_real_query_through_the_gateways(book: Consortium) -> None:
    socket = book.net.members["autofin"].data_dir / "admin.sock"
    with AdminClient(socket) as client:
        reply = client.query("transaction_fraud", "phone", APPLICANTS, members=["bank-b"])
    (answer,) = reply.answers
    assert not answer.error_code, answer.error
    assert list(answer.hits) == [value == LISTED for value in APPLICANTS]
    receipt = answer.receipt.decode()
    # bank-b's gateway records the answer on the ledger; wait for it to reach ours.
    deadline = time.monotonic() + 120
    while True:
        with book.store("autofin") as store:
            recorded = recorded_receipt(store.state(), receipt)
        if recorded is not None:
            break
        assert time.monotonic() < deadline, "the receipt was never recorded"
        time.sleep(0.25)
    assert (recorded.querier, recorded.responder, recorded.items) == ("autofin", "bank-b", 5)

    terms = ["--principal", "20,000.00", "--rate", "6.50%", "--term", "36"]
    terms += ["--servicer", "autofin", "--custodian", "custody"]
    for i, _ in enumerate(APPLICANTS):
        ref = hashlib.sha256(b"applicant %d" % i).hexdigest()[:16]
        book.cli("abs", "autofin", "apply", f"L{i}", "--borrower-ref", ref, *terms)
    with pytest.raises((GatewayError, ScenarioError), match="approve is not allowed when"):
        book.cli("abs", "autofin", "approve-loan", "L0")
    for i, hit in enumerate(answer.hits):
        book.cli("abs", "autofin", "screen", f"L{i}", "--receipt", receipt)
        book.cli("abs", "autofin", "reject" if hit else "approve-loan", f"L{i}")
    book.cli("abs", "autofin", "apply", "L5", "--borrower-ref", "f" * 16, *terms)
    with pytest.raises((GatewayError, ScenarioError), match="covered 5 identifiers"):
        book.cli("abs", "autofin", "screen", "L5", "--receipt", receipt)

    # A disbursement is a cash event: the custodian co-signs exactly this step.
    with pytest.raises((GatewayError, ScenarioError), match="custody"):
        book.cli("abs", "autofin", "disburse", "L0", "--bank-ref", "D-0")
    book.cli("abs", "custody", "authorize", "disburse", "L0", "--bank-ref", "D-0")
    book.cli("abs", "autofin", "disburse", "L0", "--bank-ref", "D-0")

    for member in MEMBERS:
        deadline = time.monotonic() + 60
        while True:
            with book.store(member) as store:
                state = store.state()
                loans = [LOANS.get(state, f"L{i}") for i in range(6)]
            if loans[0] is not None and loans[0].state == "CURRENT":
                break
            assert time.monotonic() < deadline, member
            time.sleep(0.25)
        assert [x.state if x else None for x in loans] == [
            "CURRENT",
            "APPROVED",
            "REJECTED",
            "APPROVED",
            "APPROVED",
            "APPLIED",
        ]
        assert all(x.attrs["screen"] == receipt for x in loans[:5] if x)

    # The applicants' phone numbers reached no ledger and no gateway log.
    data = book.root / "data"
    places = [*data.rglob("ledger.sqlite*"), *data.rglob("gateway.log*")]
    assert places
    needles = [v.encode() for v in APPLICANTS[:2]]
    needles += [hashlib.sha256(v.encode()).hexdigest().encode() for v in APPLICANTS[:2]]
    for path in places:
        blob = path.read_bytes()
        assert not any(n in blob for n in needles), path
