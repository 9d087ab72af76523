"""The contract registry and the write overlay every contract runs on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    Contract,
    ContractError,
    ContractRegistry,
    LedgerError,
    MemoryState,
    Overlay,
    State,
    TxContext,
)


def _ctx(kind: str) -> TxContext:
    return TxContext(
        tx_id=b"\0" * 32,
        kind=kind,
        member="m1",
        role="member",
        seq=1,
        time=0,
        body={},
        height=1,
        block_time=0,
    )


def _counter(state: State, ctx: TxContext) -> None:
    current = state.get("demo.counter", "n")
    assert current is None or isinstance(current, int)
    state.put("demo.counter", "n", (current or 0) + 1)


def _trespass(state: State, ctx: TxContext) -> None:
    state.put("other.table", "k", 1)


def test_registry_applies_and_enforces_table_ownership() -> None:
    registry = ContractRegistry(
        [
            Contract(
                "demo",
                frozenset({"demo.counter"}),
                {"demo.inc": _counter, "demo.bad": _trespass},
                roles={"demo.inc": frozenset({"member"})},
            )
        ]
    )
    base = MemoryState()
    overlay = Overlay(base)
    registry.apply(overlay, _ctx("demo.inc"))
    overlay.commit()
    assert base.get("demo.counter", "n") == 1
    assert registry.allowed_roles("demo.inc") == frozenset({"member"})
    assert registry.allowed_roles("demo.bad") is None

    overlay = Overlay(base)
    with pytest.raises(ContractError, match="may not write table"):
        registry.apply(overlay, _ctx("demo.bad"))
    with pytest.raises(ContractError, match="unknown transaction kind"):
        registry.apply(overlay, _ctx("nobody.knows"))
    assert overlay.writes == {}
    assert base.tables() == {"demo.counter": {"n": 1}}


def test_contract_names_its_own_kinds_and_tables() -> None:
    with pytest.raises(LedgerError):
        Contract("demo", frozenset({"x.t"}), {})
    with pytest.raises(LedgerError):
        Contract("demo", frozenset(), {"x.inc": _counter})
    registry = ContractRegistry([Contract("demo", frozenset(), {})])
    with pytest.raises(LedgerError):
        registry.register(Contract("demo", frozenset(), {}))


_keys = st.sampled_from(["a", "ab", "b", "ba", "c"])
_ops = st.lists(
    st.tuples(st.sampled_from(["put", "delete"]), _keys, st.integers(0, 9)), max_size=30
)


@given(base_ops=_ops, top_ops=_ops, prefix=st.sampled_from(["", "a", "b", "z"]))
def test_overlay_reads_like_the_state_it_will_become(base_ops, top_ops, prefix) -> None:
    base = MemoryState()
    for op, key, value in base_ops:
        base.put("t", key, value) if op == "put" else base.delete("t", key)
    model = MemoryState(base.tables())
    overlay = Overlay(base)
    for op, key, value in top_ops:
        if op == "put":
            overlay.put("t", key, value)
            model.put("t", key, value)
        else:
            overlay.delete("t", key)
            model.delete("t", key)
    assert list(overlay.scan("t", prefix)) == list(model.scan("t", prefix))
    for key in ["a", "ab", "b", "ba", "c"]:
        assert overlay.get("t", key) == model.get("t", key)
    overlay.commit()
    assert base.tables() == model.tables()
