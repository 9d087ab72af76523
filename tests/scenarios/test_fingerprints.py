"""Fingerprints through the registry's OPRF, its receipts, and the invoice normaliser."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psi import derive_key_pair, evaluate, key_id
from scenarios import FingerprintError, ScenarioError
from scenarios.kit import (
    RECEIPT_TTL_MS,
    Document,
    FingerprintRequest,
    Invoice,
    evaluate_fingerprints,
    finish_fingerprints,
    request_fingerprints,
)
from scenarios.tf import CONTRACT, DUPLICATE_FLAGGED, REGISTERED, REGISTRATIONS, alerts_of
from tests.scenarios._net import Net

INVOICE = Invoice(
    "91310000MA1FL00001", "91110000BUYER0002", "0004-2211", "2025-01-02", 250_000_00, "cny"
)


class Rng:
    """Deterministic randomness for the blinds and proof nonces of one test."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._n = 0

    def __call__(self, n: int) -> bytes:
        self._n += 1
        return hashlib.shake_256(self._seed + self._n.to_bytes(8, "big")).digest(n)


@pytest.fixture
def net() -> Net:
    return Net({"bank_a": "member", "bank_b": "member", "registry": "observer"}, [CONTRACT])


def ask(
    net: Net, member: str, inputs: list[bytes], seed: bytes = b"r"
) -> tuple[FingerprintRequest, Any]:
    rng = Rng(seed)
    request = request_fingerprints(
        inputs,
        querier=member,
        registry="registry",
        family="invoice",
        key_id=key_id(net.oprf_key.public).hex(),
        seq=1,
        now=net.now,
        key=net.keys[member],
        rng=rng,
    )
    response = evaluate_fingerprints(
        oprf_key=net.oprf_key,
        signing_key=net.keys["registry"],
        registry="registry",
        signed=request.signed,
        blinded=request.blinded,
        querier_key=net.keys[member].public_key().public_bytes_raw(),
        now=net.now,
        rng=rng,
    )
    return request, response


def fingerprints(
    net: Net, member: str, inputs: list[bytes], seed: bytes = b"r"
) -> tuple[list[bytes], str]:
    request, response = ask(net, member, inputs, seed)
    fps = finish_fingerprints(
        request,
        response,
        registry_oprf_key=net.oprf_key.public,
        registry_signing_key=net.keys["registry"].public_key().public_bytes_raw(),
    )
    net.submit("registry", "credits.receipt", _recorded(request, response))
    return fps, request.signed.receipt_id


def _recorded(request: FingerprintRequest, response: Any) -> dict[str, Any]:
    """The ``credits.receipt`` body the registry's gateway records for an evaluation."""
    return {
        "request": request.signed.data,
        "request_sig": request.signed.signature,
        "receipt": response.receipt.data,
        "receipt_sig": response.receipt.signature,
    }


def test_end_to_end_duplicate_detection_with_real_fingerprints(net: Net) -> None:
    inputs = INVOICE.fingerprint_inputs()
    fps_a, receipt_a = fingerprints(net, "bank_a", [*inputs.exact, *inputs.similar], b"a")
    # The blinds differ, the fingerprints do not: they are the registry's PRF outputs.
    assert fps_a == [evaluate(net.oprf_key, x)[:32] for x in [*inputs.exact, *inputs.similar]]
    payload = {
        "fps": fps_a[:1],
        "sim_fps": fps_a[1:],
        "amount": INVOICE.amount,
        "currency": "CNY",
        "expires_on": "2025-02-01",
        "doc_hash": hashlib.sha256(b"invoice pdf").digest(),
        "fp_receipt": receipt_a,
    }
    net.step(REGISTRATIONS, "bank_a", "register", "A1", payload)
    assert REGISTRATIONS.load(net.state, "A1").state == REGISTERED

    # Bank B holds the same invoice, typed differently: the same exact fingerprint.
    retyped = Invoice(
        "９１３１００００ＭＡ１ＦＬ００００１",
        "91110000buyer0002",
        "4 2211",
        "2025-01-02",
        250_000_00,
        "CNY",
    )
    again = retyped.fingerprint_inputs()
    assert again == inputs
    # An altered copy (amount changed) shares the seller-and-number fingerprint only.
    altered = dataclasses.replace(INVOICE, amount=260_000_00).fingerprint_inputs()
    fps_b, receipt_b = fingerprints(
        net, "bank_b", [*again.exact, *altered.exact, *altered.similar], b"b"
    )
    net.step(
        REGISTRATIONS,
        "bank_b",
        "register",
        "B1",
        {**payload, "fps": fps_b[:1], "sim_fps": [], "fp_receipt": receipt_b},
    )
    assert REGISTRATIONS.load(net.state, "B1").state == DUPLICATE_FLAGGED
    fps_c, receipt_c = fingerprints(net, "bank_b", [*altered.exact, *altered.similar], b"c")
    net.step(
        REGISTRATIONS,
        "bank_b",
        "register",
        "B2",
        {**payload, "fps": fps_c[:1], "sim_fps": fps_c[1:], "fp_receipt": receipt_c},
    )
    assert REGISTRATIONS.load(net.state, "B2").state == REGISTERED
    (alert,) = alerts_of(net.state, "B2")
    assert alert.attrs["match"] == "similar" and alert.parties == {
        "first": "bank_a",
        "second": "bank_b",
    }


