"""The one bootstrap (`evaluation/statistics.py`): intervals over questions and seeds, paired
differences by seed value, and one interval for one folder wherever it is shown."""

import numpy as np
import pytest

from ethos.evaluation.statistics import estimate, mean_interval, paired


def _scores(values, questions):
    return {str(i): (float(v), str(q)) for i, (v, q) in enumerate(zip(values, questions))}


def test_resampling_questions_is_wider_than_resampling_items_when_questions_repeat():
    rng = np.random.default_rng(4)
    questions = np.repeat(np.arange(12), 20)  # 12 questions, each asked of 20 groups
    values = rng.normal(size=12)[questions] + 0.1 * rng.normal(size=len(questions))
    by_item = estimate([_scores(values, range(len(values)))])
    by_question = estimate([_scores(values, questions)])
    assert by_question["low"] < values.mean() < by_question["high"]
    assert by_question["questions"] == 12 and by_question["n"] == 240
    assert (by_question["high"] - by_question["low"]) > 2.5 * (by_item["high"] - by_item["low"])


def test_an_interval_repeats_whatever_the_order_of_its_items():
    values = np.random.default_rng(3).random(200)
    scores = _scores(values, np.arange(200) // 3)
    found = estimate([scores])
    assert found["low"] < values.mean() < found["high"]
    assert estimate([dict(reversed(scores.items()))]) == found
    assert estimate([{"a": (1.0, "q")}])["low"] is None  # one question: nothing to resample


def test_a_metric_from_its_values_has_the_interval_of_its_stored_scores():
    rng = np.random.default_rng(7)
    values = rng.random(30).tolist()
    items = [(str(i), f"q{i // 3}") for i in range(30)]
    mean, ci = mean_interval(values, items)
    stored = estimate([{i: (v, q) for v, (i, q) in zip(values, items)}])
    assert (mean, ci) == (stored["mean"], [stored["low"], stored["high"]])


def test_a_paired_difference_on_a_known_answer():
    reference = {str(i): (0.5, f"q{i // 2}") for i in range(20)}
    better = {str(i): (0.4 if i < 18 else 0.6, f"q{i // 2}") for i in range(20)}  # 18 items better by 0.1, 2 worse by 0.1
    d = paired({0: reference}, {0: better}, higher=False)
    assert d["n"] == 20 and d["mean"] == pytest.approx(-0.08) and (d["better"], d["worse"]) == (18, 2)
    assert d["ci"][1] < 0 and d["holds"]
    assert not paired({0: reference}, {0: reference}, higher=False)["holds"]


def test_seeds_are_paired_by_their_value_not_their_position():
    rng = np.random.default_rng(2)
    base = {s: _scores(rng.random(20), np.arange(20) // 2) for s in (0, 1, 2)}
    other = {s: {i: (v + 0.05 * (s + 1), q) for i, (v, q) in base[s].items()} for s in (0, 1, 2)}
    d = paired(base, other, higher=True)
    assert d["mean"] == pytest.approx(0.1) and d["seeds"] == 3 and d["better"] == 20
    assert paired(dict(reversed(base.items())), other, higher=True) == d  # listed in another order: the same pairs
    only_two = paired({0: base[0], 2: base[2]}, other, higher=True)  # seed 1 missing from one side: pairs 0 and 2 only
    assert only_two["seeds"] == 2 and only_two["mean"] == pytest.approx((0.05 + 0.15) / 2)


def test_the_two_level_interval_widens_with_the_spread_between_seeds():
    rng = np.random.default_rng(1)
    values = rng.normal(0.5, 0.1, 40)
    steady = [{str(i): (v, str(i // 4)) for i, v in enumerate(values)} for _ in range(3)]
    shaky = [{str(i): (v + shift, str(i // 4)) for i, v in enumerate(values)} for shift in (-0.1, 0.0, 0.1)]
    a, b = estimate(steady), estimate(shaky)
    assert a["seed_sd"] == 0 and b["seed_sd"] == pytest.approx(0.1)
    assert a["mean"] == pytest.approx(b["mean"]) and (b["high"] - b["low"]) > 1.5 * (a["high"] - a["low"])
    assert estimate(steady) == a  # seeded: the table repeats
