"""The `ethos` commands, by name: one module each (run, evaluate, records, personas, data)."""

from __future__ import annotations

from ethos.cli.dataset import data_command
from ethos.cli.evaluate import eval_command, score_command
from ethos.cli.personas import personas_command
from ethos.cli.review import report_command, runs_command, trace_command, view_command
from ethos.cli.run import run_command
from ethos.cli.study import study_command

COMMANDS = {
    "run": run_command,
    "eval": eval_command,
    "study": study_command,
    "score": score_command,
    "report": report_command,
    "view": view_command,
    "runs": runs_command,
    "trace": trace_command,
    "personas": personas_command,
    "data": data_command,
}
