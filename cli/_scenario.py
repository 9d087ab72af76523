"""``riskshare <scenario> ...``: one generated command group per registered scenario.

The groups come from the scenario registration (``scenarios.SCENARIO_MODULES``) and the
declarations in each scenario's module, nothing else; no scenario has a hand-written
group. A group has:

- a command per transition a member may take (``riskshare scf transfer C1 --to b
  --amount 1,000.00``, ``riskshare ebl endorse BL-1 --to bank``), its options made from
  the transition's payload schema (``cli._scenario_options``), plus ``--set
  FIELD=VALUE``, ``--payload FILE.json`` and ``--cosigner``;
- ``authorize [TRANSITION] OBJECT ...``: approve co-signing exactly one transaction (the
  payload is given as for the step itself; the approval is its digest);
- ``submit TX.json`` and ``approve TX.json``: a transaction of several legs (delivery
  versus payment), and approving one;
- ``show``, ``list`` (by type, state, party) and ``watch`` (the events of objects you
  are a party to, from a height);
- the scenario's declared listings, calculators and pre-checks (``riskshare tf alerts``,
  ``riskshare scf quote``, ``riskshare tf check``), ``registry-init`` when it
  fingerprints documents, ``observe`` when it has an oracle, and ``demo``.

Every step goes through the member's own gateway, which asks whoever the transaction
needs to co-sign. Each command is a thin wrapper over ``gateway._scenario_client``.
"""

# No ``from __future__ import annotations``: typer reads the generated commands'
# annotations at run time.
import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli._scenario_commands import add_declared_commands, add_local_commands
from cli._scenario_options import (
    ConfigOption,
    JsonOption,
    Option,
    command,
    echo_step,
    from_options,
    read_payload,
    schema_options,
)

if TYPE_CHECKING:
    from scenarios import Scenario
    from scenarios.kit import Machine, Transition

__all__ = ["ConfigOption", "JsonOption", "echo_step", "register", "run_demo", "scenario_group"]

_DEFAULT = Path("member.toml")
_KW = inspect.Parameter.KEYWORD_ONLY
_POS = inspect.Parameter.POSITIONAL_OR_KEYWORD


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, _KW, default=default, annotation=annotation)


def _common() -> list[inspect.Parameter]:
    return [
        _param(
            "sets",
            Annotated[
                list[str] | None,
                typer.Option("--set", "-s", help="A payload field, FIELD=VALUE (repeatable)."),
            ],
            None,
        ),
        _param(
            "payload_file",
            Annotated[
                Path | None,
                typer.Option("--payload", help="The payload as a JSON file (bytes as hex)."),
            ],
            None,
        ),
        _param("config", ConfigOption, _DEFAULT),
    ]


def register(root: typer.Typer) -> None:
    """Attach a group for every registered scenario, in registration order."""
    from scenarios import all_scenarios

    for scenario in all_scenarios():
        root.add_typer(scenario_group(scenario), name=scenario.name)


def run_demo(scenario: str, as_json: bool) -> None:
    """Run ``scenario``'s demo flow across a local consortium (``all``: every registered
    scenario's, one after another); exit 2 if anything disagrees."""
    from gateway.scenario import run_all_demos, run_scenario_demo

    say = (lambda _: None) if as_json else typer.echo
    if scenario == "all":
        reports = run_all_demos(say=say)
        correct = bool(reports) and all(r.correct for r in reports)
        if as_json:
            doc = {"scenarios": [r.to_json() for r in reports], "correct": correct}
            typer.echo(json.dumps(doc, sort_keys=True))
        else:
            for r in reports:
                verdict = "as the spec says" if r.correct else "SOMETHING DISAGREES"
                typer.echo(f"{r.scenario}: {len(r.steps)} steps, {verdict}")
            typer.echo("every scenario as the spec says" if correct else "SOMETHING DISAGREES")
        if not correct:
            raise typer.Exit(2)
        return
    report = run_scenario_demo(scenario, say=say)
    if as_json:
        typer.echo(json.dumps(report.to_json(), sort_keys=True))
    else:
        typer.echo(f"ledger heads {'all equal' if report.heads_equal else 'DIFFER'}")
        typer.echo("every step as the spec says" if report.correct else "SOMETHING DISAGREES")
    if not report.correct:
        raise typer.Exit(2)


# Steps -----------------------------------------------------------------------------------


def _step_help(scenario: "Scenario", machine: "Machine", t: "Transition") -> str:
    from scenarios.kit import ANYONE, NEW

    sources = sorted("(new)" if s == NEW else s for s in t.from_states)
    who = (
        "any member" if ANYONE in t.allowed_roles else f"the {' or '.join(sorted(t.allowed_roles))}"
    )
    lines = [t.help] if t.help else []
    lines.append(
        f"{t.name} a {machine.type}: {', '.join(sources)} → {', '.join(sorted(t.to_states))};"
        f" submitted by {who}."
    )
    signers = sorted(t.required_signers | t.signers_if_present)
    if signers:
        lines.append(
            f"The {' and '.join(signers)} co-signs (its gateway previews the step and needs its "
            f"operator's `riskshare {scenario.name} authorize {t.cli_name} OBJECT ...` with the "
            "same payload)."
        )
    example = " ".join(
        f"{o.flag} {_example(t, o)}" for o in schema_options(t.schema) if _shown(t, o)
    )
    lines.append(f"Example: riskshare {scenario.name} {t.cli_name} X-1 {example}".rstrip())
    return "\n\n".join(lines)


def _shown(t: "Transition", option: Option) -> bool:
    if option.key:
        return option.key in {"seller", "buyer", "number", "issued_on"}
    spec = t.schema.fields[option.field]
    return spec.required and not spec.default_attr


