"""``riskshare <scenario> ...``: one command group per registered scenario.

The groups come from the scenario registration (``scenarios.SCENARIO_MODULES``) and
nothing else: a scenario gets a generic group made from its machines — one command per
transition (``riskshare ebl endorse BL-1 --set to=bank``), ``show``, ``authorize`` and,
if it has one, ``demo`` — unless this package has a hand-written group for it with
friendlier options (``_HAND_WRITTEN``: supply-chain finance and trade finance, whose
issue and register steps need documents fingerprinted by the registry). Every step goes
through the member's own gateway, which asks whoever the step needs to co-sign.
"""

# No ``from __future__ import annotations``: typer reads the generated commands'
# annotations at run time, and they name values of the enclosing function (help texts).
import hashlib
import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from scenarios import Scenario
    from scenarios.kit import Field, Machine, Schema, Transition

__all__ = [
    "ConfigOption",
    "JsonOption",
    "echo_step",
    "parse_payload",
    "register",
    "run_demo",
    "scenario_group",
]

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", envvar="RISKSHARE_CONFIG", help="Gateway config.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
_DEFAULT = Path("member.toml")
# Scenarios with a hand-written group in this package (it replaces the generic one).
_HAND_WRITTEN = {"scf": "cli._scf", "tf": "cli._tf"}


def register(root: typer.Typer) -> None:
    """Attach a group for every registered scenario, in registration order."""
    from scenarios import all_scenarios

    for scenario in all_scenarios():
        module = _HAND_WRITTEN.get(scenario.name)
        group = importlib.import_module(module).app if module else scenario_group(scenario)
        root.add_typer(group, name=scenario.name)


def echo_step(result: Any, as_json: bool) -> None:
    """A step's outcome: the object after it, its block and signers (or one JSON object)."""
    from scenarios.kit import format_minor

    if as_json:
        typer.echo(json.dumps(result.to_json(), sort_keys=True))
        return
    obj = result.obj
    if obj is None:
        typer.echo(f"applied at height {result.height}")
        return
    face = obj.attrs.get("face", obj.attrs.get("amount"))
    amount = f"  {format_minor(face)}" if isinstance(face, int) else ""
    parties = " ".join(f"{role}={member}" for role, member in sorted(obj.parties.items()))
    typer.echo(f"{obj.id}  {obj.state}  v{obj.version}{amount}  {parties}")
    signers = ", ".join(result.signers)
    typer.echo(f"  height {result.height}  tx {result.tx_id.hex()[:16]}  signed by {signers}")


def run_demo(scenario: str, as_json: bool) -> None:
    """Run ``scenario``'s demo flow across a local consortium; exit 2 if anything disagrees."""
    from gateway._scenario_demo import run_scenario_demo

    say = (lambda _: None) if as_json else typer.echo
    report = run_scenario_demo(scenario, say=say)
    if as_json:
        typer.echo(json.dumps(report.to_json(), sort_keys=True))
    else:
        typer.echo(f"ledger heads {'all equal' if report.heads_equal else 'DIFFER'}")
        typer.echo("every step as the spec says" if report.correct else "SOMETHING DISAGREES")
    if not report.correct:
        raise typer.Exit(2)


# The generic group -----------------------------------------------------------------------


def parse_payload(schema: "Schema", sets: list[str]) -> dict[str, Any]:
    """``--set FIELD=VALUE`` options as the payload the schema describes, checked."""
    out: dict[str, Any] = {}
    for item in sets:
        name, sep, text = item.partition("=")
        if not sep:
            raise typer.BadParameter("takes FIELD=VALUE", param_hint="--set")
        spec = schema.fields.get(name)
        if spec is None:
            known = ", ".join(schema.fields) or "none"
            raise typer.BadParameter(
                f"unknown field {name!r} (fields: {known})", param_hint="--set"
            )
        if name in out:
            raise typer.BadParameter(f"{name} given twice", param_hint="--set")
        out[name] = _value(name, spec, text)
    return schema.check(out)


def _value(name: str, spec: "Field", text: str) -> Any:
    from scenarios.kit import Bytes, Int, ListOf

    if isinstance(spec, Int):
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise typer.BadParameter(f"{name} is an integer", param_hint="--set") from None
    if isinstance(spec, Bytes):
        if text.startswith("@"):
            # A document stays here: only its SHA-256 goes into the step.
            return hashlib.sha256(Path(text[1:]).read_bytes()).digest()
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise typer.BadParameter(f"{name} is hex or @FILE", param_hint="--set") from None
    if isinstance(spec, ListOf):
        return [_value(name, spec.item, part) for part in text.split(";") if part]
    return text  # Str, Enum, Date: checked by the schema


def _example(spec: "Field") -> str:
    from scenarios.kit import Bytes, Date, Enum, Int, ListOf

    if isinstance(spec, Int):
        return "100"
    if isinstance(spec, Bytes):
        return "@document.pdf" if spec.size == 32 else "0a1b"
    if isinstance(spec, Date):
        return "2025-06-30"
    if isinstance(spec, Enum):
        return sorted(spec.choices)[0]
    if isinstance(spec, ListOf):
        return f"{_example(spec.item)};{_example(spec.item)}"
    return "ID"


