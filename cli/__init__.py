"""The `ethos` command line: run the persona graph on a situation, a question or a VITAL item.

`parsing.py` builds the parser; each command has its module (`commands.py` names them); `render.py`
prints.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys

from ethos import settings
from ethos.cli.commands import COMMANDS
from ethos.cli.common import default_runs_dir, start_telemetry
from ethos.cli.config_file import with_config
from ethos.cli.parsing import build_parser
from ethos.cli.render import configure_output
from ethos.errors import EthosError
from ethos.redaction import NeutralStream, redact

__all__ = ["main", "build_parser", "default_runs_dir"]


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 done; 1 a runtime failure (an endpoint, a model, failed eval items); 2 a usage
    or input error (a flag, a file, an item); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM,
    as Slurm, systemd and `docker stop` send). `--debug` or ETHOS_DEBUG=1 also prints the traceback."""

    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = NeutralStream(sys.stdout), NeutralStream(sys.stderr)  # outside text never drives the terminal

    process = argv is None  # the `ethos` program itself, not a caller in Python
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or settings.debug()
    argv = [a for a in argv if a != "--debug"]
    if process:  # SIGTERM stops as Ctrl-C does: items in flight recorded as interrupted, the way to resume said
        signal.signal(signal.SIGTERM, _terminated)
    try:
        parser = build_parser()
        with_config(argv, parser)  # the parser lists plugin modes: a broken plugin fails here
        args = parser.parse_args(argv)
        _check_text(args)
        configure_output(args)
        if args.command in ("run", "eval"):
            start_telemetry(args)
        return COMMANDS[args.command](args)
    except SystemExit as exc:  # argparse: --help (0) or a usage error it has printed (2)
        return exc.code if isinstance(exc.code, int) else 2
    except EthosError as exc:
        _debug_traceback(debug)
        print(f"ethos: error: {_bounded(redact(str(exc)))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # a command that knows the way to continue says it; else the general one
        print(
            f"ethos: {exc.args[0] if exc.args else 'interrupted; finished work is saved (rerun the same command to continue)'}",
            file=sys.stderr,
        )
        code = 143 if isinstance(exc, Terminated) else 130
        if process:
            _exit_now(code)
        return code
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except sqlite3.Error as exc:  # a checkpoint or cache database on a full or read-only disk
        _debug_traceback(debug)
        print(f"ethos: error: a SQLite database of the runs folder failed ({exc}): is its disk full or read-only?", file=sys.stderr)
        return 1
    except OSError as exc:  # a disk or permission problem outside the checked paths
        _debug_traceback(debug)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"ethos: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line, and the way to the traceback
        _debug_traceback(debug)
        print(
            f"ethos: internal error: {exc.__class__.__name__}: {redact(str(exc))[:300]} "
            f"(a bug in EthosAgents: rerun with --debug and report the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        sys.stdout, sys.stderr = streams
        if "ethos.graph.telemetry" in sys.modules:
            sys.modules["ethos.graph.telemetry"].flush()  # spans of a failed run are sent too


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that every command stops the same way."""


def _terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the bookkeeping short
    raise Terminated()


def _check_text(args) -> None:
    """Text arguments are UTF-8: bytes that are not arrive as lone surrogates (paths may hold them;
    a situation, a target or a name may not), and are refused by flag instead of failing later."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and any("\udc80" <= c <= "\udcff" for c in text):
                flag = {"text": "the situation text", "name": "the persona name", "run_id": "the run id", "targets": "the view target"}.get(
                    name, "--" + name.replace("_", "-")
                )
                raise EthosError(f"{flag}: not valid UTF-8 text (check the terminal's or the script's encoding)")


def _exit_now(code: int) -> None:
    """Exit without waiting for model calls still in flight in worker threads (an interrupted eval
    has recorded them as interrupted): the interpreter would otherwise join each thread, and a hung
    call would hold the prompt for its whole timeout."""
    import threading

    # daemon threads too (a study's model threads): the interpreter's own shutdown would stop them inside a model call
    if any(t.is_alive() for t in threading.enumerate() if t is not threading.current_thread()):
        if "ethos.graph.telemetry" in sys.modules:
            sys.modules["ethos.graph.telemetry"].flush()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def _bounded(message: str, limit: int = 2000) -> str:
    """An error line of a sensible length: an endpoint's 5 MB error body is not a message."""
    return message if len(message) <= limit else message[:limit] + f"... ({len(message) - limit} more characters)"


def _debug_traceback(debug: bool) -> None:
    if debug:
        import traceback

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
