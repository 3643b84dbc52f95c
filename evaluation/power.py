"""How precisely a study can tell two methods apart, before it runs. From paired differences already
measured (earlier cells of the same model, task and the two methods: one matrix of seeds ×
questions), the variance of the paired mean splits into three components, as in a two-way random
effects model: between questions (σ²_q), between seeds (σ²_s) and what is left (σ²_e). At Q
questions and S seeds the mean's variance is σ²_q/Q + σ²_s/S + σ²_e/(QS), and the 95% interval's
half-width about 1.96 times its square root; `needed` inverts it for a difference to detect.
`tests/unit/test_power.py` checks the prediction against the bootstrap's intervals on synthetic
data with known components."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z = 1.959964  # the 97.5% normal quantile


@dataclass(frozen=True)
class Components:
    questions: float  # σ²_q: the spread of questions' true differences
    seeds: float  # σ²_s: the spread of seeds' mean differences
    residual: float  # σ²_e
    measured_seeds: int
    measured_questions: int

    def half_width(self, questions: int, seeds: int) -> float:
        """The expected half-width of the 95% interval of the paired mean at `questions` × `seeds`."""
        variance = self.questions / questions + self.seeds / seeds + self.residual / (questions * seeds)
        return Z * math.sqrt(max(variance, 0.0))

    def needed(self, detect: float, seeds: int) -> int | None:
        """The questions needed at `seeds` seeds for a half-width of at most `detect` (None: no
        number of questions will do at these seeds, as the seeds' own spread is too large)."""
        room = (detect / Z) ** 2 - self.seeds / seeds
        if room <= 0:
            return None
        return max(2, math.ceil((self.questions + self.residual / seeds) / room))

    def seeds_needed(self, detect: float) -> int:
        """The fewest seeds at which some number of questions reaches `detect`."""
        return max(1, math.floor(self.seeds / (detect / Z) ** 2) + 1)


def components(differences: np.ndarray) -> Components | None:
    """The variance components of a seeds × questions matrix of paired differences (each entry a
    question's mean difference at one seed); None with fewer than two questions. With one seed,
    the residual cannot be told from the questions' spread and is counted with it (a cautious
    estimate: more seeds then shrink nothing)."""
    d = np.asarray(differences, dtype=float)
    n_seeds, n_questions = d.shape
    if n_questions < 2:
        return None
    if n_seeds == 1:
        return Components(float(np.var(d[0], ddof=1)), 0.0, 0.0, 1, n_questions)
    seed_means, question_means, grand = d.mean(axis=1), d.mean(axis=0), d.mean()
    residual = float(((d - seed_means[:, None] - question_means[None, :] + grand) ** 2).sum() / ((n_seeds - 1) * (n_questions - 1)))
    questions = max(0.0, float(np.var(question_means, ddof=1)) - residual / n_seeds)
    seeds = max(0.0, float(np.var(seed_means, ddof=1)) - residual / n_questions)
    return Components(questions, seeds, residual, n_seeds, n_questions)


def difference_matrix(reference: dict[int, dict], other: dict[int, dict]) -> np.ndarray | None:
    """Seeds × questions of `other` minus `reference` (question means of item differences), over the
    seeds both hold and the questions every such seed holds; None when they share nothing."""
    seeds = sorted(set(reference) & set(other))
    per_seed = []
    for s in seeds:
        by_question: dict[str, list[float]] = {}
        for item in set(reference[s]) & set(other[s]):
            by_question.setdefault(reference[s][item][1], []).append(other[s][item][0] - reference[s][item][0])
        per_seed.append({q: float(np.mean(v)) for q, v in by_question.items()})
    if not per_seed:
        return None
    questions = sorted(set.intersection(*(set(p) for p in per_seed)))
    return np.array([[p[q] for q in questions] for p in per_seed]) if questions else None