def _step_help(scenario: "Scenario", machine: "Machine", t: "Transition", command: str) -> str:
    from scenarios.kit import ANYONE, NEW

    sources = sorted("(new)" if s == NEW else s for s in t.from_states)
    who = (
        "any member" if ANYONE in t.allowed_roles else f"the {' or '.join(sorted(t.allowed_roles))}"
    )
    lines = [
        f"{t.name} a {machine.type}: {', '.join(sources)} → {', '.join(sorted(t.to_states))};"
        f" submitted by {who}."
    ]
    signers = sorted(t.required_signers | t.signers_if_present)
    if signers:
        lines.append(
            f"The {' and '.join(signers)} co-signs (its gateway previews the step and needs its "
            f"operator's `riskshare {scenario.name} authorize {command} OBJECT`)."
        )
    fields = t.schema.fields
    if fields:
        described = ", ".join(
            f"{name} ({type(spec).__name__.lower()}{'' if spec.required else ', optional'})"
            for name, spec in fields.items()
        )
        lines.append(f"Payload (--set FIELD=VALUE): {described}.")
    example = " ".join(
        f"--set {name}={_example(spec)}" for name, spec in fields.items() if spec.required
    )
    lines.append(f"Example: riskshare {scenario.name} {command} X-1 {example}".rstrip())
    return "\n\n".join(lines)


def _add_step(
    group: typer.Typer, scenario: "Scenario", machine: "Machine", t: "Transition"
) -> None:
    kind = machine.kind(t.name)
    command = t.name.replace("_", "-")

    def step_cmd(
        object_id: Annotated[str, typer.Argument(metavar="OBJECT", help=f"The {machine.type} id.")],
        sets: Annotated[
            list[str] | None,
            typer.Option("--set", "-s", help="A payload field, FIELD=VALUE (repeatable)."),
        ] = None,
        cosigner: Annotated[
            list[str] | None,
            typer.Option(help="A member to ask to co-sign (default: whoever the step needs)."),
        ] = None,
        config: ConfigOption = _DEFAULT,
        as_json: JsonOption = False,
    ) -> None:
        from gateway._scenario_client import step

        payload = parse_payload(t.schema, sets or [])
        echo_step(step(config, kind, object_id, payload, cosigner or []), as_json)

    step_cmd.__doc__ = _step_help(scenario, machine, t, command)
    group.command(command)(step_cmd)


def scenario_group(scenario: "Scenario") -> typer.Typer:
    """The generic group of ``scenario``: a command per transition, show, authorize, demo."""
    group = typer.Typer(help=f"{scenario.title} ({scenario.spec}).", no_args_is_help=True)
    for machine in scenario.machines:
        for transition in machine.transitions.values():
            _add_step(group, scenario, machine, transition)
    name = scenario.name
    example_step = next(
        (t.name for m in scenario.machines for t in m.transitions.values() if t.required_signers),
        next(iter(scenario.machines[0].transitions)),
    ).replace("_", "-")

    def show_cmd(
        object_id: Annotated[str, typer.Argument(metavar="OBJECT", help="An object id.")],
        config: ConfigOption = _DEFAULT,
    ) -> None:
        from gateway._scenario_client import load_object

        typer.echo(json.dumps(load_object(config, name, object_id), indent=2, sort_keys=True))

    show_cmd.__doc__ = (
        f"Show an object of {name}, its event log (and its asset's conservation check) from "
        f"your own replica (JSON).\n\nExample: riskshare {name} show X-1"
    )
    group.command("show")(show_cmd)

    def authorize_cmd(
        action: Annotated[str, typer.Argument(help="The step to co-sign, e.g. " + example_step)],
        object_id: Annotated[str, typer.Argument(metavar="OBJECT", help="An object id.")],
        ttl: Annotated[int, typer.Option(help="Seconds the authorisation lasts.")] = 3600,
        config: ConfigOption = _DEFAULT,
    ) -> None:
        from gateway._scenario_client import ScenarioClient

        kind = f"{name}.{action.replace('-', '_')}"
        with ScenarioClient.from_config(config) as client:
            expires = client.authorize(kind, object_id, ttl)
        typer.echo(f"authorised {kind} on {object_id} until {expires} (ms since epoch)")

    authorize_cmd.__doc__ = (
        "Authorise your gateway to co-sign one kind of step on one object.\n\n"
        f"Example: riskshare {name} authorize {example_step} X-1 --ttl 600"
    )
    group.command("authorize")(authorize_cmd)

    if scenario.demo is not None:

        def demo_cmd(as_json: JsonOption = False) -> None:
            run_demo(name, as_json)

        demo_cmd.__doc__ = (
            f"Run the {name} demo flow across a local consortium of gateway processes.\n\n"
            f"Example: riskshare {name} demo"
        )
        group.command("demo")(demo_cmd)
    return group
