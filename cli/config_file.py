"""`ethos eval --config FILE.toml`: a TOML file of eval's settings, keys named as the flags."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from ethos.errors import EthosError
from ethos.inputs import beside, read_text


def with_config(argv: list[str], parser: argparse.ArgumentParser) -> None:
    """`ethos eval --config FILE.toml ...`: the file's keys become eval's defaults, so that a flag
    given on the command line wins. A run setting is checked by its field in `Context`, as any
    context is; one of eval's own options (task, method, data, ...) by its flag's type."""
    if "eval" not in argv:
        return
    found = argparse.ArgumentParser(add_help=False)
    found.add_argument("--config", type=Path)
    path = found.parse_known_args(argv[argv.index("eval") + 1 :])[0].config
    if path is None:
        return
    from ethos.graph.context import RENAMED, Context

    try:
        values = tomllib.loads(read_text(path))
    except RecursionError:
        raise EthosError(f"--config {path}: nested too deeply to be a settings file") from None
    except ValueError as exc:  # a number of thousands of digits
        raise EthosError(f"--config {path}: cannot read it ({str(exc)[:120]})") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EthosError(f"--config {path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    evaluate = parser.eval_parser
    options = vars(evaluate.parse_known_args([])[0])  # every option of eval, with its default
    settings = Context.settings()
    defaults = {}
    for written, value in values.items():
        key = RENAMED.get(written, written)
        value = beside(path, key, value)  # a path in the file is read from its folder
        if key in settings and settings[key]["flag"]:
            try:
                defaults[key] = Context.check(key, value)
            except ValueError as exc:
                raise EthosError(f"--config {path}: '{written}' {exc}") from None
        elif key in options and key not in ("config", "command"):  # eval's own options (its --method lists several)
            defaults[key] = _option_default(path, key, value, options[key])
        else:
            raise EthosError(f"--config {path}: unknown setting '{key}' (settings are eval's flags, e.g. task, method, data, n_personas)")
    evaluate.set_defaults(**defaults)


def _option_default(path: Path, key: str, value, default):
    """A TOML value as an eval option's default: a string, which argparse reads with the flag's type
    as if it were given (a list becomes a comma list); a list for a repeatable flag; true or false for a switch."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise EthosError(f"--config {path}: '{key}' must be true or false")
        return value
    items = value if isinstance(value, list) else [value]
    if isinstance(value, (dict, bool)) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in items):
        raise EthosError(f"--config {path}: '{key}' must be a value or a list of values")
    if isinstance(default, list):  # a repeatable flag
        return [str(v) for v in items]
    return ",".join(str(v) for v in items)
