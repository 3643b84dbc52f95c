"""The `ethos` command line: run the persona graph on a situation, a question or a VITAL item."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

from ethos.errors import EthosError

EXAMPLE = "A family asks a doctor to withhold a terminal diagnosis from their mother."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        self.exit(2, f"ethos: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    from ethos.agents.models import SPEC_HELP
    from ethos.agents.moderators import MODERATORS

    parser = _Parser(prog="ethos", description="Role-driven pluralistic alignment for health care.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="generate personas, draft their comments in parallel, and moderate them",
        description=f'Example: ethos run "{EXAMPLE}"',
    )
    run.add_argument("text", nargs="?", help="the health situation or survey question")
    run.add_argument("--mode", choices=list(MODERATORS), help="how the moderator combines the comments (default: overton)")
    run.add_argument("--target", help="steerable: a value/right/duty, a VITAL group code such as POLPARTY_Democrat, or plain words")
    run.add_argument("--option", action="append", dest="options", metavar="TEXT", help="an answer option (repeat for each)")
    run.add_argument("--attribute", help="distributional: the population answering, e.g. a country")
    run.add_argument("--item", type=Path, metavar="FILE", help="run an item from a file in the VITAL schema")
    run.add_argument("--index", type=int, default=0, metavar="N", help="which item of --item to run (0-based, default 0)")
    run.add_argument("--json", action="store_true", help="print one machine-readable JSON result")
    models = run.add_argument_group("models", f"a model spec is one of: {SPEC_HELP}")
    models.add_argument("--model", help="model for every role (default: embedded, or $ETHOS_MODEL)")
    models.add_argument("--generator-model", help="model that generates the personas")
    models.add_argument("--agent-model", help="model the persona agents use")
    models.add_argument("--moderator-model", help="model the moderator uses")
    models.add_argument("--base-url", help="OpenAI-compatible endpoint for openai:MODEL (key from $OPENAI_API_KEY)")
    budget = run.add_argument_group("method settings (defaults follow the published method)")
    budget.add_argument("--n-personas", type=int, default=6, metavar="N")
    budget.add_argument("--persona-attempts", type=int, default=2, metavar="N", help="generator attempts before library top-up")
    budget.add_argument("--persona-tokens", type=int, default=480, metavar="N")
    budget.add_argument("--comment-tokens", type=int, default=200, metavar="N")
    budget.add_argument("--moderator-tokens", type=int, default=200, metavar="N")
    budget.add_argument("--samples", type=int, default=10, metavar="N", help="samples per estimate when an endpoint gives no logprobs")
    budget.add_argument("--seed", type=int, default=0)
    budget.add_argument("--max-concurrency", type=int, metavar="N", help="persona agents running at once")
    return parser


def _request(args) -> dict:
    from ethos.evaluation.vital import item_request, load_items

    if args.item is not None:
        if args.text:
            raise EthosError("give either the text or --item, not both")
        items = load_items(args.item)
        if not 0 <= args.index < len(items):
            raise EthosError(f"--index {args.index} is out of range: {args.item} has {len(items)} items")
        request = item_request(items[args.index], source=str(args.item), index=args.index)
    else:
        request = {"situation": args.text or ""}
    for key in ("mode", "options", "target", "attribute"):
        if getattr(args, key) is not None:  # flags override what an item says
            request[key] = getattr(args, key)
    return request


def _context(args):
    from ethos.graph.context import Context

    roles = {}
    for role in ("generator_model", "agent_model", "moderator_model"):
        spec = getattr(args, role) or args.model
        if spec:
            roles[role] = spec
    if args.max_concurrency is not None and args.max_concurrency < 1:
        raise EthosError(f"--max-concurrency must be at least 1, got {args.max_concurrency}")
    extra = {"base_url": args.base_url} if args.base_url else {}
    return Context(
        **roles,
        **extra,
        n_personas=args.n_personas,
        persona_attempts=args.persona_attempts,
        persona_tokens=args.persona_tokens,
        comment_tokens=args.comment_tokens,
        moderator_tokens=args.moderator_tokens,
        samples=args.samples,
        seed=args.seed,
    )


def _wrap(text: str, indent: str = "    ") -> str:
    paragraphs = [p for p in text.strip().split("\n") if p.strip()]
    return "\n".join(textwrap.fill(p, width=100, initial_indent=indent, subsequent_indent=indent) for p in paragraphs)


def _print_personas(update: dict) -> None:
    report = update["persona_report"]
    print(
        f"Personas: {len(update['personas'])} ({report['generated']} generated, {report['topped_up']} from the "
        f"library; {report['attempts']} generator attempt(s), {report['rejected_lines']} unparseable line(s), "
        f"{report['duplicates']} duplicate(s))"
    )
    for i, p in enumerate(update["personas"], 1):
        tag = " [library]" if p["source"] == "library" else ""
        print(f"  {i}. {p['name']}{tag}: {p['core_value']}; {p['framework']}; {p['right_or_duty']}; {p['emotion']}; {p['stakeholder']}")
    print("\nComments (as each persona agent finishes):")


def _print_result(state: dict) -> None:
    result = state["result"]
    mode = result["mode"]
    print()
    if mode == "overton":
        print("Overton response:")
        print(_wrap(result["response"]))
    elif mode == "steerable":
        selection = result["selection"]
        print(f"Steerable: target {result['target']!r}")
        print(f"  selected comment {result['selected'] + 1} ({result['selected_persona']}), p = {max(selection['probs']):.2f} [{selection['source']}]")
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


def run_command(args) -> int:
    from langchain_core.callbacks import UsageMetadataCallbackHandler

    from ethos.agents.models import load_backend
    from ethos.graph.builder import graph
    from ethos.graph.state import count_fallbacks, validate_request

    request = validate_request(_request(args))
    context = _context(args)
    for spec in {context.generator_model, context.agent_model, context.moderator_model}:
        load_backend(spec, context.base_url)  # a bad spec or a missing model fails before any work
    usage = UsageMetadataCallbackHandler()
    config = {"callbacks": [usage]}
    if args.max_concurrency:
        config["max_concurrency"] = args.max_concurrency
    started = time.perf_counter()
    if not args.json:
        print(f"Generating {context.n_personas} personas with {context.generator_model} ...", file=sys.stderr)
    state: dict = {}
    for stream_mode, chunk in graph.stream(request, context=context, config=config, stream_mode=["updates", "values"]):
        if stream_mode == "values":
            state = chunk
            continue
        if args.json:
            continue
        for node, update in chunk.items():
            if node == "seed_personas":
                _print_personas(update)
            elif node == "persona_agent":
                for comment in update["comments"]:
                    print(f"  [{comment['index'] + 1}/{context.n_personas}] {comment['persona']}:")
                    print(_wrap(comment["text"], indent="      "))
    seconds = time.perf_counter() - started
    new_tokens = sum(u.get("output_tokens", 0) for u in usage.usage_metadata.values())
    fallbacks = count_fallbacks(state)
    if args.json:
        keys = ("situation", "mode", "options", "target", "attribute", "personas", "persona_report", "comments", "result")
        out = {k: state.get(k) for k in keys} | {
            "fallbacks": fallbacks,
            "usage": {"new_tokens": new_tokens, "by_model": usage.usage_metadata},
            "seconds": round(seconds, 2),
        }
        print(json.dumps(out, ensure_ascii=False))
    else:
        _print_result(state)
        counted = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in fallbacks.items() if v)
        print(f"\nFallbacks: {counted or 'none'}")
        print(f"Done in {seconds:.1f} s: {new_tokens} new tokens ({new_tokens / max(seconds, 1e-9):.0f}/s).", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_command(args)
    except EthosError as exc:
        print(f"ethos: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ethos: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
