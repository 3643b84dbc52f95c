"""How a run setting is declared (`setting`, used by `context.Context`'s fields) and how a value
that breaks its rule is worded: one line that names the flag and the rule, at any size of value."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SEED_MAX = 2**32 - 1  # llama.cpp and numpy take 32-bit unsigned seeds
INT_MAX = 2**31 - 1  # budgets reach C code (llama.cpp) as 32-bit integers


def setting(
    default=None,
    *,
    help: str,
    flag: str | None = None,
    factory=None,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    choices: tuple[str, ...] | None = None,
    group: str = "method settings",
    metavar: str | None = None,
    results: bool = True,
    client: bool = False,
    client_high: float | None = None,
    label: bool = True,
):
    """A run setting, described once: its default, its description (the CLI's help and the LangGraph
    server's context schema), its flag and its bounds. Pydantic checks the bounds of every context,
    and the CLI's flag types check a value through the same field (`Context.check`).

    What the rest of the project needs to know of it is declared here too, and read from here only:
    - `results`: whether it changes what a run computes, so that it belongs to an evaluation
      folder's identity (`evaluation/identity.py`); endpoint settings and retries do not;
    - `client`: whether a client of a served graph may set it (`served.py`), within `client_high`;
    - `label`: whether a row label names it where rows differ in it (`evaluation/summary.py`); the
      method, protocol, ablations and models are named by the label's own parts."""
    cli = {
        "flag": flag,
        "low": low,
        "high": high,
        "positive": positive,
        "choices": choices,
        "group": group,
        "metavar": metavar,
        "results": results,
        "client": client,
        "client_high": client_high,
        "label": label and results,
    }
    bounds = {"gt": 0} if positive else {"ge": low, "le": high} if low is not None else {}
    given = {"default_factory": factory} if factory else {"default": default}
    return Field(**given, description=help, json_schema_extra={CLI: cli}, **bounds)


CLI = "x-ethos-cli"  # where a setting keeps its flag; left out of the served schema


def describe_schema(schema: dict, cls) -> None:
    """The context schema LangGraph serves: each setting with its description and bounds, and no CLI detail."""
    for prop in schema.get("properties", {}).values():
        prop.pop(CLI, None)


def shown(value, limit: int = 40) -> str:
    """A value in an error line: whole numbers as they are, others as Python writes them, cut at `limit`
    characters (a 400-digit number or a 2 MB text gives one short line)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:  # str() refuses past 4,300 digits
        digits = math.floor(math.log10(abs(value))) + 1
        return f"a number of {digits - (10 ** (digits - 1) > abs(value))} digits"  # log10 rounds 10**400 - 1 up to 400
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def message(error: dict, info: dict, name: str, *, flag: bool = True) -> str:
    """A pydantic error as this project words it: `--n-personas must be between 1 and 24, got 0`.
    `info` is the setting's declaration (`Context.settings()[name]`)."""
    where = (info.get("flag") or name) + " " if flag else ""
    value, kind, ctx = error.get("input"), error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown setting {shown(name)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = info.get("low"), info.get("high")
        bound = f"at least {_number(low)}" if high == INT_MAX else f"between {_number(low)} and {_number(high)}"
        return f"{where}must be {bound}, got {shown(value)}"
    if kind == "greater_than":
        return f"{where}must be above 0, got {shown(value)}"
    if kind.startswith("int"):
        return f"{where}must be an integer, got {shown(value)}"
    if kind.startswith(("float", "finite")):
        return f"{where}must be a finite number, got {shown(value)}"
    if kind == "value_error":  # a validator's own words, naming the setting
        return str(ctx.get("error", error["msg"]))
    return f"{where}{error['msg'].lower()}, got {shown(value)}"


_KINDS = {list[str]: "list", bool: "bool", int: "int", float: "float", float | None: "float"}  # what the CLI parses


class Declared(BaseModel):
    """Settings declared with `setting`: each one's description, default, type and CLI detail, read
    from the declarations (so the CLI, the served schema and the help take them from one place)."""

    @classmethod
    def settings(cls) -> dict[str, dict]:
        """Each setting's description, default, type and CLI detail (flag, bounds, choices, group)."""
        out = {}
        for name, f in cls.model_fields.items():
            kind = _KINDS.get(f.annotation, "str")
            default = f.default_factory() if f.default_factory else f.default
            out[name] = {"help": f.description, "default": default, "type": kind, **(f.json_schema_extra or {}).get(CLI, {})}
        return out

    @classmethod
    def declared(cls, what: str) -> tuple[str, ...]:
        """The settings declared `what` (see `setting`): "results", "client" or "label"."""
        return tuple(name for name, about in cls.settings().items() if about.get(what))

    @classmethod
    def check(cls, name: str, value):
        """`value` for setting `name`, checked by its field alone (the CLI's flag types use it)."""
        from typing import Annotated

        from pydantic import TypeAdapter

        f = cls.model_fields[name]
        kind = Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation  # Annotated needs one annotation at least
        try:
            value = TypeAdapter(kind, config=ConfigDict(strict=True, allow_inf_nan=False)).validate_python(value)
        except ValidationError as exc:
            raise ValueError(message(exc.errors()[0], cls.settings()[name], name, flag=False)) from None
        choices = cls.settings()[name]["choices"]
        if choices and value not in choices:
            raise ValueError(f"unknown value {shown(value)}: choose one of {', '.join(choices)}")
        return value
