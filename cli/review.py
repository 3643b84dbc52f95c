"""What runs and evaluations left behind: `ethos runs`, `ethos trace`, `ethos view` and `ethos report`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ethos.agents.models import spec_name
from ethos.cli.common import cut, default_runs_dir
from ethos.cli.render import info, print_table
from ethos.graph.conversation import render_tree
from ethos.graph.records import list_runs, load_record, started
from ethos.inputs import finite, real_number


def runs_command(args) -> int:

    records = [r for r in list_runs(args.runs_dir or default_runs_dir()) if _wanted(r, args)][: args.limit]
    if args.json:
        print(
            json.dumps(
                finite([{k: r.get(k) for k in ("run_id", "kind", "status", "started", "seconds", "request", "tokens")} for r in records])
            )
        )
        return 0
    if not records:
        info("no runs yet")
        return 0
    header = ["run id", "time", "kind", "method", "model", "mode", "status", "tokens", "seconds", "input"]
    table = []
    for r in records:
        request = r.get("request") if isinstance(r.get("request"), dict) else {}
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started(r))) if started(r) else "-"
        tokens = r["tokens"].get("output_tokens", "-") if isinstance(r.get("tokens"), dict) else "-"
        seconds = f"{r['seconds']:.1f}" if real_number(r.get("seconds")) else "-"
        excerpt = cut(" ".join(str(request.get("situation", "")).split()), 50)
        table.append(
            [
                str(r.get("run_id")),
                when,
                str(r.get("kind", "-")),
                _run_context(r).get("method", "-"),
                cut(_model_name(_run_context(r)), 20),
                str(request.get("mode", "-")),
                str(r.get("status", "-")),
                str(tokens),
                seconds,
                excerpt,
            ]
        )
    plain = ["{:<24}", "{:<17}", "{:<7}", "{:<12}", "{:<21}", "{:<15}", "{:<12}", "{:>8}", "{:>9}", "  {}"]
    print_table(header, table, plain, right=(7, 8))
    return 0


def _model_name(context: dict) -> str:
    """The run's models by their own names (`gguf:/m/x.gguf` is x.gguf), one per role that differs."""
    from ethos.graph.context import MODEL_ROLES

    return "+".join(spec_name(str(spec)) for spec in dict.fromkeys(context.get(role) for role in MODEL_ROLES) if spec) or "-"


def _run_context(record: dict) -> dict:
    config = record.get("config")
    context = config.get("context") if isinstance(config, dict) else None
    return context if isinstance(context, dict) else {}


def _wanted(record: dict, args) -> bool:
    """`ethos runs --kind/--method/--status/--model`: every filter given must match."""
    context = _run_context(record)
    from ethos.graph.context import MODEL_ROLES

    models = {context.get(role) for role in MODEL_ROLES}
    return (
        (not args.kind or record.get("kind") == args.kind)
        and (not args.method or context.get("method") == args.method)
        and (not args.status or record.get("status") == args.status)
        and (not args.model or args.model in models)
    )


def trace_command(args) -> int:

    record = load_record(args.runs_dir or default_runs_dir(), args.run_id)
    data = record.data
    if data.get("status") == "running" and not data.get("conversation"):  # still going: what its trace holds so far
        from ethos.graph.tracing import exchanges_so_far

        data = data | {"conversation": exchanges_so_far(record.trace_path)}
        info(f"run {record.run_id} is still running: its exchanges so far, from {record.trace_path.name}")
    print(json.dumps(data, ensure_ascii=False, indent=1) if args.json else render_tree(data, full=args.full))
    return 0


def view_command(args) -> int:
    from ethos.cli.view import write_view

    print(write_view(args.targets, args.runs_dir or default_runs_dir(), args.out, against=args.against))
    return 0


def report_command(args) -> int:
    from ethos.evaluation.report import write_report

    report = write_report(args.run_dirs, args.out or default_report_dir(args.run_dirs), against=args.against)
    print(report)
    return 0


def default_report_dir(run_dirs: list[Path]) -> Path:
    """RUN_DIR/report for one folder; for several, a folder of its own per set of folders compared
    (RUN_DIR/report-ID), so that one comparison's report never replaces another's."""
    if len(run_dirs) == 1:
        return run_dirs[0] / "report"
    import hashlib

    named = "\0".join(sorted(str(d.resolve()) for d in run_dirs))
    return run_dirs[0] / f"report-{hashlib.sha256(named.encode()).hexdigest()[:8]}"
