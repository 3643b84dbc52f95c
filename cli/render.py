"""What the `ethos` command line prints: notes (-q silences them), the personas, comments and results
of a run, the live view on a terminal, and tables (coloured on a terminal, plain when piped)."""

from __future__ import annotations

import json
import sys
import textwrap

from ethos import settings
from ethos.graph.conversation import node_lines, persona_title
from ethos.redaction import outward, raw

_QUIET = False


def info(message: str) -> None:
    """A note on stderr (progress, where things went); -q silences it, never a warning or an error."""
    if not _QUIET:
        print(message, file=sys.stderr, flush=True)  # a log file shows it at once, and keeps it at a kill


def configure_output(args) -> None:
    import logging

    global _QUIET
    _QUIET = bool(getattr(args, "quiet", False))
    logger = logging.getLogger("ethos")
    logger.setLevel(logging.WARNING)
    if getattr(args, "verbose", False):
        handler = next((h for h in logger.handlers if h.get_name() == "ethos-cli"), None)
        if handler is None:
            handler = logging.StreamHandler()
            handler.set_name("ethos-cli")
            handler.setFormatter(logging.Formatter("ethos: %(message)s"))
            logger.addHandler(handler)
        handler.setStream(sys.stderr)  # this command's stderr
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _quote(text: str, limit: int = 60) -> str:
    """A short model reply on one line: cut to `limit` characters, control characters escaped."""
    return json.dumps(text if len(text) <= limit else text[:limit] + "...", ensure_ascii=False)


def _wrap(text: str, indent: str = "    ") -> str:
    paragraphs = [p for p in text.strip().split("\n") if p.strip()]
    return "\n".join(textwrap.fill(p, width=100, initial_indent=indent, subsequent_indent=indent) for p in paragraphs)


def _print_personas(update: dict) -> None:
    report = update["persona_report"]
    extra = "".join(
        f", {report[k]} {label}"
        for k, label in (
            ("from_library", "chosen from the library"),
            ("library_added", "added for coverage"),
            ("target_added", "added to hold the target"),
        )
        if report.get(k)
    )
    how = f" ({report.get('constrained', 0)} constrained, {report.get('parsed', 0)} parsed)" if report["generated"] else ""
    print(
        f"Personas: {len(update['personas'])} ({report['generated']} generated{how}, {report['topped_up']} library top-up(s){extra}; "
        f"{report['attempts']} generator attempt(s), {report['rejected_lines']} unparseable line(s), "
        f"{report.get('example_copies', 0)} copied example(s), {report['duplicates']} duplicate(s))"
    )
    for note in report.get("notes") or []:
        print(f"  note: {note}")
    spread = report.get("diagnostics") or {}
    if spread:
        print(f"  spread: {spread['frameworks']} frameworks, {spread['stakeholders']} stakeholders")
    from ethos.personas.schema import SLOTS

    for i, p in enumerate(update["personas"], 1):
        tag = f" [{p['source']}]" if p["source"] != "constrained" else ""
        print(f"  {i}. {p['name']}{tag}: {'; '.join(str(p[slot]) for slot in SLOTS)}")
    print("\nComments, in the order the persona agents finish (numbered as the personas above; an opening")
    print("'As a ...' clause is left out, as the published method does: `ethos trace` shows each reply whole):")


def print_result(state: dict) -> None:
    result = state["result"]
    mode = result["mode"]
    print()
    if result.get("answered_by"):  # a baseline whose main model answered on its own (graph/methods.py)
        print(f"The main model's answer ({state.get('method')}):")
        if "distribution" in result:
            _print_distribution(state["options"], result["distribution"]["probs"], result["distribution"]["source"])
        else:  # free text, or a generated answer (the reference protocol)
            print(_wrap(result.get("response") or result.get("answer") or ""))
    elif mode == "overton":
        print("Overton response:")
        print(_wrap(result["response"]))
    elif mode == "steerable":
        selection = result["selection"]
        print(f"Steerable: target {result['target']!r}")
        how = f"p = {max(selection['probs']):.2f}" if "probs" in selection else f"reply {_quote(selection['reply'])}"
        print(f"  selected comment {result['selected'] + 1} ({result['selected_persona']}), {how} [{selection['source']}]")
        if "distribution" in result:
            _print_distribution(state["options"], result["distribution"]["probs"], result["distribution"]["source"])
        else:
            print(_wrap(result["answer"]))
    elif mode == "distributional":
        options = result["options"]
        print("Distributional: option probabilities per persona and combined")
        header = "  " + " " * 32 + "".join(f"{label:>8}" for label in result["labels"])
        print(header)
        for row in result["per_persona"]:
            flag = "" if row["source"] == "logprobs" else f"  [{row['source']}]"
            print(f"  {row['persona'][:30]:<32}" + "".join(f"{p:8.3f}" for p in row["probs"]) + flag)
        print(f"  {'combined':<32}" + "".join(f"{p:8.3f}" for p in result["distribution"]))
        for label, option in zip(result["labels"], options):
            print(f"  {label}. {option}")
    else:  # a plugin moderator: show what it returned
        print(json.dumps(result, indent=2, ensure_ascii=False))


