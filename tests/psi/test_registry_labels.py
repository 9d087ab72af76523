"""PRF inputs, registries and labels: clear errors, unambiguous encodings, keyed labels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psi import (
    DEFAULT_REGISTRY,
    IdentifierError,
    Label,
    ProtocolError,
    PsiError,
    Registry,
    UnknownTypeError,
    derive_key_pair,
    evaluate,
    prf_input,
)
from psi._labels import LABEL_BYTES, open_label, seal_label

VALID = {
    "cn_id": "11010519491231002X",
    "phone": "13800138000",
    "bank_card": "6222020000000000001",
    "account": "ICBC|1234567890",
    "device": "0a1b2c3d4e5f6789",
}
UNNORMALISED = {
    "cn_id": ["11010519491231002x", "110105194912310", " 11010519491231002X"],
    "phone": ["+8613800138000", "138-0013-8000", "12800138000", "１３８００１３８０００"],
    "bank_card": ["6222 0200 0000 0000", "62220200000", "6222-0200-0000-0000-001"],
    "account": ["icbc|1234567890", "ICBC 1234567890", "ICBC|12-34567890"],
    "device": ["0A1B2C3D4E5F6789", "0a:1b:2c:3d:4e:5f", "xyz12345"],
}


def test_default_registry_is_design_7() -> None:
    lt = DEFAULT_REGISTRY.list_types
    assert lt["transaction_fraud"] == {"cn_id", "phone", "bank_card", "account", "device"}
    assert lt["high_risk_account"] == {"account", "bank_card"}
    assert lt["marketing_abuse"] == {"phone", "device", "cn_id"}
    assert DEFAULT_REGISTRY.normaliser_version == "v1"


@pytest.mark.parametrize("id_type", sorted(VALID))
def test_normalised_values_accepted(id_type: str) -> None:
    x = prf_input("transaction_fraud", id_type, VALID[id_type])
    assert VALID[id_type].encode() in x


@pytest.mark.parametrize(
    ("id_type", "value"), [(t, v) for t, vs in UNNORMALISED.items() for v in vs]
)
def test_unnormalised_value_refused_without_echoing_it(id_type: str, value: str) -> None:
    with pytest.raises(IdentifierError, match="not normalised") as err:
        prf_input("transaction_fraud", id_type, value)
    assert value not in str(err.value)


def test_unknown_types_named_clearly() -> None:
    with pytest.raises(UnknownTypeError, match="unknown list type 'fraud'"):
        prf_input("fraud", "phone", VALID["phone"])
    with pytest.raises(UnknownTypeError, match="'email'"):
        prf_input("transaction_fraud", "email", "a@b.c")
    with pytest.raises(UnknownTypeError, match="not admitted by list type 'high_risk_account'"):
        prf_input("high_risk_account", "phone", VALID["phone"])


def test_registry_as_data() -> None:
    reg = Registry.from_mapping({"loan_stacking": ["phone"]}, normaliser_version="v2")
    x = prf_input("loan_stacking", "phone", VALID["phone"], reg)
    assert x != prf_input("transaction_fraud", "phone", VALID["phone"])
    with pytest.raises(UnknownTypeError):
        prf_input("transaction_fraud", "phone", VALID["phone"], reg)
    with pytest.raises(UnknownTypeError, match="no shape"):
        Registry.from_mapping({"x": ["iban"]})


_fields = st.text(alphabet="abc|_1", max_size=6)


@given(_fields, _fields, _fields, _fields, _fields, _fields)
def test_prf_input_encoding_is_injective(a: str, b: str, c: str, d: str, e: str, f: str) -> None:
    # Framing every field means different tuples never share an encoding, even when
    # their concatenations (with the separator) coincide.
    reg = Registry.from_mapping(
        {"l_a": ["t_a"], "l_b": ["t_a"]}, shapes={"t_a": r"[abc|_1]*"}, normaliser_version="v"
    )
    x1 = prf_input("l_a", "t_a", a + b + c, reg)
    x2 = prf_input("l_a", "t_a", d + e + f, reg)
    assert (x1 == x2) == (a + b + c == d + e + f)
    assert prf_input("l_a", "t_a", a, reg) != prf_input("l_b", "t_a", a, reg)


KEY = derive_key_pair(bytes(32), b"labels")
KID = KEY.key_id


@given(
    st.integers(0, 0xFFFF),
    st.sampled_from(sorted(VALID)),
    st.sampled_from(sorted(VALID)),
)
def test_label_opens_only_with_the_right_identifier(reason: int, t1: str, t2: str) -> None:
    label = Label(reason=reason, listed_month=202401, expires_day=20000)
    out1 = evaluate(KEY, prf_input("transaction_fraud", t1, VALID[t1]))
    sealed = seal_label(out1, "transaction_fraud", KID, label)
    assert len(sealed) == LABEL_BYTES
    assert open_label(out1, "transaction_fraud", KID, sealed) == label
    if t1 != t2:
        out2 = evaluate(KEY, prf_input("transaction_fraud", t2, VALID[t2]))
        with pytest.raises(ProtocolError):
            open_label(out2, "transaction_fraud", KID, sealed)
    # Bound to the list type, the key and the exact bytes.
    with pytest.raises(ProtocolError):
        open_label(out1, "marketing_abuse", KID, sealed)
    with pytest.raises(ProtocolError):
        open_label(out1, "transaction_fraud", bytes(32), sealed)
    with pytest.raises(ProtocolError):
        open_label(out1, "transaction_fraud", KID, sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_label_from_times_coarsens() -> None:
    lab = Label.from_times(7, 1_700_000_000, 1_700_000_001)
    assert lab.listed_month == 202311
    assert lab.expires_day == 1_700_000_001 // 86400 + 1
    assert Label.from_times(0, None, None) == Label()
    with pytest.raises(PsiError):
        Label(reason=70000)
    with pytest.raises(PsiError):
        Label(listed_month=202413)
