"""The commands of a scenario group besides its steps (``cli._scenario`` assembles it).

- ``show``, ``list`` and ``watch`` read: an object and its history, objects by type,
  state and party ("my open alerts"), and the events of objects you are a party to from
  a height (the gateway's ``WatchEvents``, following the chain with ``--follow``);
- ``submit`` and ``approve`` take a transaction of several legs from a JSON file;
- what the scenario declares: its listings, calculators and pre-checks
  (``scenarios.kit.Listing``, ``Calculator``, ``Precheck``), ``registry-init`` when it
  fingerprints documents, and ``observe`` when it names an oracle.
"""

# No ``from __future__ import annotations``: typer reads the generated commands'
# annotations at run time.
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli._scenario_options import (
    ConfigOption,
    JsonOption,
    command,
    document_options,
    echo_step,
    from_options,
    schema_options,
)

if TYPE_CHECKING:
    from scenarios import Scenario
    from scenarios.kit import Calculator, Listing, Precheck

__all__ = ["add_declared_commands", "add_local_commands"]

_DEFAULT = Path("member.toml")


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _simple(group: typer.Typer, name: str, doc: str) -> Callable[[Callable[..., None]], Any]:
    def attach(fn: Callable[..., None]) -> Any:
        fn.__doc__ = doc
        return group.command(name)(fn)

    return attach


def add_declared_commands(group: typer.Typer, scenario: "Scenario") -> None:
    """The scenario's listings, calculators and pre-checks."""
    from scenarios.kit import Calculator, Listing, Precheck

    for declared in scenario.commands:
        if isinstance(declared, Listing):
            _add_listing(group, scenario, declared)
        elif isinstance(declared, Calculator):
            _add_calculator(group, scenario, declared)
        elif isinstance(declared, Precheck):
            _add_precheck(group, scenario, declared)


def _add_listing(group: typer.Typer, scenario: "Scenario", declared: "Listing") -> None:
    flags = sorted(declared.flags)

    def body(**values: Any) -> None:
        from gateway.scenario import listing

        chosen = [f for f in flags if values.get(f"flag_{f}")]
        typer.echo(json.dumps(listing(values["config"], declared, chosen), indent=2))

    params = [
        _param(
            f"flag_{f}",
            Annotated[
                bool, typer.Option(f"--{f}", help=f"Only {'/'.join(sorted(declared.flags[f]))}.")
            ],
            False,
        )
        for f in flags
    ]
    params.append(_param("config", ConfigOption, _DEFAULT))
    example = f" --{flags[0]}" if flags else ""
    doc = f"{declared.help}\n\nExample: riskshare {scenario.name} {declared.name}{example}"
    group.command(declared.name)(command(params, body, doc))


def _add_calculator(group: typer.Typer, scenario: "Scenario", declared: "Calculator") -> None:
    options = schema_options(declared.inputs)

    def body(**values: Any) -> None:
        from scenarios.kit import format_minor

        inputs = declared.inputs.check(from_options(declared.inputs, options, values, {}))
        for label, amount in declared.compute(inputs):
            typer.echo(f"{label}  {format_minor(amount)}")

    params = [o.parameter() for o in options]
    doc = (
        f"{declared.help}\n\nExample: riskshare {scenario.name} {declared.name} {declared.example}"
    )
    group.command(declared.name)(command(params, body, doc.rstrip()))


def _add_precheck(group: typer.Typer, scenario: "Scenario", declared: "Precheck") -> None:
    from scenarios.kit import Fingerprints

    t = next(
        m.transitions[declared.transition]
        for m in scenario.machines
        if declared.transition in m.transitions
    )
    spec = t.schema.fields[declared.field]
    assert isinstance(spec, Fingerprints)
    options = document_options(declared.field, spec, {})

    def body(**values: Any) -> None:
        from gateway.scenario import precheck

        document = from_options(t.schema, options, values, {})[declared.field]
        typer.echo(json.dumps(precheck(values["config"], declared, document), indent=2))

    params = [*(o.parameter() for o in options), _param("config", ConfigOption, _DEFAULT)]
    doc = (
        f"{declared.help}\n\nExample: riskshare {scenario.name} {declared.name} "
        "--seller 91440300EXPORT0003 --buyer SG-77 --invoice-number EX-118 "
        "--invoice-date 2025-01-02 --amount 250000.00"
    )
    group.command(declared.name)(command(params, body, doc))


