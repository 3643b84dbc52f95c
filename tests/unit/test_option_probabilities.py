import math

import numpy as np
import pytest

from ethos.agents.models.local import top_logprobs_from_logits
from ethos.agents.models.options import OptionDistribution, distribution_from_top_logprobs, leading_label, strip_leading_label
from ethos.agents.seeds import derive_seed


def lp(p):
    return math.log(p)


def test_token_variants_of_one_letter_are_summed_and_renormalised():
    top = [
        {"token": "A", "logprob": lp(0.4)},
        {"token": " A", "logprob": lp(0.1)},
        {"token": "B", "logprob": lp(0.2)},
        {"token": "(C", "logprob": lp(0.05)},
        {"token": "The", "logprob": lp(0.25)},  # not an option: dropped before renormalising
    ]
    probs = distribution_from_top_logprobs(top, ["A", "B", "C"])
    assert probs == pytest.approx([0.5 / 0.75, 0.2 / 0.75, 0.05 / 0.75])


def test_no_option_among_the_candidates_gives_none():
    assert distribution_from_top_logprobs([{"token": "The", "logprob": -0.1}], ["A", "B"]) is None


def test_lowercase_letters_are_not_options():
    assert distribution_from_top_logprobs([{"token": "a", "logprob": -0.1}], ["A", "B"]) is None


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("B", "B"),
        ("B. Oppose", "B"),
        ("(C) either", "C"),
        ("D: it depends", "D"),
        ("**A**", "A"),
        ("**B.** Oppose", "B"),
        ("A)", "A"),
        ("  C.", "C"),
        ("B\n", "B"),
        # A leading word is not a choice: only ".", ")", ":" or the end of the reply after the letter make one.
        ("A patient should be told.", None),
        ("A, because", None),
        ("Because", None),
        ("E. not an option", None),
        (" D", "D"),
        ("", None),
        ("I think B.", None),
    ],
)
def test_leading_label(text, label):
    assert leading_label(text, ["A", "B", "C", "D"]) == label


def test_strip_leading_label_keeps_a_sentence_that_starts_with_a():
    assert strip_leading_label("A patient should be told.") == "A patient should be told."
    assert strip_leading_label("(B) Withhold it.") == "Withhold it."


def test_sampled_choice_is_reproducible_and_follows_the_distribution():
    dist = OptionDistribution(["A", "B", "C"], [0.7, 0.2, 0.1], "logprobs")
    assert dist.sample(0.0, seed=3) == "A"  # temperature 0: the most likely option
    draws = [dist.sample(1.0, seed=s) for s in range(2000)]
    assert [draws.count(x) / 2000 for x in "ABC"] == pytest.approx([0.7, 0.2, 0.1], abs=0.03)
    assert draws == [dist.sample(1.0, seed=s) for s in range(2000)]


def test_top_logprobs_from_logits_is_an_exact_log_softmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=50).astype(np.float32)
    top = top_logprobs_from_logits(logits, 5, str)
    expected = logits - np.log(np.exp(logits.astype(np.float64)).sum())
    order = np.argsort(-expected)[:5]
    assert [int(t["token"]) for t in top] == order.tolist()
    assert [t["logprob"] for t in top] == pytest.approx(expected[order].tolist())


def test_backend_reads_logprobs_through_the_same_call_for_every_option_count(fake):
    backend = fake()
    for n in (1, 2, 5):
        labels = [chr(65 + i) for i in range(n)]
        question = "Question: q\nOptions:\n" + "\n".join(f"{label}. option" for label in labels)
        dist = backend.option_distribution([("human", f"Passage: {labels[-1]}. text\n{question}")], labels, role="distributional_moderator")
        assert dist.source == "logprobs" and sum(dist.probs) == pytest.approx(1)
        assert dist.pick(0) == labels[-1]


def test_endpoint_without_logprobs_is_estimated_by_sampling_and_flagged(fake):
    backend = fake(logprobs=False)
    prompt = [("human", "Passage: A. text\nQuestion: q\nOptions:\nA. yes\nB. no")]
    dist = backend.option_distribution(prompt, ["A", "B"], role="distributional_moderator", samples=8, seed=0)
    assert dist.source == "sampling"
    # The fake answers the passage's letter, except for seeds divisible by 4.
    seeds = [derive_seed(0, "sample", i) for i in range(8)]
    b_share = sum(seed % 4 == 0 for seed in seeds) / 8
    assert dist.probs == pytest.approx([1 - b_share, b_share])
    samples = [c for c in backend.chat.calls if not c["kwargs"].get("logprobs")]
    assert sorted(c["kwargs"]["seed"] for c in samples) == sorted(seeds) and len(set(seeds)) == 8  # distinct samples, never merged


def test_no_usable_answer_falls_back_to_uniform_and_says_so(fake):
    backend = fake(logprobs=False, replies={"distributional_moderator": lambda prompt: "I cannot say."})
    dist = backend.option_distribution([("human", "Question: q\nA. yes\nB. no")], ["A", "B"], role="distributional_moderator", samples=3)
    assert dist.source == "uniform_fallback" and dist.probs == [0.5, 0.5]
