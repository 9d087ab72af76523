"""Command-line options made from a scenario's payload schemas, and back into payloads.

Every scenario command is generated from declarations (``cli._scenario``); this module
says how a schema's fields become options and how the typed text becomes values:

- a scalar field (``Int``, ``Str``, ``Enum``, ``Date``, ``Money``, ``Ppm``, ``Member``,
  ``Bytes``, ``Bool``), a list of scalars or a map to scalars is one option,
  ``--<field>`` or the name the field declares (``option=``), typed as people write it
  (``1,000.00``, ``4.35%``, ``a;b``, ``a:60;b:40``) and parsed by the field itself;
- a ``Documents`` field is a repeatable file option (``--doc``), hashed on this side;
- a ``Fingerprints`` field is its document's own options (an invoice's seller, buyer,
  number, date, amount and currency, and ``--bl CARRIER:NUMBER`` for each bill of
  lading in the set): the gateway has the registry fingerprint them;
- anything (records, maps, lists of records) can be given as ``--set FIELD=VALUE``
  (JSON for structured values) or in ``--payload FILE.json``.

Options are never required at this level: a field may come from ``--set`` or
``--payload`` instead, and the schema, checked before anything is sent, names what is
missing. Typer reads the parameters of a generated command from its signature, so each
command is built as a function with an explicit ``__signature__``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from scenarios import ScenarioError
from scenarios.kit import (
    Bool,
    Bytes,
    Date,
    Document,
    Documents,
    Enum,
    Field,
    Fingerprints,
    Int,
    Invoice,
    ListOf,
    MapOf,
    Member,
    Money,
    Ppm,
    Schema,
    Screening,
    Str,
    decimals_of,
    parse_minor,
)

__all__ = [
    "ConfigOption",
    "JsonOption",
    "Option",
    "command",
    "document_options",
    "echo_step",
    "from_options",
    "read_payload",
    "schema_options",
]

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", envvar="RISKSHARE_CONFIG", help="Gateway config.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


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
    parties += "".join(f" {role}={'+'.join(s.members)}" for role, s in sorted(obj.sets.items()))
    typer.echo(f"{obj.id}  {obj.state}  v{obj.version}{amount}  {parties}")
    signers = ", ".join(result.signers)
    typer.echo(f"  height {result.height}  tx {result.tx_id.hex()[:16]}  signed by {signers}")


_SCALARS = (Int, Str, Enum, Date, Money, Ppm, Member, Bytes, Bool, Screening)
_INVOICE_HELP = {
    "seller": "Invoice seller id (tax id / USCC).",
    "buyer": "Invoice buyer id.",
    "number": "Invoice number.",
    "issued_on": "Invoice date YYYY-MM-DD.",
    "amount": "Invoice amount, e.g. 250,000.00.",
    "currency": "ISO 4217 currency (default CNY).",
}


@dataclass(frozen=True, slots=True)
class Option:
    """One generated option: its parameter name, flag, help and whether it repeats."""

    param: str
    flag: str
    help: str
    repeat: bool = False
    boolean: bool = False
    # What it feeds: a payload field, or ``(field, document key)`` of a fingerprinted one.
    field: str = ""
    key: str = ""

    def parameter(self) -> inspect.Parameter:
        if self.boolean:
            annotation: Any = Annotated[bool, typer.Option(self.flag, help=self.help)]
            default: Any = False
        elif self.repeat:
            annotation = Annotated[list[str] | None, typer.Option(self.flag, help=self.help)]
            default = None
        else:
            annotation = Annotated[str | None, typer.Option(self.flag, help=self.help)]
            default = None
        return inspect.Parameter(
            self.param, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
        )


def _flag(name: str, spec: Field) -> str:
    return "--" + (spec.option or name.replace("_", "-"))


def document_options(
    name: str, spec: Fingerprints, payload_help: Mapping[str, str]
) -> list[Option]:
    """The options typing a fingerprinted document (an invoice, its bills of lading; or
    the fields of the field's declared document kind)."""
    out = []
    if spec.document is not None:
        for key, text in spec.document.fields.items():
            flag = spec.options.get(key, key.replace("_", "-"))
            out.append(Option(f"d_{name}_{key}", f"--{flag}", text, field=name, key=key))
        return out
    for key, flag in spec.options.items():
        text = _INVOICE_HELP.get(key, key)
        if key in spec.defaults:
            default = payload_help.get(spec.defaults[key], spec.defaults[key])
            text = f"{text.rstrip('.')} (default: {default})."
        out.append(Option(f"d_{name}_{key}", f"--{flag}", text, field=name, key=key))
    if spec.bills:
        out.append(
            Option(
                f"d_{name}_bl",
                "--bl",
                "A bill of lading CARRIER:NUMBER in the set (repeatable).",
                repeat=True,
                field=name,
                key="bl",
            )
        )
    return out


def schema_options(schema: Schema) -> list[Option]:
    """The typed options of a payload schema (see the module docstring)."""
    filled = {
        target
        for spec in schema.fields.values()
        if isinstance(spec, Fingerprints)
        for target in spec.fills
    }
    names = {n: (f.option or n.replace("_", "-")) for n, f in schema.fields.items()}
    out: list[Option] = []
    for name, spec in schema.fields.items():
        if name in filled:
            continue
        if isinstance(spec, Fingerprints):
            out.extend(document_options(name, spec, names))
        elif isinstance(spec, Documents):
            out.append(
                Option(
                    f"f_{name}",
                    _flag(name, spec),
                    (spec.help or "A document to hash.") + " (repeatable)",
                    repeat=True,
                    field=name,
                )
            )
        elif (
            isinstance(spec, _SCALARS)
            or (isinstance(spec, ListOf) and isinstance(spec.item, _SCALARS))
            or (isinstance(spec, MapOf) and isinstance(spec.value, _SCALARS))
        ):
            text = spec.help or f"{name} ({type(spec).__name__.lower()})"
            if not spec.required:
                text = f"{text.rstrip('.')} (optional)."
            out.append(Option(f"f_{name}", _flag(name, spec), text, field=name))
    return out


def _invoice(spec: Fingerprints, values: Mapping[str, Any], payload: Mapping[str, Any]) -> Any:
    from gateway.scenario import DocumentSet

    given = {key: values.get(key) for key in spec.options}
    currency = given.get("currency") or "CNY"
    missing = [
        f"--{spec.options[k]}"
        for k in ("seller", "buyer", "number", "issued_on")
        if not given.get(k)
    ]
    if missing:
        raise typer.BadParameter(f"the invoice needs {', '.join(missing)}")
    if given.get("amount"):
        amount = parse_minor(str(given["amount"]), decimals_of(currency))
    elif "amount" in spec.defaults and isinstance(payload.get(spec.defaults["amount"]), int):
        amount = payload[spec.defaults["amount"]]
    else:
        raise typer.BadParameter(f"the invoice needs --{spec.options['amount']}")
    invoice = Invoice(
        str(given["seller"]),
        str(given["buyer"]),
        str(given["number"]),
        str(given["issued_on"]),
        amount,
        currency,
    )
    others = []
    for bl in values.get("bl") or []:
        carrier, sep, number = bl.partition(":")
        if not sep:
            raise typer.BadParameter("--bl takes CARRIER:NUMBER")
        others.append(Document("bill_of_lading", carrier, number))
    return DocumentSet(invoice, tuple(others))


def from_options(
    schema: Schema, options: list[Option], values: Mapping[str, Any], base: Mapping[str, Any]
) -> dict[str, Any]:
    """The payload inputs the typed options give, over ``base`` (``--payload``/``--set``)."""
    out = dict(base)
    documents: dict[str, dict[str, Any]] = {}
    for option in options:
        value = values.get(option.param)
        if value is None or value == [] or (option.boolean and value is False):
            continue
        if option.key:
            documents.setdefault(option.field, {})[option.key] = value
            continue
        spec = schema.fields[option.field]
        if isinstance(spec, Documents):
            out[option.field] = [Path(v) for v in value]
        else:
            out[option.field] = spec.parse(option.field, value)
    for name, given in documents.items():
        spec = schema.fields[name]
        assert isinstance(spec, Fingerprints)
        if spec.document is None:
            out[name] = _invoice(spec, given, out)
            continue
        try:
            out[name] = spec.document.build(given)
        except ScenarioError as exc:
            raise typer.BadParameter(str(exc)) from None
    return out


def read_payload(schema: Schema, payload_file: Path | None, sets: list[str]) -> dict[str, Any]:
    """``--payload FILE.json`` then ``--set FIELD=VALUE`` options, as schema values."""
    out: dict[str, Any] = {}
    if payload_file is not None:
        loaded = json.loads(payload_file.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise typer.BadParameter("a payload file holds one JSON object", param_hint="--payload")
        out.update(schema.from_json(loaded))
    seen: set[str] = set()
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
        if name in seen:
            raise typer.BadParameter(f"{name} given twice", param_hint="--set")
        seen.add(name)
        if isinstance(spec, Documents) and text.startswith("@"):
            out[name] = [Path(text[1:])]
            continue
        try:
            out[name] = spec.parse(name, text)
        except Exception as exc:  # a field's own parse error, shown as a usage error
            raise typer.BadParameter(str(exc), param_hint="--set") from None
    return out


def command(
    params: list[inspect.Parameter], body: Callable[..., None], doc: str
) -> Callable[..., None]:
    """A function typer reads as a command with exactly ``params``."""

    def run(**kwargs: Any) -> None:
        body(**kwargs)

    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__doc__ = doc
    return run
