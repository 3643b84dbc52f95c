"""The one place intervals come from: a mean over items with its 95% bootstrap interval, and the
paired difference of two rows on the items (and seeds) both hold. Eval's metrics, `ethos report`,
`ethos view` and a study's table all call these, so one folder has one interval everywhere.

The bootstrap has two levels: questions are resampled (all items of a question together, since
they share the texts written for it), then seeds. With one seed it is the question bootstrap.
Questions and items are taken in sorted order and the generator is seeded, so an interval repeats
whatever order the items came in.

A row's scores are `{item id: (value, question)}`; several seeds are `{seed: scores}`, and two rows
are paired seed by seed on the seed's value, never its position in a list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
Scores = Mapping[str, tuple[float, str]]  # item id -> (value, question)


def _matrix(seeds: list[Scores], ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per seed and question: the sum of the item values, and each question's item count."""
    questions = sorted({seeds[0][i][1] for i in ids})
    where = {q: k for k, q in enumerate(questions)}
    sums, counts = np.zeros((len(seeds), len(questions))), np.zeros(len(questions))
    for i in ids:
        k = where[seeds[0][i][1]]
        counts[k] += 1
        for s, values in enumerate(seeds):
            sums[s, k] += values[i][0]
    return sums, counts


def _bootstrap(sums: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    n_seeds, n_questions = sums.shape
    picked_questions = rng.integers(0, n_questions, size=(RESAMPLES, n_questions))
    picked_seeds = rng.integers(0, n_seeds, size=(RESAMPLES, n_seeds))
    per_seed = sums[:, picked_questions].sum(axis=2) / counts[picked_questions].sum(axis=1)  # (seeds, resamples)
    draws = np.take_along_axis(per_seed.T, picked_seeds, axis=1).mean(axis=1)
    low, high = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(low), float(high)


def common_items(seeds: list[Scores]) -> list[str]:
    return sorted(set.intersection(*(set(values) for values in seeds))) if seeds else []


def estimate(seeds: list[Scores]) -> dict:
    """The mean over seeds of the mean over the items every seed holds, its interval (None for one
    question of one seed: nothing to resample), the items and questions behind it, each seed's
    mean and their spread."""
    ids = common_items(seeds)
    if not ids:
        return {"n": 0, "questions": 0, "mean": None, "low": None, "high": None}
    sums, counts = _matrix(seeds, ids)
    per_seed = sums.sum(axis=1) / counts.sum()
    low, high = _bootstrap(sums, counts) if sums.size > 1 else (None, None)
    return {
        "mean": float(per_seed.mean()),
        "low": low,
        "high": high,
        "n": len(ids),
        "questions": len(counts),
        "seeds": [float(v) for v in per_seed],
        "seed_sd": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0,
    }


def mean_interval(values: list[float], items: list[tuple[str, str]]) -> tuple[float, list]:
    """A metric's mean over items and its interval, from the values and each item's (id, question):
    the same figures `estimate` gives a stored row of one seed."""
    found = estimate([{item_id: (v, q) for v, (item_id, q) in zip(values, items)}])
    return (found["mean"] if found["n"] else math.nan), [found["low"], found["high"]]


def paired(reference: Mapping[int, Scores], other: Mapping[int, Scores], higher: bool) -> dict:
    """`other` minus `reference`, item by item within each seed both hold (by value), on the items
    every such seed holds: the mean, its interval, the items, how many items `other` is better and
    worse on (on the seed mean), and whether the interval leaves out 0."""
    seeds = sorted(set(reference) & set(other))
    both = [{i: (other[s][i][0] - reference[s][i][0], reference[s][i][1]) for i in set(other[s]) & set(reference[s])} for s in seeds]
    found = estimate(both)
    if found["n"] < 2 or found["low"] is None:
        return {"n": found["n"], "seeds": len(seeds), "mean": found["mean"], "ci": [None, None], "better": 0, "worse": 0, "holds": False}
    ids = common_items(both)
    item_means = np.array([np.mean([d[i][0] for d in both]) for i in ids])
    sign = 1 if higher else -1
    return {
        "n": found["n"],
        "seeds": len(seeds),
        "mean": found["mean"],
        "ci": [found["low"], found["high"]],
        "better": int((sign * item_means > 0).sum()),
        "worse": int((sign * item_means < 0).sum()),
        "holds": bool(found["low"] > 0 or found["high"] < 0),
    }
