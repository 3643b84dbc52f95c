"""Benchmark: `ethos run` (Overton, embedded model) side by side with a seed-style sequential pipeline.

The baseline does what the seed repository did, on llama-cpp-python with one stream: one persona
call, six comment calls one after another, one moderator call. It uses this project's prompts, the
same persona grammar, the same budgets (480 / 200 / 200 new tokens) and temperatures, and the same
model file; a second baseline leg makes `ethos run`'s persona requests (repetition penalty, a set
with a copy asked for again). Each leg runs in its own process, alternating, `--repeats` times;
`ethos run`'s wall time includes its process start, and so does the baseline's.

    .venv/bin/python bench/bench_seed_pipeline.py [--repeats 2] [--situation TEXT]
    .venv/bin/python bench/bench_seed_pipeline.py --decode    # the decode ceiling only
    .venv/bin/python bench/bench_seed_pipeline.py --skip-serial --before DIR    # DIR/ethos: an earlier checkout

Prints per leg: wall seconds, new tokens, comment-phase seconds and throughput, prompt tokens
read and reused, peak RSS; the ratios against the baseline (medians); then where the time goes:
process start and model load, the persona phase (with its tokens: `ethos run` asks again for a
persona set with a copy, as the published code does; the baseline never does), the comments and
the moderator.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."
# Runs `ethos` and writes its peak RSS (KB) to a file when it exits.
WITH_RSS = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
    "from ethos.cli import main\n"
    "sys.exit(main(sys.argv[2:]))"
)


def baseline(situation: str, same_personas: bool = False) -> dict:
    """The seed-style pipeline, in this process (run with --baseline). `same_personas`: its persona
    requests are `ethos run`'s (repetition penalty, up to --persona-attempts full requests)."""
    import resource

    started = time.perf_counter()
    from llama_cpp import Llama, LlamaGrammar

    from ethos.agents.models.embedded import embedded_gguf_path
    from ethos.agents.prompts import comment_messages, overton_messages
    from ethos.graph.context import Context
    from ethos.personas.format import persona_grammar
    from ethos.personas.generation import generate_personas
    from ethos.personas.library import load_library
    from ethos.personas.seed_prompt import persona_messages

    ctx = Context()
    llm = Llama(model_path=str(embedded_gguf_path()), n_ctx=4096, n_threads=os.cpu_count(), verbose=False)
    # Not base.chat_dicts: it takes LangChain messages, and importing LangChain would slow the baseline.
    dicts = lambda messages: [{"role": {"human": "user"}.get(k, k), "content": t} for k, t in messages]  # noqa: E731
    usage = {"prompt": 0, "new": 0}

    def chat(messages, max_tokens, temperature, seed, grammar=None, repeat_penalty=1.0) -> str:
        out = llm.create_chat_completion(
            dicts(messages), max_tokens=max_tokens, temperature=temperature, seed=seed, grammar=grammar, repeat_penalty=repeat_penalty
        )
        usage["prompt"] += out["usage"]["prompt_tokens"]
        usage["new"] += out["usage"]["completion_tokens"]
        return out["choices"][0]["message"]["content"] or ""

    grammar = LlamaGrammar.from_string(persona_grammar(ctx.n_personas), verbose=False)
    first = time.perf_counter()
    penalty, attempts = (ctx.persona_repeat_penalty, ctx.persona_attempts) if same_personas else (1.0, 1)
    personas, report = generate_personas(
        lambda ask: (
            chat(
                persona_messages(situation, ctx.n_personas),
                ctx.persona_tokens,
                ctx.persona_temperature,
                ctx.seed + ask.attempt,
                grammar,
                penalty,
            ),
            None,
        ),
        n=ctx.n_personas,
        attempts=attempts,
        library=list(load_library()),
    )
    phase = time.perf_counter()
    persona_seconds, persona_tokens = phase - first, usage["new"]
    comments = [
        {"text": chat(comment_messages(p, situation, []), ctx.comment_tokens, ctx.comment_temperature, ctx.seed + i)}
        for i, p in enumerate(personas)
    ]
    comment_seconds, comment_tokens = time.perf_counter() - phase, usage["new"] - persona_tokens
    moderator = time.perf_counter()
    chat(overton_messages(situation, comments), ctx.moderator_tokens, ctx.moderator_temperature, ctx.seed)
    return {
        "generated": report.generated,
        "seconds_in_process": time.perf_counter() - started,
        "calls_seconds": time.perf_counter() - first,
        "persona_seconds": persona_seconds,
        "persona_tokens": persona_tokens,
        "moderator_seconds": time.perf_counter() - moderator,
        "new_tokens": usage["new"],
        "prompt_tokens": usage["prompt"],
        "comment_seconds": comment_seconds,
        "comment_tokens": comment_tokens,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def decode_rate(leg: str) -> float:
    """New tokens/s with prompts too short to matter: six 150-token greedy replies, from
    llama-cpp-python one after another ("single") or as one batch in the engine ("batched")."""
    import threading

    prompts = [f"<|im_start|>user\nWrite about hospital ethics, part {i}.<|im_end|>\n<|im_start|>assistant\n" for i in range(6)]
    if leg == "single":
        from llama_cpp import Llama

        from ethos.agents.models.embedded import embedded_gguf_path

        llm = Llama(model_path=str(embedded_gguf_path()), n_ctx=1024, n_threads=os.cpu_count(), verbose=False)
        started = time.perf_counter()
        new = sum(
            llm.create_completion(p, max_tokens=150, temperature=0.0, stop=["<|im_end|>"])["usage"]["completion_tokens"] for p in prompts
        )
        return new / (time.perf_counter() - started)
    from ethos.agents.models import load_backend

    chat = load_backend("embedded").chat
    done: list = [None] * 6

    def submit(i: int) -> None:
        done[i] = chat.engine.submit(chat._llm.tokenize(prompts[i].encode(), add_bos=False, special=True), max_tokens=150)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(d.completion_tokens for d in done) / (time.perf_counter() - started)


def run_baseline(situation: str, *flags: str) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--baseline", "--situation", situation, *flags], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"bench: the baseline failed: {out.stderr[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]) | {"wall": time.perf_counter() - started}


def run_ethos(situation: str, runs_dir: Path, *flags: str, code: Path | None = None) -> dict:
    """`code`: a folder holding an `ethos` package (another checkout) to run instead of this one."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    rss_file = runs_dir / "rss"
    env = os.environ | ({"PYTHONPATH": str(code)} if code else {})
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", WITH_RSS, str(rss_file), "run", "--json", "--no-cache", "--runs-dir", str(runs_dir), *flags, situation],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    if out.returncode:
        raise SystemExit(f"bench: ethos run failed: {out.stderr[-800:]}")
    result = json.loads(out.stdout)
    spans = [json.loads(line) for line in (runs_dir / "runs" / result["run_id"] / "trace.jsonl").read_text().splitlines()]
    exchanges = [s for s in spans if s.get("kind") == "exchange"]
    when = lambda s: datetime.fromisoformat(s).timestamp()  # noqa: E731

    def seconds(role: str | None = None) -> float:  # from the first call's start to the last call's end
        calls = [s for s in exchanges if role in (None, s["role"])]
        return max(when(s["end"]) for s in calls) - min(when(s["start"]) for s in calls)

    roles = result["usage"]["by_role"]
    return {
        "wall": wall,
        "seconds_in_process": result["seconds"],
        "new_tokens": result["usage"]["new_tokens"],
        "prompt_tokens": sum(r["input_tokens"] for r in roles.values()),
        "calls_seconds": seconds(),
        "persona_seconds": seconds("persona_generator"),
        "persona_tokens": roles["persona_generator"]["output_tokens"],
        "comment_seconds": seconds("persona_agent"),
        "comment_tokens": roles["persona_agent"]["output_tokens"],
        "moderator_seconds": seconds("overton_moderator"),
        "rss_mb": int(rss_file.read_text()) / 1024,
        "fallbacks": result["fallbacks"],
        "generated": result["persona_report"]["generated"],
        "texts": hashlib.sha256(
            json.dumps([result["personas"], result["comments"], result["result"]], sort_keys=True).encode()
        ).hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--situation", default=SITUATION)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--same-personas", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--decode", action="store_true", help="only the decode ceiling: one stream against six in one batch")
    parser.add_argument("--before", type=Path, help="a folder whose `ethos` is an earlier checkout: its runs join the table")
    parser.add_argument("--skip-serial", action="store_true", help="leave out the one-call-at-a-time leg")
    parser.add_argument("--decode-leg", choices=["single", "batched"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        print(json.dumps(baseline(args.situation, args.same_personas)))
        return
    if args.decode_leg:
        print(decode_rate(args.decode_leg))
        return
    if args.decode:  # each leg in its own process, alternating
        rates: dict[str, list[float]] = {"single": [], "batched": []}
        for _ in range(args.repeats):
            for leg in rates:
                out = subprocess.run([sys.executable, __file__, "--decode-leg", leg], capture_output=True, text=True, check=True)
                rates[leg].append(float(out.stdout.strip().splitlines()[-1]))
        single, batched = statistics.median(rates["single"]), statistics.median(rates["batched"])
        print(
            f"llama-cpp-python, one stream {single:7.1f} new tokens/s; engine, six in one batch {batched:7.1f} (median of {args.repeats})"
        )
        print(f"ratio x{batched / single:.2f}")
        return
    # "one call at a time" is ethos run with batching out of the picture (--max-concurrency 1).
    legs = {
        "seed-style pipeline": lambda tmp: run_baseline(args.situation),
        # The same pipeline with ethos run's persona requests: repetition penalty, a set with a copy asked for again.
        "  same persona requests": lambda tmp: run_baseline(args.situation, "--same-personas"),
        "ethos run": lambda tmp: run_ethos(args.situation, tmp),
        "  --decoding fast": lambda tmp: run_ethos(args.situation, tmp, "--decoding", "fast"),
        "  one call at a time": lambda tmp: run_ethos(args.situation, tmp, "--max-concurrency", "1"),
    }
    if args.skip_serial:
        del legs["  one call at a time"]
    if args.before:  # the same two runs on another checkout, in the same alternation
        legs["before: ethos run"] = lambda tmp: run_ethos(args.situation, tmp, code=args.before)
        legs["before: --decoding fast"] = lambda tmp: run_ethos(args.situation, tmp, "--decoding", "fast", code=args.before)
    rows: dict[str, list[dict]] = {leg: [] for leg in legs}
    with tempfile.TemporaryDirectory(prefix="ethos-seed-bench-") as tmp:
        for i in range(args.repeats):  # alternate, so that machine noise hits every leg alike
            for n, (leg, run) in enumerate(legs.items()):
                rows[leg].append(run(Path(tmp) / f"{n}-{i}"))
            print(
                f"  repeat {i + 1}: " + ", ".join(f"{leg.strip()} {runs[-1]['wall']:.1f} s" for leg, runs in rows.items()), file=sys.stderr
            )
    med = {
        leg: {k: statistics.median(r[k] for r in runs) for k in runs[0] if k not in ("fallbacks", "texts")} for leg, runs in rows.items()
    }
    print(f"Overton run on the embedded model, {os.cpu_count()} cores, median of {args.repeats}")
    print(f"{'':<22}{'wall s':>8}{'new tok':>9}{'tok/s':>7}{'comments s':>12}{'comment tok/s':>15}{'prompt tok':>12}{'peak RSS MB':>13}")
    for leg, m in med.items():
        print(
            f"{leg:<22}{m['wall']:>8.1f}{m['new_tokens']:>9.0f}{m['new_tokens'] / m['wall']:>7.1f}{m['comment_seconds']:>12.1f}"
            f"{m['comment_tokens'] / m['comment_seconds']:>15.1f}{m['prompt_tokens']:>12.0f}{m['rss_mb']:>13.0f}"
        )
    base, ours = med["seed-style pipeline"], med["ethos run"]
    print(
        f"ethos run / baseline: wall x{ours['wall'] / base['wall']:.2f} (goal <= 0.9), "
        f"comment-phase throughput x{(ours['comment_tokens'] / ours['comment_seconds']) / (base['comment_tokens'] / base['comment_seconds']):.2f} (goal >= 2), "
        f"peak RSS {ours['rss_mb']:.0f} MB (goal <= 400)"
    )
    same = med["  same persona requests"]
    print(
        f"ethos run / baseline with the same persona requests: wall x{ours['wall'] / same['wall']:.2f}; "
        f"generated personas: baseline {base['generated']:.0f}, with the same requests {same['generated']:.0f}, ethos run {ours['generated']:.0f}"
    )
    fast = med["  --decoding fast"]
    print(f"exact / fast: wall x{ours['wall'] / fast['wall']:.2f} (goal <= 1.03), peak RSS {ours['rss_mb'] - fast['rss_mb']:+.0f} MB")
    if args.before:
        was = med["before: ethos run"]
        print(
            f"before: exact / fast wall x{was['wall'] / med['before: --decoding fast']['wall']:.2f}, "
            f"peak RSS {was['rss_mb'] - med['before: --decoding fast']['rss_mb']:+.0f} MB; after / before: exact wall x{ours['wall'] / was['wall']:.2f}, "
            f"peak RSS {ours['rss_mb']:.0f} MB against {was['rss_mb']:.0f}"
        )
        for leg in ("ethos run", "  --decoding fast"):  # fast decoding is not meant to repeat even within one checkout
            within = len({r["texts"] for r in rows[leg]}) == 1
            across = len({r["texts"] for r in rows[leg] + rows[f"before: {leg.strip()}"]}) == 1
            print(
                f"{leg.strip()}: personas, comments and result {'identical' if within else 'DIFFER'} between repeats, "
                f"{'identical' if across else 'DIFFER'} before and after"
            )
    # Where the time goes: process start and model load (before the first call), then each phase.
    print(f"\n{'phases, seconds':<22}{'start':>8}{'personas':>10}{'persona tok':>13}{'comments':>10}{'moderator':>11}")
    for leg, m in med.items():
        print(
            f"{leg:<22}{m['wall'] - m['calls_seconds']:>8.1f}{m['persona_seconds']:>10.1f}{m['persona_tokens']:>13.0f}"
            f"{m['comment_seconds']:>10.1f}{m['moderator_seconds']:>11.1f}"
        )
    if "  one call at a time" in med:
        print(f"batched / one call at a time: wall x{ours['wall'] / med['  one call at a time']['wall']:.2f}")
    print("ethos run fallbacks: " + "; ".join(json.dumps(r["fallbacks"]) for r in rows["ethos run"]))


if __name__ == "__main__":
    main()