def _print_distribution(options: list[str], probs: list[float], source: str) -> None:
    from ethos.agents.prompts import option_labels

    print(f"  answer distribution [{source}]:")
    for label, option, p in zip(option_labels(len(options)), options, probs):
        print(f"    {label}. {option[:60]:<60} {p:.3f}")


def live_view(args, context):
    """The live view, for a person at a terminal (not for --json, --trace, -q, a pipe or TERM=dumb)."""
    if args.json or args.trace or args.quiet or not sys.stdout.isatty() or settings.env("TERM") == "dumb":
        return None
    from ethos.cli.live import LiveView

    return LiveView(context.n_personas)


def show_update(chunk: dict, state: dict, context, exchanges: list | None) -> None:
    """What a node has just written; with `exchanges` (`run --trace`, the run's recorded model
    exchanges so far), its model calls too."""

    def calls(node: str, index: int | None = None) -> list[dict]:
        return [e.as_dict() for e in list(exchanges or []) if e.node == node and (index is None or e.persona_index == index)]

    trace = exchanges is not None
    for node, update in chunk.items():
        if not isinstance(update, dict):
            continue
        if node == "seed_personas":
            if trace:
                print("\n".join(node_lines(f"persona generator ({len(calls(node))} attempt(s))", calls(node), last=False)))
            _print_personas(update)
        elif node in ("seed_communities", "route_expert"):  # a baseline's community agents
            voices = update.get("personas") or []
            print(
                f"Community agents ({'chosen by the router' if node == 'route_expert' else 'all six'}): "
                f"{', '.join(v['name'] for v in voices)}"
            )
            if trace and calls(node):
                print("\n".join(node_lines("router", calls(node), last=False)))
        elif node in ("persona_agent", "community_agent"):
            for comment in update["comments"]:
                if trace:
                    print(
                        "\n".join(
                            node_lines(
                                persona_title(comment["index"], state.get("personas") or []), calls(node, comment["index"]), last=False
                            )
                        )
                    )
                else:
                    print(f"  {comment['index'] + 1}. {comment['persona']}:")
                    print(_wrap(comment["text"], indent="      "))
        elif trace and calls(node):
            print("\n".join(node_lines(node.replace("_", " "), calls(node), last=True)))


def _coloured() -> bool:
    """Colour and boxes for a person at a terminal; plain text when piped or when NO_COLOR is set."""
    return settings.coloured_terminal(sys.stdout)


def print_table(header: list[str], rows: list[list[str]], plain: list[str], right=(), indent: str = "") -> None:
    """A table: coloured with Rich on a terminal; else plain columns (`plain`: a format per column)
    that a script can cut. Cells are outside text (an item's question, a model's name): their control
    and escape characters are shown, never sent, on a terminal as in a pipe."""
    rows = [[outward(cell) for cell in row] for row in rows]
    if not _coloured():
        for row in [header, *rows]:
            print(indent + "".join(f.format(cell) for f, cell in zip(plain, row)))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold cyan", show_edge=False)
    for i, name in enumerate(header):
        table.add_column(
            name, justify="right" if i in right else "left", style="bold" if i == 0 else None, no_wrap=True, overflow="ellipsis"
        )
    for row in rows:
        table.add_row(
            *(Text(cell, style="red" if cell in ("failed", "interrupted") else "") for cell in row)
        )  # Text: "[0.1, 0.2]" is no markup
    Console(file=raw(sys.stdout)).print(table)  # rich strips control codes from the cells itself


def print_metrics(rows: list[dict]) -> None:
    """The evaluation summary of one task's rows, as `ethos eval` ends."""
    from ethos.evaluation.presentation import counted, fmt
    from ethos.evaluation.summary import task_summaries

    (s,) = task_summaries(rows)
    primary = s.columns[0][0].rstrip(" ↑↓")  # the first column is the primary metric, named as the report names it
    print(f"\n{s.task.name}: {primary} ({'higher' if s.higher else 'lower'} is better), 95% bootstrap CI over questions")
    others = s.columns[1:]
    table = [
        [
            label,
            str(r.get("n", "-")),
            str(r.get("n_questions", "-")),
            fmt(r.get(s.metric), r.get(f"{s.metric}_ci")),
            *(fmt(r.get(key)) for _, key in others),
            str(r.get("seconds_per_item") if r.get("seconds_per_item") is not None else "-"),
            counted(r),
        ]
        for r, label in zip(s.rows, s.labels)
    ]
    header = ["method", "items", "quest.", f"{primary} [CI]", *(heading for heading, _ in others), "s/item", "fallbacks, quality signs"]
    width = max(13, *(len(row[0]) + 2 for row in table))
    plain = [
        f"{{:<{width}}}",
        "{:>6}",
        "{:>7}",
        f"  {{:<{max(30, len(header[3]) + 2)}}}",
        *[f"{{:>{max(20, len(heading) + 2)}}}" for heading, _ in others],
        "{:>9}",
        "  {}",
    ]
    print_table(header, table, plain, right=range(1, len(header) - 1), indent="  ")
    for note in s.notes:
        if not note.startswith("intervals:"):  # that one is in the heading
            print(f"  note: {note}")
