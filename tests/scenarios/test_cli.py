"""``riskshare scf`` and ``riskshare tf``, generated from the scenarios' declarations:
every command documented, the commands' names kept, local commands exact."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from cli._scenario import scenario_group
from ledger import ContractError
from scenarios import get_scenario

RUNNER = CliRunner()
GROUPS = {name: scenario_group(get_scenario(name)) for name in ("scf", "tf")}
# The names the hand-written groups had: every one is still a command.
KEPT = {
    "scf": "issue accept cancel split transfer apply-financing approve-financing "
    "reject-financing mark-due mark-overdue redeem authorize show quote demo",
    "tf": "registry-init register check disburse settle archive withdraw lapse alerts "
    "resolve authorize show demo",
}


def test_the_commands_keep_their_names() -> None:
    for group, names in KEPT.items():
        generated = {c.name for c in GROUPS[group].registered_commands}
        assert set(names.split()) <= generated, set(names.split()) - generated


@pytest.mark.parametrize(
    ("group", "name"),
    [(g, str(c.name)) for g, typer_app in GROUPS.items() for c in typer_app.registered_commands],
)
def test_every_command_has_help_with_an_example(group: str, name: str) -> None:
    result = RUNNER.invoke(app, [group, str(name), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"riskshare {group} {name}" in result.output


def test_quote_is_the_contracts_arithmetic() -> None:
    result = RUNNER.invoke(
        app,
        ["scf", "quote", "--face", "100,000.00", "--rate", "4.35%", "--days", "120", "--fee", "50"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.split() == [
        "discount",
        "1,450.00",
        "fee",
        "50.00",
        "proceeds",
        "98,500.00",
    ]


def test_bad_amounts_and_a_missing_gateway_are_errors(tmp_path) -> None:
    result = RUNNER.invoke(
        app, ["scf", "quote", "--face", "1.001", "--rate", "4.35%", "--days", "1"]
    )
    assert result.exit_code != 0 and "at most 2 decimals" in str(result.exception)
    config = tmp_path / "member.toml"
    config.write_text(
        f'[member]\nid = "m1"\ndir = "{tmp_path}"\ndata_dir = "{tmp_path}"\n'
        '[gateway]\nlisten = "127.0.0.1:1"\n[ledger]\norderer = "127.0.0.1:2"\n'
    )
    result = RUNNER.invoke(app, ["scf", "accept", "C1", "--config", str(config)])
    assert result.exit_code != 0
    assert "no gateway admin socket" in str(result.exception)


def test_rich_payloads_from_a_file_and_typed_options(tmp_path) -> None:
    import json

    from cli._scenario_options import from_options, read_payload, schema_options
    from gateway._scenario_client import DocumentSet
    from scenarios.kit import (
        Bytes,
        Date,
        Int,
        ListOf,
        MapOf,
        Money,
        Ppm,
        Record,
        Schema,
        Str,
    )
    from scenarios.tf import REGISTRATIONS

    line = Record(Schema({"sku": Str(), "qty": Int(1, 100), "hash": Bytes(size=4, max_size=4)}))
    schema = Schema(
        {
            "lines": ListOf(line, 1, 4),
            "limits": MapOf(Money("USD")),
            "rate": Ppm(),
            "on": Date(),
        }
    )
    payload_file = tmp_path / "p.json"
    payload_file.write_text(
        json.dumps(
            {
                "lines": [{"sku": "A-1", "qty": 2, "hash": "0a0b0c0d"}],
                "limits": {"bank-a": "1,000.50", "bank-b": 99},
            }
        )
    )
    read = read_payload(schema, payload_file, ["rate=4.35%", "on=2025-06-30"])
    assert schema.check(read) == {
        "lines": [{"sku": "A-1", "qty": 2, "hash": bytes.fromhex("0a0b0c0d")}],
        "limits": {"bank-a": 100_050, "bank-b": 99},
        "rate": 43_500,
        "on": "2025-06-30",
    }
    with pytest.raises(ContractError, match=r"lines\[0\]: payload field 'qty' is required"):
        schema.check({**read, "lines": [{"sku": "A-1", "hash": b"abcd"}]})
    # Typed options: a map to scalars is one option; records come from the file only.
    flags = {o.flag for o in schema_options(schema)}
    assert flags == {"--limits", "--rate", "--on"}

    # A fingerprinted invoice typed as its fields fills the registration's amount and
    # currency (tf register's --amount is the invoice's), with its bills of lading.
    register = REGISTRATIONS.transitions["register"].schema
    options = schema_options(register)
    assert {o.flag for o in options} >= {"--seller", "--amount", "--currency", "--bl", "--doc"}
    values: dict[str, object] = {o.param: None for o in options}
    given = {
        "--seller": "91440300EXPORT0003",
        "--buyer": "SG-77",
        "--invoice-number": "EX 2025/118",
        "--invoice-date": "2025-01-02",
        "--amount": "250,000.00",
        "--currency": "USD",
    }
    for option in options:
        if option.flag in given:
            values[option.param] = given[option.flag]
        if option.flag == "--bl":
            values[option.param] = ["MAEU:BL-1"]
        if option.flag == "--doc":
            values[option.param] = [str(tmp_path / "inv.pdf")]
    inputs = from_options(register, options, values, {})
    document = inputs["invoice"]
    assert isinstance(document, DocumentSet)
    assert (document.invoice.amount, document.invoice.currency) == (250_000_00, "USD")
    assert [d.number for d in document.others] == ["BL-1"]
    assert inputs["doc_hash"] == [tmp_path / "inv.pdf"]
