"""Benchmark: every method under both protocols, paired on the same items, with cluster intervals.

    .venv/bin/python bench/bench_protocols.py --data ../shared/vital --out /tmp/protocols [--limit 8]
        [--tasks distributional-moralchoice,...] [--protocols reference,ethos] [--analyse-only]

Runs `ethos eval --method all` under `--protocol reference` (with the ablation rows that add each of
this project's choices to ethosagents: ethos-letters, ethos-prompts, ethos-weights) and under
`--protocol ethos`, on the same spread sample, with the embedded model at the published budgets.
The model-call cache is kept, so a call both protocols send alike runs once.

Then prints, per task, each row's primary metric with its 95% interval (bootstrap over questions),
and paired differences on the same items, each with its cluster interval: ethos minus reference for
every method, each ablation row minus ethosagents, and ethosagents minus every baseline under each
protocol. A difference "survives" when its interval leaves out 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ethos.evaluation.coverage import EmbeddingScorer
from ethos.evaluation.groups import question_key
from ethos.evaluation.metrics import bootstrap_ci, js_distance
from ethos.evaluation.tasks import METHODS, TASKS

ABLATIONS = ("ethos-letters", "ethos-prompts", "ethos-weights")


def per_item(task_name: str, folder: Path) -> dict[str, tuple[float, str]]:
    """The task's primary metric for every item with a prediction, by id, with the item's question."""
    task = TASKS[task_name]
    scores = {}
    scorer = EmbeddingScorer() if task.kind == "overton" else None
    for item in json.loads((folder / "predictions.json").read_text()):
        if task.kind == "distribution":
            if item.get("pred_distribution"):
                scores[str(item["id"])] = (js_distance(item["gold_distribution"], item["pred_distribution"]), question_key(item))
        elif item.get("output") is not None:
            scores[str(item["id"])] = (scorer.coverage(item["explanation"], item["output"]), question_key(item))
    return scores


def paired(a: dict, b: dict) -> str:
    """Mean of b - a over the items both have, with its interval over questions."""
    ids = sorted(set(a) & set(b))
    if len(ids) < 2:
        return "n/a"
    diffs = [b[i][0] - a[i][0] for i in ids]
    low, high = bootstrap_ci(diffs, clusters=[a[i][1] for i in ids])
    mark = "  survives" if low > 0 or high < 0 else ""
    return f"{np.mean(diffs):+.3f} [{low:+.3f}, {high:+.3f}] (n={len(ids)}){mark}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--tasks", default="distributional-moralchoice,distributional-globalopinionqa,steerable-opinionqa,overton-vk")
    parser.add_argument("--max-concurrency", default="4")
    parser.add_argument("--protocols", default="reference,ethos", help="the protocols to run (all that exist are analysed)")
    parser.add_argument("--analyse-only", action="store_true", help="only read the folders an earlier run wrote")
    args = parser.parse_args()
    from ethos.cli import main as ethos

    tasks = args.tasks.split(",")
    for protocol in args.protocols.split(","):
        if args.analyse_only:
            break
        argv = ["eval", "--task", args.tasks, "--data", str(args.data), "--limit", str(args.limit), "--method", "all", "--protocol", protocol,
                "--out", str(args.out / protocol), "--no-progress", "--max-concurrency", args.max_concurrency]
        if protocol == "reference":
            argv += [x for name in ABLATIONS for x in ("--ablation", name)]
        code = ethos(argv)
        if code not in (0, 1):  # 1: some items failed; they are reported, not fatal here
            sys.exit(code)
    for task in tasks:
        folder = {p: (args.out / p / task if len(tasks) > 1 else args.out / p) for p in ("reference", "ethos")}
        metric = "JS distance (lower is better)" if TASKS[task].kind == "distribution" else "embedding coverage (higher is better)"
        print(f"\n{task}: {metric}")
        scores = {}
        for protocol, base in folder.items():
            for run in sorted(base.iterdir()) if base.is_dir() else []:
                if (run / "predictions.json").is_file():
                    scores[(protocol, run.name)] = per_item(task, run)
        for (protocol, name), values in scores.items():
            vals = [v for v, _ in values.values()]
            low, high = bootstrap_ci(vals, clusters=[q for _, q in values.values()])
            print(f"  {protocol:9} {name:32} {np.mean(vals):.3f} [{low:.3f}, {high:.3f}]  n={len(vals)}")
        print("  paired, ethos protocol minus reference protocol, same method:")
        for method in METHODS:
            ref, ours = scores.get(("reference", method)), scores.get(("ethos", f"{method}+protocol-ethos"))
            if ref and ours:
                print(f"    {method:12} {paired(ref, ours)}")
        print("  paired, ablation row minus ethosagents (reference protocol):")
        for name in ABLATIONS:
            row = scores.get(("reference", f"ethosagents+{name}"))
            if row and ("reference", "ethosagents") in scores:
                print(f"    {name:14} {paired(scores[('reference', 'ethosagents')], row)}")
        for protocol, suffix in (("reference", ""), ("ethos", "+protocol-ethos")):
            ours = scores.get((protocol, f"ethosagents{suffix}"))
            if not ours:
                continue
            print(f"  paired, ethosagents minus each baseline ({protocol} protocol):")
            for method in METHODS[:-1]:
                base = scores.get((protocol, f"{method}{suffix}"))
                if base:
                    print(f"    {method:12} {paired(base, ours)}")


if __name__ == "__main__":
    main()
