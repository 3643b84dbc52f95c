"""Benchmark: Overton coverage with the empty sentence pieces the reference scores, against this
project's way of dropping them, paired on the same responses.

    .venv/bin/python bench/bench_sentence_pieces.py OUT/vanilla OUT/modplural ... [--nli-model DIR]

Each folder is an `ethos eval --task overton-vk` output (its predictions.json). The sentence
splitter leaves an empty piece where a blank line parts two paragraphs; the reference scores it as
a hypothesis like any sentence (`coverage(..., keep_empty=True)`, the reference protocol's rule),
this project drops it. Prints, per folder, the responses with an empty piece, each rule's mean
coverage and accuracy at 0.33, and the paired difference with its 95% interval over questions.
Without --nli-model the offline embedding proxy scores (no NLI model ships here).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ethos.evaluation.coverage import ACCURACY_THRESHOLD, EmbeddingScorer, NLIScorer, split_sentences
from ethos.evaluation.statistics import paired
from ethos.evaluation.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--nli-model", help="a local NLI model directory (else the embedding proxy)")
    args = parser.parse_args()
    scorer = NLIScorer(args.nli_model) if args.nli_model else EmbeddingScorer()
    task = get_task("overton-vk")
    print(f"scorer: {scorer.name}; reference (empty pieces scored) against dropped, paired over the same responses")
    for folder in args.folders:
        items = [i for i in json.loads((folder / "predictions.json").read_text()) if task.has_prediction(i)]
        with_empty = sum("" in split_sentences(i["output"], keep_empty=True) for i in items)
        rules = {}
        for name, keep in (("reference", True), ("dropped", False)):
            values = [scorer.coverage(i["explanation"], i["output"], empty=-1.0, keep_empty=keep) for i in items]
            rules[name] = {str(i["id"]): (v, task.question(i)) for v, i in zip(values, items)}
        print(f"\n{folder} ({len(items)} responses, {with_empty} with an empty piece)")
        for name, values in rules.items():
            scores = [v for v, _ in values.values()]
            accuracy = sum(v > ACCURACY_THRESHOLD for v in scores) / len(scores)
            print(f"  {name:<10} coverage {sum(scores) / len(scores):.4f}   acc@0.33 {accuracy:.3f}")
        d = paired({0: rules["dropped"]}, {0: rules["reference"]}, True)
        ci = "[n/a]" if d["ci"][0] is None else f"[{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]"
        print(f"  reference minus dropped {d['mean']:+.4f} {ci} (n={d['n']}, higher/lower {d['better']}/{d['worse']})")


if __name__ == "__main__":
    main()
