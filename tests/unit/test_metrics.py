import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from ethos.evaluation.metrics import (
    bootstrap_ci,
    classification_scores,
    js_distance,
    most_likely_correct,
    parse_vk_answer,
    steerable_vk_scores,
)


def test_js_distance_by_hand():
    # Disjoint supports reach the maximum, sqrt(ln 2) with the natural log.
    assert js_distance([1, 0], [0, 1]) == pytest.approx(np.sqrt(np.log(2)))
    assert js_distance([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0)
    # Hand computation: m = (0.5, 0.5); KL(p||m) = 0.75 ln 1.5 + 0.25 ln 0.5, likewise for q.
    kl = 0.75 * np.log(1.5) + 0.25 * np.log(0.5)
    assert js_distance([0.75, 0.25], [0.25, 0.75]) == pytest.approx(np.sqrt(kl))


def test_js_distance_matches_scipy_on_random_unnormalised_inputs():
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 5):
        for _ in range(50):
            gold, pred = rng.random(n) * 3, rng.random(n)
            assert js_distance(gold.tolist(), pred.tolist()) == pytest.approx(jensenshannon(gold, pred), nan_ok=True)


def test_most_likely_correct_takes_the_first_index_on_ties():
    assert most_likely_correct([0.4, 0.4, 0.2], [0.5, 0.3, 0.2]) == 1.0
    assert most_likely_correct([0.4, 0.4, 0.2], [0.3, 0.5, 0.2]) == 0.0


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("A", "A"), ("B. Oppose", "B"), ("(C) it could go either way", "C"), ("**A**: supports", "A"),
        ("The value supports the action.", "A"), ("It would oppose it", "B"), ("It depends on context", "C"),
        ("Either way.", "C"), ("Both support and oppose", "A"),  # the first word named wins
        ("Absolutely", None), ("", None), (None, None), ("D", None),
    ],
)
def test_parse_vk_answer(text, label):
    assert parse_vk_answer(text) == label


def test_classification_scores_by_hand():
    gold = ["A", "A", "B", "C"]
    pred = ["A", "B", "B", None]
    scores = classification_scores(gold, pred, ["A", "B", "C"])
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0) / 3)
    # F1: A = 2/3, B = 2/3, C = 0.
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


@pytest.mark.filterwarnings("ignore:A single label was found")
def test_classification_scores_match_scikit_learn_on_random_inputs():
    rng = np.random.default_rng(2)
    labels = ["A", "B", "C"]
    for _ in range(100):
        n = int(rng.integers(1, 30))
        gold = list(rng.choice(labels, n))
        pred = [None if rng.random() < 0.15 else str(p) for p in rng.choice(labels, n)]
        filled = [p if p is not None else "?" for p in pred]
        ours = classification_scores(gold, pred, labels)
        assert ours["accuracy"] == pytest.approx(accuracy_score(gold, filled))
        present = sorted(set(gold))
        recalls = [np.mean([p == g for g, p in zip(gold, filled) if g == label]) for label in present]
        assert ours["balanced_accuracy"] == pytest.approx(np.mean(recalls))
        if set(filled) <= set(gold):  # scikit-learn warns and differs only when a prediction has no gold class
            assert ours["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(gold, filled))
        assert ours["macro_f1"] == pytest.approx(f1_score(gold, filled, labels=labels, average="macro", zero_division=0))
        assert ours["micro_f1"] == pytest.approx(f1_score(gold, filled, labels=labels, average="micro", zero_division=0))


def test_binary_setting_drops_either_in_gold_or_prediction():
    scores = steerable_vk_scores(["A", "B", "C", "A"], ["A", "C", "A", "B"])
    assert scores["binary_n"] == 2  # (A, A) and (A, B) remain
    assert scores["binary_accuracy"] == pytest.approx(0.5)
    assert scores["n"] == 4 and scores["accuracy"] == pytest.approx(0.25)


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    values = np.random.default_rng(3).random(200)
    low, high = bootstrap_ci(values)
    assert low < values.mean() < high and (low, high) == bootstrap_ci(values)
    assert np.isnan(bootstrap_ci([1.0])[0])