def _example(t: "Transition", option: Option) -> str:
    if option.key:
        return {"seller": "91310000MA1FL00001", "buyer": "91110000CORE00002"}.get(
            option.key, "INV-42" if option.key == "number" else "2025-01-02"
        )
    return t.schema.fields[option.field].example()


def _add_step(
    group: typer.Typer, scenario: "Scenario", machine: "Machine", t: "Transition"
) -> None:
    kind = machine.kind(t.name)
    options = schema_options(t.schema)

    def body(object_id: str, **values: Any) -> None:
        from gateway.scenario import step

        base = read_payload(t.schema, values.pop("payload_file"), values.pop("sets") or [])
        inputs = from_options(t.schema, options, values, base)
        cosigners = values.pop("cosigner") or []
        as_json = values.pop("as_json")
        echo_step(step(values.pop("config"), kind, object_id, inputs, cosigners), as_json)

    params = [
        inspect.Parameter(
            "object_id",
            _POS,
            annotation=Annotated[
                str, typer.Argument(metavar="OBJECT", help=f"The {machine.type} id.")
            ],
        ),
        *(o.parameter() for o in options),
        *_common(),
        _param(
            "cosigner",
            Annotated[
                list[str] | None,
                typer.Option(help="A member to ask to co-sign (default: whoever the step needs)."),
            ],
            None,
        ),
        _param("as_json", JsonOption, False),
    ]
    group.command(t.cli_name)(command(params, body, _step_help(scenario, machine, t)))


def _cosigned(scenario: "Scenario") -> list[tuple["Machine", "Transition"]]:
    return [
        (m, t)
        for m in scenario.machines
        for t in m.transitions.values()
        if not t.internal and (t.required_signers or t.signers_if_present)
    ]


def _add_authorize(group: typer.Typer, scenario: "Scenario") -> None:
    cosigned = _cosigned(scenario)
    if not cosigned:
        return
    by_name = {t.cli_name: (m, t) for m, t in cosigned}
    options: dict[str, Option] = {}
    for _, t in cosigned:
        for option in schema_options(t.schema):
            options.setdefault(option.flag, option)

    def body(first: str, second: str | None, **values: Any) -> None:
        from gateway.scenario import ScenarioClient, prepare

        if second is None:
            if len(cosigned) != 1:
                raise typer.BadParameter(f"name the step: one of {sorted(by_name)}")
            (machine, t), object_id = cosigned[0], first
        else:
            if first not in by_name:
                raise typer.BadParameter(
                    f"{first!r} needs no co-signature; one of {sorted(by_name)}"
                )
            (machine, t), object_id = by_name[first], second
        kind = machine.kind(t.name)
        config = values.pop("config")
        ttl, digest = values.pop("ttl"), values.pop("digest")
        own = [o for o in options.values() if o.field in t.schema.fields]
        base = read_payload(t.schema, values.pop("payload_file"), values.pop("sets") or [])
        with ScenarioClient.from_config(config) as client:
            if digest:
                expires, approved = client.authorize(
                    kind, object_id, ttl_seconds=ttl, digest=bytes.fromhex(digest)
                )
            else:
                inputs = from_options(t.schema, own, values, base)
                payload = prepare(config, kind, object_id, inputs, client)
                expires, approved = client.authorize(kind, object_id, payload, ttl)
        typer.echo(
            f"authorised {kind} on {object_id} until {expires} (ms since epoch), "
            f"digest {approved.hex()[:16]}"
        )

    example = next(iter(by_name))
    single = len(cosigned) == 1
    params = [
        inspect.Parameter(
            "first",
            _POS,
            annotation=Annotated[
                str,
                typer.Argument(
                    metavar="OBJECT" if single else "STEP",
                    help="The object (or the step, then the object).",
                ),
            ],
        ),
        inspect.Parameter(
            "second",
            _POS,
            default=None,
            annotation=Annotated[
                str | None, typer.Argument(metavar="[OBJECT]", show_default=False)
            ],
        ),
        *(o.parameter() for o in options.values()),
        *_common(),
        _param(
            "ttl",
            Annotated[int, typer.Option(help="Seconds the authorisation lasts.")],
            3600,
        ),
        _param(
            "digest",
            Annotated[str | None, typer.Option(help="Approve this digest (hex) as shown to you.")],
            None,
        ),
    ]
    shown = f"{example} X-1" if not single else "X-1"
    doc = (
        "Authorise your gateway to co-sign exactly one transaction: the step named, on the "
        "object at its current version, with the payload given as for the step itself (or "
        "--digest). Your gateway refuses to co-sign anything else.\n\n"
        f"Steps: {', '.join(sorted(by_name))}.\n\n"
        f"Example: riskshare {scenario.name} authorize {shown} --ttl 600"
    )
    group.command("authorize")(command(params, body, doc))


def scenario_group(scenario: "Scenario") -> typer.Typer:
    """The generated group of ``scenario`` (see the module docstring)."""
    group = typer.Typer(help=f"{scenario.title} ({scenario.spec}).", no_args_is_help=True)
    name = scenario.name
    for machine in scenario.machines:
        for transition in machine.transitions.values():
            if not transition.internal:
                _add_step(group, scenario, machine, transition)
    _add_authorize(group, scenario)
    add_declared_commands(group, scenario)
    add_local_commands(group, scenario)
    if scenario.demo is not None:

        def demo_cmd(as_json: JsonOption = False) -> None:
            run_demo(name, as_json)

        demo_cmd.__doc__ = (
            f"Run the {name} demo flow across a local consortium of gateway processes.\n\n"
            f"Example: riskshare {name} demo"
        )
        group.command("demo")(demo_cmd)
    return group
