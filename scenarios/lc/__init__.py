"""Commodity trade with a documentary letter of credit (SCENARIOS.md §6): the ETC soybean
deal.

- ``credit`` (``_credit``): the letter of credit, its amendments and its presentations,
  confidential to the applicant, the beneficiary and the banks, examined by a document
  matching rule (``_match``) on its terms held as rule parameters;
- ``bill`` (``_bill``): the electronic bill of lading, one holder at a time;
- the document sets presented are registered by the issuing bank on the financing
  registry (``scenarios.tf``, pool ``financing``), so one bill of lading is presented
  under one credit.
"""

from scenarios._registry import Scenario
from scenarios.kit import build_contract
from scenarios.lc._bill import BILLS
from scenarios.lc._credit import CREDITS, TERMS, drawn_total
from scenarios.lc._demo import DEMO
from scenarios.lc._match import DOCUMENT_TYPES, cap, discrepancies

CONTRACT = build_contract("lc", [CREDITS, BILLS])

SCENARIO = Scenario(
    name="lc",
    title="Commodity trade: letters of credit, document matching, electronic bills of lading",
    spec="SCENARIOS.md §6",
    contract=CONTRACT,
    machines=(CREDITS, BILLS),
    demo=DEMO,
)

__all__ = [
    "BILLS",
    "CONTRACT",
    "CREDITS",
    "DOCUMENT_TYPES",
    "SCENARIO",
    "TERMS",
    "cap",
    "discrepancies",
    "drawn_total",
]
