"""`ethos study FILE.toml`: every cell of a study (model × task × method × seed), its progress, and
the paper's table (`evaluation/study.py`, `evaluation/study_table.py`); `--dry-run` says what it
will cost before any model is called."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from ethos.cli.common import runs_dir_of, writable_dir
from ethos.cli.render import print_table
from ethos.errors import EthosError, RunFailure
from ethos.evaluation.study_estimate import estimate, power
from ethos.inputs import write_file, write_json


def study_command(args) -> int:
    from ethos.evaluation.study import read_study

    quiet = args.quiet

    def say(message: str) -> None:  # the study's own progress (cells run quiet; -q silences this too)
        if not quiet:
            print(message, file=sys.stderr, flush=True)  # a log file shows each line at once

    if args.detect and not args.dry_run:
        raise EthosError("--detect sizes a study before it runs: add --dry-run")
    if args.dry_run:
        return _dry_run(read_study(args.file, _overrides(args)), runs_dir_of(args), args.detect)
    run_study_file(args.file, _overrides(args) | {"out": args.out}, say, show=True)
    return 0


def run_study_file(path: Path | None, overrides: dict, say, *, show: bool = False) -> list[dict]:
    """Every cell of the study (done ones reused), then its tables: printed with `show`, written as
    study.json, report.md and study.tex, and returned. Exit 1 (RunFailure) after the tables when a
    model stopped or items failed."""
    from ethos.cli.common import default_runs_dir
    from ethos.evaluation.study import read_study
    from ethos.evaluation.study_run import run_study

    out = overrides.pop("out", None)
    study = read_study(path, overrides)
    runs_dir = writable_dir(Path(overrides.get("runs_dir") or default_runs_dir()), "--runs-dir")
    out = writable_dir(Path(out) if out else runs_dir / "study" / (path.stem if path else "study"), "--out")
    say(f"study: {len(study.cells())} cells ({len(study.models)} models × {len(study.tasks)} tasks × {len(study.methods)} methods × "
        f"{len(study.seeds)} seeds); done cells are reused")  # fmt: skip
    stop = threading.Event()
    try:
        results, failures = run_study(study, say, stop)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: every model's items in flight are recorded as interrupted now
        from ethos.evaluation.items import stop_all

        stop.set()
        stop_all(exc)
        raise type(exc)("study stopped; every finished item is kept: rerun the same command to resume") from None
    tables = _write_tables(study, results, out, say, show=show)
    missing = [cell for cell in study.cells() if cell not in results]
    failed = sum(r.get("failed") or 0 for rows in results.values() for r in rows)
    if failures or failed:
        raise RunFailure(
            (f"{len(missing)} cell(s) missing ({missing[0]}{', ...' if len(missing) > 1 else ''}) as {len(failures)} model(s) stopped: "
             + "; ".join(failures)[:1200] + ". " if failures else "")
            + (f"{failed} item(s) failed. " if failed else "")
            + f"The tables in {out} hold the finished cells; rerun the study to resume (done cells are kept)"
        )  # fmt: skip
    return tables


def _overrides(args) -> dict:
    values = {key: getattr(args, key) for key in ("models", "methods", "tasks", "seeds", "against", "data", "limit", "runs_dir", "ray")}
    for assignment in args.set:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise EthosError(f"--set {assignment[:80]!r}: expected KEY=VALUE, e.g. --set n_personas=2")
        values[key.strip()] = _value(value.strip())
    return values


def _value(text: str):
    """A --set value as TOML reads it (2, 0.5, true, ["a", "b"]), else as text."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return text


