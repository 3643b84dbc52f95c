"""Does the published method run? Persona and comment fallbacks, persona quality and task metrics.

For each persona source (generated, hybrid, library) and the same items of each VITAL task, it
runs the persona graph at the published budgets with no cache, and prints per source:
- the share of persona slots that were generated (not library or target additions),
- comments on multiple-choice items that carry no option choice,
- distinct persona names, frameworks and stakeholders per set, and embedding diversity,
- JSD (distributional tasks), most-likely correctness (steerable OpinionQA), embedding coverage
  (Overton), each with a 95% bootstrap interval, and seconds per item.

`--before DIR` runs the same measurement on an earlier checkout too (a `git worktree` of the
commit to compare), in the same process order, and prints the two side by side with ratios.

    python bench/bench_method.py --data ../shared/vital --items 5
    python bench/bench_method.py --data ../shared/vital --items 5 --before /tmp/old-ethos --sources generated
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = {
    "distributional-moralchoice": "vital_distributional_moralchoice",
    "distributional-globalopinionqa": "vital_distributional_globalopinionqa",
    "steerable-opinionqa": "vital_steerable_opinionqa",
    "overton-vk": "vital_overton_valuekaleidoscope",
}


def pick_items(path: Path, k: int, seed: int = 0) -> list[int]:
    """Indices of `k` items of distinct questions, seeded (the same for every version measured)."""
    items = json.loads(path.read_text())
    first_of: dict[str, int] = {}
    for i, item in enumerate(items):
        first_of.setdefault(str(item.get("question") or item.get("situation")), i)
    indices = list(first_of.values())
    random.Random(seed).shuffle(indices)
    return sorted(indices[:k])


def measure(data: Path, k: int, sources: list[str], out: Path) -> None:
    """Run in the version on sys.path; one JSON line per item into `out`."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    from ethos.evaluation.coverage import EmbeddingScorer
    from ethos.evaluation.vital import item_request
    from ethos.graph.builder import graph
    from ethos.graph.context import Context
    from ethos.personas.schema import Persona, normalise
    from ethos.personas.selection import embedding_diversity

    coverage = EmbeddingScorer()
    with out.open("w") as f:
        for task, stem in TASKS.items():
            path = next(data.glob(f"{stem}*.json"))
            items = json.loads(path.read_text())
            for index in pick_items(path, k):
                item = items[index]
                request = item_request(item, source=str(path), index=index)
                for source in sources:
                    started = time.perf_counter()
                    state = graph.invoke(request, context=Context(persona_source=source))
                    seconds = time.perf_counter() - started
                    personas, result = state["personas"], state["result"]
                    row = {
                        "task": task,
                        "index": index,
                        "source": source,
                        "seconds": seconds,
                        "slots": len(personas),
                        "generated": sum(p["source"] in ("generated", "constrained", "parsed") for p in personas),
                        "names": len({normalise(p["name"]) for p in personas}),
                        "frameworks": len({normalise(p["framework"]) for p in personas}),
                        "stakeholders": len({normalise(p["stakeholder"]) for p in personas}),
                        "diversity": (state["persona_report"].get("diagnostics") or {}).get("diversity")
                        or embedding_diversity([Persona.model_validate(p) for p in personas]),
                        "mc_comments": len(state["comments"]) if request.get("options") else 0,
                        "no_choice": sum(1 for c in state["comments"] if request.get("options") and not c.get("choice")),
                    }
                    if task == "overton-vk":
                        row["coverage"] = coverage.coverage(item["explanation"], result["response"])
                    else:
                        pred = result["distribution"] if result["mode"] == "distributional" else result["distribution"]["probs"]
                        row["jsd"] = float(jensenshannon(np.asarray(item["gold_distribution"], float), np.asarray(pred, float)))
                        row["most_likely"] = float(int(np.argmax(item["gold_distribution"])) == int(np.argmax(pred)))
                    f.write(json.dumps(row) + "\n")
                    f.flush()
                    print(
                        f"  {task} item {index} {source}: {seconds:.1f} s, {row['generated']}/{row['slots']} generated, "
                        f"{row['no_choice']}/{row['mc_comments']} without choice",
                        file=sys.stderr,
                        flush=True,
                    )