def add_local_commands(group: typer.Typer, scenario: "Scenario") -> None:
    """show, list, watch, submit, approve; registry-init and observe when declared."""
    from scenarios.kit import Fingerprints

    name = scenario.name

    @_simple(
        group,
        "show",
        f"Show an object of {name}, its event log (and its instrument's "
        f"conservation check) from your own replica (JSON).\n\nExample: riskshare {name} show X-1",
    )
    def show_cmd(
        object_id: Annotated[str, typer.Argument(metavar="OBJECT", help="An object id.")],
        config: ConfigOption = _DEFAULT,
    ) -> None:
        from gateway.scenario import load_object

        typer.echo(json.dumps(load_object(config, name, object_id), indent=2, sort_keys=True))

    @_simple(
        group,
        "list",
        f"List {name} objects from your own replica: by type and state, "
        "those you are a party to (all with --all).\n\n"
        f"Example: riskshare {name} list --state OPEN",
    )
    def list_cmd(
        type_: Annotated[list[str] | None, typer.Option("--type", help="Object type.")] = None,
        state: Annotated[list[str] | None, typer.Option(help="A state (repeatable).")] = None,
        everyone: Annotated[bool, typer.Option("--all", help="Not only yours.")] = False,
        config: ConfigOption = _DEFAULT,
    ) -> None:
        from gateway.scenario import list_objects

        found = list_objects(config, name, types=type_ or [], states=state or [], mine=not everyone)
        typer.echo(json.dumps(found, indent=2))

    @_simple(
        group,
        "submit",
        "Submit a transaction of several legs from a JSON file: "
        '{"legs": [{"machine", "object", "version" (-1: current), "transition", '
        '"payload"}], "cosigners": [...]}; all legs apply, or none.\n\n'
        f"Example: riskshare {name} submit dvp.json",
    )
    def submit_cmd(
        tx_file: Annotated[Path, typer.Argument(metavar="TX.json", help="The transaction.")],
        config: ConfigOption = _DEFAULT,
        as_json: JsonOption = False,
    ) -> None:
        from gateway.scenario import submit_tx

        legs, cosigners = _legs(name, tx_file)
        echo_step(submit_tx(config, name, legs, cosigners), as_json)

    @_simple(
        group,
        "approve",
        "Approve co-signing a transaction of several legs, as in a "
        "JSON file for submit (its digest; legs at version -1 take their current one).\n\n"
        f"Example: riskshare {name} approve dvp.json --ttl 600",
    )
    def approve_cmd(
        tx_file: Annotated[Path, typer.Argument(metavar="TX.json", help="The transaction.")],
        ttl: Annotated[int, typer.Option(help="Seconds the approval lasts.")] = 3600,
        config: ConfigOption = _DEFAULT,
    ) -> None:
        from gateway.scenario import ScenarioClient

        legs, _ = _legs(name, tx_file)
        with ScenarioClient.from_config(config) as client:
            expires, digest = client.authorize(
                f"{name}.tx", legs[0].object, ttl_seconds=ttl, legs=legs
            )
        typer.echo(
            f"approved {name}.tx until {expires} (ms since epoch), digest {digest.hex()[:16]}"
        )

    fingerprinted = any(
        isinstance(f, Fingerprints)
        for m in scenario.machines
        for t in m.transitions.values()
        for f in t.schema.fields.values()
    )
    if fingerprinted:

        @_simple(
            group,
            "registry-init",
            "On the registry member: create the fingerprint OPRF "
            f"key and commit it.\n\nExample: riskshare {name} registry-init --config registry.toml",
        )
        def registry_init_cmd(config: ConfigOption = _DEFAULT) -> None:
            from gateway.scenario import ScenarioClient

            with ScenarioClient.from_config(config) as client:
                public, kid = client.init_registry()
            typer.echo(f"registry key {kid.hex()[:16]} committed (public {public.hex()})")

    @_simple(
        group,
        "watch",
        f"Print the events of {name} objects you are a party to, from a height (one JSON "
        "object a line); with --follow, new ones as blocks arrive, until interrupted.\n\n"
        f"Example: riskshare {name} watch --from-height 120 --follow",
    )
    def watch_cmd(
        from_height: Annotated[int, typer.Option(help="The first height.")] = 0,
        follow: Annotated[bool, typer.Option(help="Keep following the chain.")] = False,
        limit: Annotated[int, typer.Option(help="Stop after this many events (0: none).")] = 0,
        config: ConfigOption = _DEFAULT,
    ) -> None:
        from gateway.scenario import ScenarioClient

        with ScenarioClient.from_config(config) as client:
            for n, event in enumerate(client.watch(name, from_height, follow=follow), 1):
                typer.echo(json.dumps(event, sort_keys=True))
                if limit and n >= limit:
                    break

    if any(m.confidential is not None for m in scenario.machines):

        @_simple(
            group,
            "sync",
            f"Fetch from the other parties every version of a confidential {name} object "
            "you should hold and do not (after your gateway was down), each checked "
            f"against its commitment on your replica.\n\nExample: riskshare {name} sync",
        )
        def sync_cmd(config: ConfigOption = _DEFAULT) -> None:
            from gateway.scenario import ScenarioClient

            with ScenarioClient.from_config(config) as client:
                fetched, missing = client.sync_private(name)
            typer.echo(json.dumps({"fetched": fetched, "missing": missing}))

        @_simple(
            group,
            "purge",
            f"Delete the private state of confidential {name} objects kept past the "
            "scenario's retention; the commitments on the ledger stay.\n\n"
            f"Example: riskshare {name} purge",
        )
        def purge_cmd(config: ConfigOption = _DEFAULT) -> None:
            from gateway.scenario import ScenarioClient

            with ScenarioClient.from_config(config) as client:
                purged = client.purge_private(name)
            typer.echo(json.dumps({"purged": purged}))

    if scenario.oracle:

        @_simple(
            group,
            "observe",
            f"On the {name} oracle: sign an observation (a fixing, a price, an index "
            "level) and record it; rules read it by series and date.\n\n"
            f"Example: riskshare {name} observe ACME --as-of 2025-01-06 --value 1250 --scale 2",
        )
        def observe_cmd(
            series: Annotated[str, typer.Argument(help="What is observed (an index, a ticker).")],
            as_of: Annotated[str, typer.Option(help="The date observed, YYYY-MM-DD.")],
            value: Annotated[int, typer.Option(help="The value, an integer.")],
            scale: Annotated[int, typer.Option(help="Decimals of the value.")] = 0,
            config: ConfigOption = _DEFAULT,
            as_json: JsonOption = False,
        ) -> None:
            from gateway.scenario import ScenarioClient

            with ScenarioClient.from_config(config) as client:
                echo_step(client.observe(name, series, as_of, value, scale), as_json)


def _legs(contract: str, path: Path) -> tuple[list[Any], list[str]]:
    from scenarios import engine_for
    from scenarios.kit import Leg

    engine = engine_for(contract)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict) or not isinstance(loaded.get("legs"), list):
        raise typer.BadParameter('a transaction file is {"legs": [...]}')
    legs = []
    for row in loaded["legs"]:
        machine = engine.machine(str(row.get("machine")))
        t = machine.transitions.get(str(row.get("transition")))
        if t is None:
            raise typer.BadParameter(f"{machine.type} has no transition {row.get('transition')!r}")
        payload = t.schema.from_json(row.get("payload", {}))
        version = int(row.get("version", -1))
        legs.append(Leg(machine.type, str(row["object"]), version, t.name, payload))
    return legs, list(loaded.get("cosigners", []))