def _dry_run(study, runs_dir: Path, detect: float | None = None) -> int:

    rows = estimate(study, runs_dir)
    print(f"{len(study.cells())} cells. Calls and prompt tokens: each method's call plan, run with the fake model on 2 items; "
          "output tokens: the calls' budgets (at most); time: earlier results of the same model and method.")  # fmt: skip
    headings = ["model", "task", "method", "items", "calls", "input tokens", "output ≤", "cost ≤ USD", "time"]
    cells = [
        [r["model"], r["task"], r["method"], str(r["items"]), f"{r['calls']:,}", f"{r['input_tokens']:,}", f"{r['output_tokens_at_most']:,}",
         f"{r['cost_usd_at_most']:.4f}" if "cost_usd_at_most" in r else "-", _duration(r.get("seconds"))]
        for r in rows
    ]  # fmt: skip
    print_table(
        headings, cells, ["{:<18}", "{:<30}", "{:<12}", "{:>7}", "{:>9}", "{:>14}", "{:>12}", "{:>12}", "{:>10}"], right=range(3, 9)
    )
    total = {k: sum(r.get(k) or 0 for r in rows) for k in ("calls", "input_tokens", "output_tokens_at_most", "cost_usd_at_most", "seconds")}
    unknown = sum(1 for r in rows if "seconds" not in r)
    # models run at the same time: the study takes about as long as its slowest model
    by_model = {}
    for r in rows:
        by_model[r["model"]] = by_model.get(r["model"], 0) + (r.get("seconds") or 0)
    print(
        f"total: {total['calls']:,} calls, {total['input_tokens']:,} input tokens, at most {total['output_tokens_at_most']:,} output tokens"
        + (f", at most ${total['cost_usd_at_most']:.4f}" if total["cost_usd_at_most"] else "")
        + (f"; about {_duration(max(by_model.values()))} (models in parallel)" if unknown < len(rows) else "")
        + (
            f"; no earlier figures for {unknown} of {len(rows)} rows (their time is not counted: a calibration, "
            "`ethos study FILE --limit 1 --seeds 0`, runs one item of each into the study's own folders)"
            if unknown
            else ""
        )
    )
    _print_power(study, runs_dir, detect)
    return 0


def _print_power(study, runs_dir: Path, detect: float | None) -> None:
    """Each paired comparison's expected precision, from earlier cells (evaluation/power.py)."""

    rows = power(study, runs_dir, detect)
    if not rows:
        return
    print(f"\nPower: the 95% interval of each paired difference expected at the study's questions and seeds, from earlier cells "
          f"of the same model and methods (seeds × questions){f'; questions needed for ±{detect:g}' if detect else ''}:")  # fmt: skip
    for r in rows:
        if "half_width" not in r:
            print(f"  {r['model']} · {r['task']} · {r['comparison']}: no earlier cells of both methods (a calibration run gives them)")
            continue
        need = ""
        if detect:
            need = (f"; ±{detect:g} needs {r['needed']} questions at {r['seeds']} seed(s)" if r["needed"] is not None
                    else f"; ±{detect:g} needs at least {r['seeds_needed']} seeds")  # fmt: skip
        print(f"  {r['model']} · {r['task']} · {r['comparison']}: ±{r['half_width']:.4f} at {r['questions']} questions × "
              f"{r['seeds']} seed(s) (earlier: {r['earlier']}){need}")  # fmt: skip


def _duration(seconds) -> str:
    if seconds is None:
        return "?"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _write_tables(study, results: dict, out: Path, say, *, show: bool) -> list[dict]:
    from ethos.evaluation.study_table import caption, latex, markdown, study_tables, table_rows

    tables = study_tables(study, results)
    for table in tables if show else []:
        headings, rows = table_rows(table)
        print(caption(table))
        print_table(headings, rows, ["{:<34}"] + ["{:<36}"] * (len(headings) - 1))
        print()
    cells = [{"model": c.model.name, "task": c.task, "method": c.method, "seed": c.seed, "folders": [r["path"] for r in rows]}
             for c, rows in results.items()]  # fmt: skip
    write_json(out / "study.json", {"cells": cells, "tables": tables})
    write_file(out / "report.md", f"# Study\n\n{markdown(tables)}")
    write_file(out / "study.tex", latex(tables))
    say(f"study: tables in {out / 'report.md'}, {out / 'study.tex'} and {out / 'study.json'}; a page: ethos view {out}")
    return tables