def test_registry_refuses_bad_requests(net: Net) -> None:
    inputs = list(INVOICE.fingerprint_inputs().exact)
    request = request_fingerprints(
        inputs,
        querier="bank_a",
        registry="registry",
        family="invoice",
        key_id=key_id(net.oprf_key.public).hex(),
        seq=1,
        now=net.now,
        key=net.keys["bank_a"],
        rng=os.urandom,
    )
    common: dict[str, Any] = {
        "oprf_key": net.oprf_key,
        "signing_key": net.keys["registry"],
        "registry": "registry",
        "querier_key": net.keys["bank_a"].public_key().public_bytes_raw(),
        "rng": os.urandom,
    }
    ok: dict[str, Any] = {"signed": request.signed, "blinded": request.blinded, "now": net.now}
    evaluate_fingerprints(**common, **ok)
    with pytest.raises(FingerprintError, match="does not verify"):
        evaluate_fingerprints(
            **{**common, "querier_key": net.keys["bank_b"].public_key().public_bytes_raw()}, **ok
        )
    with pytest.raises(FingerprintError, match="another registry"):
        evaluate_fingerprints(**{**common, "registry": "bank_b"}, **ok)
    other = request_fingerprints(
        inputs,
        querier="bank_a",
        registry="registry",
        family="invoice",
        key_id=key_id(net.oprf_key.public).hex(),
        seq=2,
        now=net.now,
        key=net.keys["bank_a"],
        rng=os.urandom,
    )
    with pytest.raises(FingerprintError, match="does not commit"):
        evaluate_fingerprints(**common, **{**ok, "blinded": other.blinded})
    with pytest.raises(FingerprintError, match="another registry key"):
        other_key = derive_key_pair(bytes(32), b"another registry key")
        evaluate_fingerprints(**{**common, "oprf_key": other_key}, **ok)
    with pytest.raises(FingerprintError, match="1 to 32"):
        request_fingerprints(
            [],
            querier="bank_a",
            registry="registry",
            family="invoice",
            key_id=key_id(net.oprf_key.public).hex(),
            seq=1,
            now=0,
            key=net.keys["bank_a"],
            rng=os.urandom,
        )


def test_financier_refuses_bad_answers(net: Net) -> None:
    request, response = ask(net, "bank_a", list(INVOICE.fingerprint_inputs().similar))
    keys = {
        "registry_oprf_key": net.oprf_key.public,
        "registry_signing_key": net.keys["registry"].public_key().public_bytes_raw(),
    }
    finish_fingerprints(request, response, **keys)
    swapped = dataclasses.replace(
        response, evaluated=(response.evaluated[1], response.evaluated[0], response.evaluated[2])
    )
    with pytest.raises(FingerprintError, match="another response"):
        finish_fingerprints(request, swapped, **keys)
    with pytest.raises(FingerprintError, match="does not verify"):
        finish_fingerprints(
            request,
            response,
            **{**keys, "registry_signing_key": net.keys["bank_b"].public_key().public_bytes_raw()},
        )
    # A registry answering with another key than the committed one is caught by the proof.
    with pytest.raises(FingerprintError, match="does not verify"):
        finish_fingerprints(request, response, **{**keys, "registry_oprf_key": evaluate_key(net)})


