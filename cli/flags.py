"""The command line's flag types, each naming the flag and its rule in one line at any size of
value, and the groups of flags several commands share."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ethos.agents.models import SPEC_HELP
from ethos.evaluation.spec import EVAL_CONCURRENCY, PARSERS
from ethos.graph.context import EVAL_DEFAULTS
from ethos.graph.setting import INT_MAX, shown
from ethos.versions import package_version


class HelpFormatter(argparse.HelpFormatter):
    """Help lines wrapped between words only: a name such as `no-target-persona` is never broken."""

    def _split_lines(self, text, width):
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line, not a usage dump; a mistyped flag gets the one meant
        self.exit(2, f"ethos: error: {message}{self._did_you_mean(message)} (see `{self.prog} --help`)\n")

    def parse_known_args(self, args=None, namespace=None):
        self._argv = list(sys.argv[1:] if args is None else args)  # which command an unknown flag was given to
        return super().parse_known_args(args, namespace)

    def _did_you_mean(self, message: str) -> str:
        import difflib

        if not message.startswith("unrecognized arguments: "):
            return ""
        command, actions = self._chosen()
        flags = [flag for action in actions for flag in action.option_strings if flag.startswith("--")]
        for word in message.removeprefix("unrecognized arguments: ").split():
            typed = word.split("=")[0]
            if not typed.startswith("--"):
                continue
            swapped = [flag for flag in flags if sorted(flag) == sorted(typed)]  # two letters swapped: --modle is --model
            close = swapped or difflib.get_close_matches(typed, flags, n=1, cutoff=0.75)
            if close:
                return f": did you mean {close[0]}?"
            return f": `{command}` has no {shown(typed)[1:-1]}" if command else ""
        return ""

    def _chosen(self) -> tuple[str, list[argparse.Action]]:
        """The command the arguments chose (`ethos data fetch`) and its options with the program's own:
        a suggestion names only a flag that command has (argparse reports unknown flags from the top)."""
        parser, words, actions = self, [self.prog], list(self._actions)
        for word in getattr(self, "_argv", []):
            found = next(
                (a.choices[word] for a in parser._actions if isinstance(a, argparse._SubParsersAction) and word in a.choices), None
            )
            if found is not None:
                parser, words = found, [*words, word]
                actions += found._actions
        return (" ".join(words) if parser is not self else ""), actions


def integer(low: int = 1, high: int = INT_MAX):
    """An argparse type: an integer in [low, high]; argparse names the flag in its message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {shown(text)}") from None
        if not low <= value <= high:
            bound = f"at least {low}" if value < low else f"at most {high}" if high == INT_MAX else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {shown(value)}")
        return value

    return parse


def number(low: float = 0.0, high: float = math.inf, *, above: bool = False):
    """An argparse type: a finite number in [low, high], or above `low` (nan and inf are refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected a number, got {shown(text)}") from None
        if not (math.isfinite(value) and (value > low if above else low <= value <= high)):
            bound = f"above {low:g}" if above else f"between {low:g} and {high:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {shown(text)}")
        return value

    return parse


def setting_type(name: str, kind: str):
    """An argparse type for a run setting: the number, checked by the setting's own field
    (`Context.check`), so that a flag and a context give the same message."""

    def parse(text: str):
        from ethos.graph.context import Context

        try:
            value = int(text) if kind == "int" else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind == 'int' else 'a number'}, got {shown(text)}") from None
        try:
            return Context.check(name, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def path(text: str) -> Path:
    """An argparse type: a path that is not empty (`"$ETHOS_PERSONA_DIR"` with the variable unset is
    no path, not the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path (is the variable you gave unset?)")
    return Path(text)


def values_list(kind=str):
    """An argparse type: comma-separated values of `kind` (model specs, seeds)."""

    def parse(text: str) -> list:
        try:
            values = [kind(n.strip()) for n in text.split(",") if n.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {'whole numbers' if kind is int else 'values'}") from None
        if not values:
            raise argparse.ArgumentTypeError("an empty list")
        return values

    return parse


def comma_list(choices, every: str | None = None):
    """An argparse type: one or more comma-separated names from `choices` (`every` stands for all)."""

    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        if every and every in names:
            return list(choices)
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            what = f"unknown {unknown[0]!r}" if unknown else "an empty list"
            raise argparse.ArgumentTypeError(f"{what}: choose from {', '.join(choices)}{f' or {every}' if every else ''} (comma-separated)")
        return list(dict.fromkeys(names))

    return parse


# The run settings a command sets otherwise than `Context` does: its help shows them, and
# `common.context_from` applies them (eval's table can stand beside the published ones).
COMMAND_DEFAULTS = {"eval": EVAL_DEFAULTS}


def add_model_arguments(parser: argparse.ArgumentParser, command: str = "run") -> None:
    """The run settings' flags, made from `graph/context.py`'s `Context` (help, bounds and defaults
    live there, once), with the command's own defaults, plus the CLI's own conveniences."""
    from ethos.graph.context import Context

    groups = {
        "models": parser.add_argument_group("models", f"a model spec is one of: {SPEC_HELP}"),
        "method settings": parser.add_argument_group("method settings (defaults follow the published method)"),
    }
    groups["models"].add_argument("--model", metavar="SPEC", help="model for every role (default: embedded, or $ETHOS_MODEL)")
    for name, s in Context.settings().items():
        if not s["flag"]:
            continue
        value = COMMAND_DEFAULTS.get(command, {}).get(name, s["default"])
        shown = value not in (None, []) and s["type"] != "list" and "default" not in s["help"]  # a model's help says its own
        default = f" (default {value})" if shown else ""
        options: dict = {
            "dest": name,
            "help": s["help"] + default,
            "default": None,
            "metavar": s["metavar"] or "NAME",
        }  # None: the Context's default
        if s["type"] == "list":
            options |= {"action": "append", "default": []}
        elif s["choices"]:
            options |= {"choices": s["choices"], "metavar": None}
        elif s["type"] in ("int", "float"):
            options |= {"type": setting_type(name, s["type"]), "metavar": "N" if s["type"] == "int" else "X"}
        groups[s["group"]].add_argument(s["flag"], **options)
    groups["method settings"].add_argument(
        "--max-concurrency",
        type=integer(1, 1024),
        metavar="N",
        help=f"persona agents (run; default: all at once) or items (eval; default {EVAL_CONCURRENCY}, measured in docs/scaling.md) in flight at once",
    )
    add_runs_arguments(parser)
    add_otel_argument(parser)
    parser.add_argument("--no-cache", action="store_true", help="call the models even where the model-call cache has the answer")
    parser.add_argument(
        "--prices", type=path, metavar="FILE", help='JSON price table {"MODEL": {"input": USD/1M, "output": USD/1M}} for cost'
    )


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument(
        "--parser",
        choices=list(PARSERS),
        default=PARSERS[0],
        help="steerable ValueKaleidoscope answers: the reference evaluation's rules (default) or a leading letter only",
    )


def add_otel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--otel",
        metavar="URL",
        help="export each run's spans (OpenInference) to an OTLP/HTTP receiver such as Arize "
        "Phoenix, e.g. http://127.0.0.1:6006 (default: $OTEL_EXPORTER_OTLP_ENDPOINT, or off)",
    )


def add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        type=path,
        metavar="DIR",
        help="records (DIR/runs/RUN_ID), checkpoints, cache and evaluations (default: $ETHOS_RUNS_DIR or ~/.local/share/ethosagents)",
    )


def version() -> str:

    return package_version()
