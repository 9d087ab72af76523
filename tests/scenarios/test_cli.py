"""``riskshare scf`` and ``riskshare tf``, generated from the scenarios' declarations:
every command documented, the commands' names kept, local commands exact."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from cli._scenario import scenario_group
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