def evaluate_key(net: Net) -> bytes:
    from psi import derive_key_pair

    return derive_key_pair(bytes(32), b"another key").public


def test_receipts_are_checked_and_consumed_once(net: Net) -> None:
    request, response = ask(net, "bank_a", list(INVOICE.fingerprint_inputs().exact))
    body = _recorded(request, response)
    # The registry records its own answers; nobody else can record them.
    net.refused("addressed to registry", net.submit, "bank_b", "credits.receipt", body)
    other = ask(net, "bank_a", list(INVOICE.fingerprint_inputs().exact), b"x")[1]
    forged = {**body, "receipt": other.receipt.data, "receipt_sig": other.receipt.signature}
    net.refused("does not commit", net.submit, "registry", "credits.receipt", forged)
    net.refused("request_sig", net.submit, "registry", "credits.receipt", {**body, "extra": 1})
    net.refused(
        "only the registry member", net.submit, "bank_a", "fpreg.set_key", {"public_key": bytes(32)}
    )
    net.submit("registry", "credits.receipt", body)
    net.refused("recorded before", net.submit, "registry", "credits.receipt", body)
    rid = request.signed.receipt_id

    def register(member: str, reg_id: str, receipt: str, n: int = 1) -> None:
        payload = {
            "fps": [hashlib.sha256(b"%d" % i).digest() for i in range(n)],
            "sim_fps": [],
            "amount": 1,
            "currency": "CNY",
            "expires_on": "2025-02-01",
            "doc_hash": bytes(32),
            "fp_receipt": receipt,
        }
        net.step(REGISTRATIONS, member, "register", reg_id, payload)

    net.refused("belongs to another member", register, "bank_b", "B1", rid)
    net.refused("covered 1 items, not 2", register, "bank_a", "A1", rid, 2)
    net.refused("no recorded fingerprint evaluation", register, "bank_a", "A1", "0" * 64)
    register("bank_a", "A1", rid)
    net.refused("already backs a registration", register, "bank_a", "A2", rid)
    old = net.fp_receipt("bank_a", 1)
    net.now += RECEIPT_TTL_MS + 1
    net.refused("too old", register, "bank_a", "A2", old)
    rotated = net.fp_receipt("bank_a", 1)
    net.submit("registry", "fpreg.set_key", {"public_key": evaluate_key(net)})
    net.refused("rotated", register, "bank_a", "A2", rotated)


def test_invoice_normaliser_folds_and_rejects() -> None:
    n = INVOICE.normalised()
    assert (n.seller, n.buyer, n.number, n.currency) == (
        "91310000MA1FL00001",
        "91110000BUYER0002",
        "42211",
        "CNY",
    )
    assert Invoice("a", "b", "000", "2025-01-02", 1, "usd").normalised().number == "0"
    for bad in [
        dataclasses.replace(INVOICE, amount=0),
        dataclasses.replace(INVOICE, amount=True),
        dataclasses.replace(INVOICE, currency="yuan"),
        dataclasses.replace(INVOICE, issued_on="02/01/2025"),
        dataclasses.replace(INVOICE, seller="  -  "),
        dataclasses.replace(INVOICE, number="x" * 65),
    ]:
        with pytest.raises(ScenarioError):
            bad.fingerprint_inputs()
    bl = Document("bill_of_lading", "MAEU", "BL-000123").fingerprint_inputs()
    assert bl == Document("bill_of_lading", " maeu ", "bl/000123").fingerprint_inputs()
    assert bl != Document("sea_waybill", "MAEU", "BL-000123").fingerprint_inputs()
    assert bl.exact and not bl.similar
    with pytest.raises(ScenarioError):
        Document("Bill", "MAEU", "1").fingerprint_inputs()


@given(st.text(max_size=20), st.text(max_size=20), st.integers(-5, 10**6))
def test_normaliser_succeeds_or_raises_scenario_error(
    seller: str, number: str, amount: int
) -> None:
    try:
        inputs = Invoice(seller, "B1", number, "2025-01-02", amount, "CNY").fingerprint_inputs()
    except ScenarioError:
        return
    assert len(inputs.exact) == 1 and len(inputs.similar) == 3
    assert len(set(inputs.exact + inputs.similar)) == 4