def ci(values: list[float]) -> str:
    import numpy as np

    values = [v for v in values if v is not None]
    if not values:
        return "-"
    arr = np.asarray(values, float)
    draws = np.random.default_rng(0).integers(0, len(arr), size=(2000, len(arr)))
    low, high = np.percentile(arr[draws].mean(axis=1), [2.5, 97.5])
    return f"{arr.mean():.3f} [{low:.3f}, {high:.3f}]"


def summarise(rows: list[dict]) -> dict:
    def mean(key, among=rows):
        values = [r[key] for r in among if r.get(key) is not None]
        return sum(values) / len(values) if values else float("nan")

    slots = sum(r["slots"] for r in rows)
    mc = sum(r["mc_comments"] for r in rows)
    return {
        "generated share": f"{sum(r['generated'] for r in rows) / slots:.1%} of {slots} slots",
        "comments without choice": f"{sum(r['no_choice'] for r in rows)} of {mc}",
        "distinct names / set": f"{mean('names'):.2f}",
        "distinct frameworks / set": f"{mean('frameworks'):.2f}",
        "distinct stakeholders / set": f"{mean('stakeholders'):.2f}",
        "embedding diversity": ci([r["diversity"] for r in rows]),
        **{
            f"JSD {t}": ci([r["jsd"] for r in rows if r["task"] == t])
            for t in ("distributional-moralchoice", "distributional-globalopinionqa")
        },
        "most-likely steerable-opinionqa": ci([r["most_likely"] for r in rows if r["task"] == "steerable-opinionqa"]),
        "embedding coverage overton-vk": ci([r["coverage"] for r in rows if r["task"] == "overton-vk"]),
        "seconds / item": f"{mean('seconds'):.1f}",
        "_seconds": mean("seconds"),
    }


def run_version(root: Path | None, args, out: Path) -> list[dict]:
    """Measure in a subprocess whose `ethos` package is `root` (None: this checkout)."""
    env = dict(os.environ)
    if root is not None:
        link = Path(tempfile.mkdtemp()) / "ethos"
        link.symlink_to(root.resolve())
        env["PYTHONPATH"] = str(link.parent)
    cmd = [
        sys.executable,
        __file__,
        "--data",
        str(args.data),
        "--items",
        str(args.items),
        "--sources",
        ",".join(args.sources),
        "--measure-into",
        str(out),
    ]
    subprocess.run(cmd, env=env, check=True)
    return [json.loads(line) for line in out.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder of VITAL files")
    parser.add_argument("--items", type=int, default=5, help="items per task, each of a distinct question")
    parser.add_argument("--sources", type=lambda s: s.split(","), default=["generated", "hybrid", "library"])
    parser.add_argument("--before", type=Path, metavar="DIR", help="an earlier checkout to measure too (git worktree)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_method"), help="where the per-item rows go")
    parser.add_argument("--measure-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_into:
        measure(args.data, args.items, args.sources, args.measure_into)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    versions = {"before": args.before, "after": None} if args.before else {"after": None}
    results = {name: run_version(root, args, args.out / f"{name}.jsonl") for name, root in versions.items()}
    for source in args.sources:
        columns = {name: summarise([r for r in rows if r["source"] == source]) for name, rows in results.items()}
        print(f"\n== persona source: {source} ({args.items} items per task, published budgets, no cache)")
        print(f"  {'':34}" + "".join(f"{name:>34}" for name in columns))
        for key in next(iter(columns.values())):
            if not key.startswith("_"):
                print(f"  {key:34}" + "".join(f"{col[key]:>34}" for col in columns.values()))
        if len(columns) == 2:
            print(f"  {'time ratio after/before':34}{columns['after']['_seconds'] / columns['before']['_seconds']:>34.2f}")


if __name__ == "__main__":
    main()
