import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from ethos.evaluation.metrics import (
    UNPARSEABLE,
    classification_scores,
    js_distance,
    most_likely_correct,
    parse_vk_reference,
    parse_vk_strict,
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


# Reference outcomes worked out by hand from the eight rules (letters tried A..E within each rule),
# then the keyword fallback. Several are quirks of the reference that parity must keep.
REFERENCE_CASES = [
    ("A", "A"),
    ("B. Oppose", "B"),
    ("The answer is B", "B"),  # rule 2: read as B (a leading-letter parser calls it unparseable)
    ("Answer: B", "A"),  # rule 1: the first token "Answer:" contains a capital A
    ("I think the answer is C.", "C"),
    ("My answer: c", "C"),  # rule 3
    ("It is B because", "B"),  # rule 4: " B "
    ("It supports, so A.", "A"),  # rule 4: " A."
    ("the correct answer is c", "C"),  # rule 5
    ("Option C: either", "C"),  # rule 6
    ("Choice\nB", "B"),  # rule 1 splits on spaces only, and B is tried before C
    ("Dear reader", "unparseable"),  # rule 1 gives D: not A-C, and no keyword
    ("Dear reader, I support it", "A"),  # D, then the keyword
    ("", "unparseable"),
    ("It depends on the patient.", "C"),  # keyword
    ("I would oppose (B)", "B"),  # rule 8
    ("supports", "A"),  # keyword
    ("It would neither support nor oppose", "A"),  # "support" is looked for first, wherever it stands
    ("I oppose this; either way it is wrong", "B"),
    ("E", "unparseable"),
    ("E. It supports", "A"),
    ("Both A and B apply", "B"),  # rule 1: "Both" contains B
    ("This is hard. A", "A"),  # rule 7: the last character
    ("Hmm\nC\nbecause", "C"),  # rule 1: the first space-separated token spans the newlines
    ("We lean to the option C\nreally", "C"),  # rule 7: "C" before a newline
    ("I'd pick (a)", "unparseable"),  # rule 8 wants a capital
    ("The Answer Is b", "B"),  # rule 2 is case-blind
    ("answer:a", "unparseable"),  # rule 3 wants the space
    ("Given the value, B is right.", "B"),
    ("Clearly, A.", "C"),  # rule 1: "Clearly," contains a capital C
    ("Acceptable", "A"),
    ("It is D.", "unparseable"),
    ("The answer is D, I oppose", "B"),  # rule 2 gives D, then the keyword
    ("  B  ", "B"),
    ("Support.\n", "A"),  # keyword, case-blind
    ("I support neither A nor B", "A"),  # rule 4: " A "
]


@pytest.mark.parametrize(("text", "label"), REFERENCE_CASES)
def test_reference_parser(text, label):
    assert parse_vk_reference(text) == label


def test_reference_parser_reads_what_the_strict_one_does_not():
    assert parse_vk_strict("The answer is B") == "unparseable" and parse_vk_reference("The answer is B") == "B"
    assert parse_vk_strict("Both support and oppose") == "A" and parse_vk_strict(None) == "unparseable"


def test_golden_scores_with_an_unparseable_class():
    # Worked by hand. Classes present: A, B, C and unparseable (U).
    gold = ["A", "A", "B", "C", "B"]
    pred = ["A", UNPARSEABLE, "B", "B", UNPARSEABLE]
    scores = steerable_vk_scores(gold, pred)
    assert scores["accuracy"] == pytest.approx(2 / 5)
    assert scores["balanced_accuracy"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)  # recall over gold classes
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 0 + 0) / 4)  # F1 of A, B, C, U
    assert scores["micro_f1"] == pytest.approx(2 / 5)
    # Binary: the item with gold C goes; U stays a class of its own.
    assert scores["binary_n"] == 4 and scores["binary_accuracy"] == pytest.approx(2 / 4)
    assert scores["binary_balanced_accuracy"] == pytest.approx(1 / 2)
    assert scores["binary_macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


@pytest.mark.filterwarnings("ignore")
def test_classification_scores_are_scikit_learns_with_default_labels():
    rng = np.random.default_rng(2)
    classes = ["A", "B", "C", UNPARSEABLE]
    for _ in range(100):
        n = int(rng.integers(1, 30))
        gold = [str(g) for g in rng.choice(classes[:3], n)]
        pred = [str(p) for p in rng.choice(classes, n)]
        ours = classification_scores(gold, pred)
        assert ours["accuracy"] == pytest.approx(accuracy_score(gold, pred))
        assert ours["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(gold, pred))
        assert ours["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
        assert ours["micro_f1"] == pytest.approx(f1_score(gold, pred, average="micro"))


def test_binary_setting_drops_either_in_gold_or_prediction():
    scores = steerable_vk_scores(["A", "B", "C", "A"], ["A", "C", "A", "B"])
    assert scores["binary_n"] == 2  # (A, A) and (A, B) remain
    assert scores["binary_accuracy"] == pytest.approx(0.5)
    assert scores["n"] == 4 and scores["accuracy"] == pytest.approx(0.25)


def test_jsd_of_equal_and_nearly_equal_distributions_is_zero():
    from ethos.evaluation.metrics import js_distance

    assert js_distance([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert js_distance([0.5, 0.5], [0.49999999999999994, 0.5]) == 0.0  # scipy gives nan here
    assert js_distance([0.2, 0.3, 0.5], [0.2, 0.3, 0.5 + 1e-17]) == 0.0
    assert js_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.sqrt(math.log(2)))


@pytest.mark.parametrize("pred", [[float("nan"), 0.5], [float("inf"), 1.0], [-0.1, 1.1], [0.0, 0.0]])
def test_a_non_finite_score_fails_naming_the_item(pred):
    from ethos.errors import EthosError
    from ethos.evaluation.tasks import get_task

    items = [
        {"id": "ok-1", "options": ["a", "b"], "gold_distribution": [0.5, 0.5], "pred_distribution": [0.4, 0.6]},
        {"id": "bad-7", "options": ["a", "b"], "gold_distribution": [0.5, 0.5], "pred_distribution": pred},
    ]
    with pytest.raises(EthosError, match="bad-7"):
        get_task("distributional-moralchoice").score(items, nli_model=None, embedding=False, parser="reference", protocol="reference")
