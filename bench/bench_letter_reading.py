"""Benchmark: Modular Pluralism's letter reading against this project's, every method, paired.

    .venv/bin/python bench/bench_letter_reading.py --data ../shared/vital --out /tmp/letters \
        [--methods vanilla,prompting] [--tasks distributional-moralchoice,...] [--limit 120] [--protocols reference,ethos]

Each method runs twice on the same spread sample with the embedded model at the published budgets:
with the reference's reading (its top 10, the first match) and with this project's (every
candidate, variants summed), as the ablation rows `ethos-letter-reading` (under --protocol
reference) and `reference-letter-reading` (under --protocol ethos). Every other call is the same,
so the model-call cache serves it once. Prints each row's primary metric with its 95% interval over
questions, its uniform fallbacks, and the paired difference (this project's reading minus the
reference's) on the same items, read from the rows' own per-item scores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import ethos
from ethos.evaluation.compare import item_scores, paired
from ethos.evaluation.scoring import primary_metric
from ethos.evaluation.tasks import get_task

ROWS = {"reference": "ethos-letter-reading", "ethos": "reference-letter-reading"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--methods", default="vanilla,prompting")
    parser.add_argument("--tasks", default="distributional-moralchoice,distributional-globalopinionqa,steerable-opinionqa")
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--protocols", default="reference,ethos")
    parser.add_argument("--model", default="embedded")
    args = parser.parse_args()
    for protocol in args.protocols.split(","):
        for name in args.tasks.split(","):
            task = get_task(name)
            started = time.perf_counter()
            rows = ethos.evaluate(
                name,
                args.methods.split(","),
                data=args.data,
                model=args.model,
                limit=args.limit,
                protocol=protocol,
                ablation=[ROWS[protocol]],
                out=args.out / protocol / name,
            )
            seconds = time.perf_counter() - started
            metric, higher = primary_metric(task, rows[0])
            print(f"\n{name}, --protocol {protocol} ({rows[0]['n']} items, {rows[0]['n_questions']} questions, {seconds:.0f} s)")
            print(f"  {'row':<44}{metric + ' [95% CI]':<30}uniform fallbacks")
            folders = {}
            for row in rows:
                label = row["method"] + (f" [{', '.join(row['ablations'])}]" if row["ablations"] else "")
                ci = row.get(f"{metric}_ci") or [float("nan")] * 2
                print(f"  {label:<44}{row[metric]:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]    {row['fallbacks'].get('uniform_distributions', 0)}")
                folders[(row["method"], bool(row["ablations"]))] = (
                    args.out
                    / protocol
                    / name
                    / (row["method"] + ("" if protocol == "reference" else "+protocol-ethos") + "".join(f"+{a}" for a in row["ablations"]))
                )
            for method in args.methods.split(","):
                authors = item_scores(task, metric, folders[(method, protocol == "ethos")])
                ours = item_scores(task, metric, folders[(method, protocol == "reference")])
                d = paired(authors, ours, higher)
                print(
                    f"  {method}: this project's reading minus the reference's {d['mean']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]"
                    f" (n={d['n']}, better/worse {d['better']}/{d['worse']}){'  holds' if d['holds'] else ''}"
                )
            print(json.dumps({"task": name, "protocol": protocol, "seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
