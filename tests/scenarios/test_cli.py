"""``riskshare scf`` and ``riskshare tf``: every command documented, local commands exact."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from cli._scf import app as scf_app
from cli._tf import app as tf_app

RUNNER = CliRunner()


@pytest.mark.parametrize(
    ("group", "name"),
    [("scf", c.name) for c in scf_app.registered_commands]
    + [("tf", c.name) for c in tf_app.registered_commands],
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
