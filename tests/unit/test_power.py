"""The power arithmetic against the bootstrap it predicts: on synthetic paired data with known
variance components (questions, seeds, residual), components estimated from a pilot predict the
half-width the two-level bootstrap then gives within 20%, and its intervals cover the true
difference near 95% of the time."""

import numpy as np
import pytest

from ethos.evaluation.power import components, difference_matrix
from ethos.evaluation.statistics import paired

TRUE = 0.03  # the difference the two methods truly have
SD = {"questions": 0.06, "seeds": 0.01, "residual": 0.05}


def _draw(rng, n_questions: int, n_seeds: int) -> tuple[dict, dict]:
    """Two rows' item scores by seed (one item per question): other = reference + the difference."""
    question = rng.normal(0, SD["questions"], n_questions)
    reference, other = {}, {}
    for s in range(n_seeds):
        seed = rng.normal(0, SD["seeds"])
        base = rng.uniform(0.2, 0.5, n_questions)
        diff = TRUE + question + seed + rng.normal(0, SD["residual"], n_questions)
        reference[s] = {str(q): (float(base[q]), f"q{q}") for q in range(n_questions)}
        other[s] = {str(q): (float(base[q] + diff[q]), f"q{q}") for q in range(n_questions)}
    return reference, other


def test_the_components_of_a_large_sample_are_the_true_ones():
    found = components(difference_matrix(*_draw(np.random.default_rng(0), 400, 12)))
    assert found.questions == pytest.approx(SD["questions"] ** 2, rel=0.25)
    assert found.residual == pytest.approx(SD["residual"] ** 2, rel=0.15)
    assert found.seeds == pytest.approx(SD["seeds"] ** 2, abs=2e-4)


def test_the_predicted_half_width_is_the_bootstraps_and_its_intervals_cover():
    rng = np.random.default_rng(1)
    pilot = components(difference_matrix(*_draw(rng, 30, 3)))  # what earlier cells would give
    n_questions, n_seeds = 40, 5
    widths, covered = [], 0
    for _ in range(150):
        d = paired(*_draw(rng, n_questions, n_seeds), higher=True)
        low, high = d["ci"]
        widths.append((high - low) / 2)
        covered += low <= TRUE <= high
    predicted = pilot.half_width(n_questions, n_seeds)
    assert predicted == pytest.approx(np.mean(widths), rel=0.20)
    assert 0.88 <= covered / 150 <= 0.99


def test_needed_questions_reach_the_difference_asked_for():
    found = components(difference_matrix(*_draw(np.random.default_rng(2), 200, 4)))
    questions = found.needed(0.02, seeds=3)
    assert found.half_width(questions, 3) <= 0.02 < found.half_width(questions - 1, 3)
    assert found.needed(0.001, seeds=1) is None or found.seeds_needed(0.001) > 1
