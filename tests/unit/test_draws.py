"""Independent, reproducible draws: every sampled call's seed comes from the run's seed and what
identifies the call, ties are broken by a seeded draw, and equal comments are selected equally."""

import math
from collections import Counter

import numpy as np
import pytest

from ethos.agents.models.base import Decoding
from ethos.agents.models.options import OptionDistribution
from ethos.agents.moderators import balanced_groups, select_comment
from ethos.agents.persona_agent import write_with_choice
from ethos.agents.prompts import select_messages
from ethos.agents.seeds import SEED_SPACE, derive_seed, request_key, seeded_argmax
from ethos.graph.context import Context
from ethos.graph.nodes import call_seed


class KnownChoice:
    """A backend whose option distribution is given: P(A) = p."""

    def __init__(self, p):
        self.p = p

    def option_distribution(self, messages, labels, **kwargs):
        return OptionDistribution(list(labels), [self.p, 1 - self.p], "logprobs")

    def complete(self, messages, *, prefix="", **kwargs):
        return f"{prefix} text"


def choices(items, p_of, ctx=Context(seed=0), slots=6):
    """The option each persona slot of each item draws, exactly as the graph seeds it."""
    drawn = []
    for k, item in enumerate(items):
        row = []
        for slot in range(slots):
            decoding = Decoding(200, 1.0, call_seed(ctx, item, "persona_agent", slot))
            row.append(write_with_choice(KnownChoice(p_of(k)), [], ["yes", "no"], role="persona_agent", decoding=decoding)["choice"])
        drawn.append(row)
    return np.array(drawn) == "A"


def _items(n):
    return [{"situation": f"synthetic question {k}", "options": ["yes", "no"]} for k in range(n)]


def _inside_binomial(successes, trials, p, z=3.29):  # 99.9%: a true failure, not bad luck
    sd = math.sqrt(trials * p * (1 - p))
    return abs(successes - trials * p) <= z * sd


def test_the_share_of_a_comments_matches_p_over_a_grid():
    items = _items(420)
    grid = np.linspace(0.05, 0.95, 7)
    a = choices(items, lambda k: grid[k % len(grid)])
    expected = sum(grid[k % len(grid)] for k in range(len(items))) * 6
    sd = math.sqrt(sum(6 * q * (1 - q) for q in (grid[k % len(grid)] for k in range(len(items)))))
    assert abs(a.sum() - expected) <= 3.29 * sd


def test_no_slot_repeats_its_draw_across_items():
    # Before, slot i drew with seed + i on every item: at P(A) = 0.5 each slot was all A or all B.
    a = choices(_items(400), lambda k: 0.5)
    for slot in range(6):
        assert _inside_binomial(a[:, slot].sum(), 400, 0.5), f"slot {slot}: {a[:, slot].sum()} of 400"
    # and slots are not correlated with one another across items
    corr = np.corrcoef(a.T.astype(float))
    assert np.abs(corr[np.triu_indices(6, 1)]).max() < 0.2


def test_seeds_repeat_and_differ_by_every_part():
    item = {"situation": "q", "options": ["a", "b"], "target": None, "attribute": None}
    ctx = Context(seed=7)
    assert call_seed(ctx, item, "persona_agent", 0) == call_seed(ctx, dict(item), "persona_agent", 0)
    seeds = {call_seed(ctx, item, "persona_agent", i) for i in range(6)}
    seeds |= {
        call_seed(ctx, {**item, "situation": "another"}, "persona_agent", 0),
        call_seed(ctx, item, "persona_generator", 0),
        call_seed(ctx, item, "persona_generator", 1),
        call_seed(Context(seed=8), item, "persona_agent", 0),
    }
    assert len(seeds) == 10
    assert request_key({**item, "target": "POLPARTY_Democrat"}) != request_key(item)


def test_no_seed_is_llamacpp_random_seed():
    assert SEED_SPACE == 2**32 - 1
    seeds = [derive_seed(s, "x", i) for s in (0, 2**32 - 1, 2**32 - 2) for i in range(2000)]
    assert max(seeds) < 2**32 - 1 and min(seeds) >= 0


def test_ties_are_broken_by_a_seeded_draw_uniformly():
    # the seeds the code passes are derived ones (hashes), as here
    picks = Counter(seeded_argmax([0.25, 0.25, 0.25, 0.25], derive_seed(0, "tie", i)) for i in range(4000))
    assert set(picks) == {0, 1, 2, 3} and all(_inside_binomial(c, 4000, 0.25) for c in picks.values())
    assert seeded_argmax([0.1, 0.6, 0.3], 123) == 1  # no tie: the largest
    assert seeded_argmax([0.5, 0.5], 5) == seeded_argmax([0.5, 0.5], 5)  # repeatable


def test_a_uniform_fallback_picks_at_random_not_the_first():
    from ethos.agents.models.options import uniform

    picks = Counter(uniform(["A", "B", "C"]).pick(derive_seed(1, "tie", i)) for i in range(3000))
    assert all(_inside_binomial(picks[label], 3000, 1 / 3) for label in "ABC")


@pytest.mark.parametrize("n", [10, 11, 17, 19, 27])
def test_balanced_groups_have_no_bye(n):
    groups = balanced_groups(n)
    sizes = [len(g) for g in groups]
    assert sorted(i for g in groups for i in g) == list(range(n))
    assert max(sizes) <= 9 and max(sizes) - min(sizes) <= 1 and min(sizes) >= 2


class Scored:
    """A selector that scores each comment by its text: "good" comments twice the others."""

    def __init__(self):
        self.calls = 0

    def option_distribution(self, messages, labels, **kwargs):
        self.calls += 1
        listed = [line for line in messages[-1][1].splitlines() if line.startswith("Comment ")]
        scores = np.array([2.0 if "good" in line else 1.0 for line in listed])
        return OptionDistribution(list(labels), list(scores / scores.sum()), "logprobs")


ASK = lambda shown: select_messages("s", shown, "Right to know")  # noqa: E731


@pytest.mark.parametrize("n", [10, 11, 17, 19])
def test_equal_comments_get_equal_selection_probabilities(n):
    texts = [f"comment {i}" for i in range(n)]
    _, selection = select_comment(Scored(), texts, ASK, samples=1, seed=0)
    assert np.allclose(selection.probs, 1 / n) and math.isclose(sum(selection.probs), 1)
    # one better comment: it is the most likely wherever it stands, and the rest stay equal
    for best in (0, n - 1):
        texts = [("good " if i == best else "") + f"comment {i}" for i in range(n)]
        index, selection = select_comment(Scored(), texts, ASK, samples=1, seed=0)
        others = [p for i, p in enumerate(selection.probs) if i != best]
        assert index == best and np.allclose(others, others[0]) and selection.probs[best] > others[0]


def test_a_tied_selection_is_spread_over_the_comments():
    picks = Counter(select_comment(Scored(), ["x", "y", "z"], ASK, samples=1, seed=derive_seed(2, i))[0] for i in range(600))
    assert all(_inside_binomial(picks[i], 600, 1 / 3) for i in range(3))


def test_the_persona_generator_asks_for_a_repetition_penalty_only_where_a_backend_has_one(fake, run_graph):
    from ethos.agents.models.base import Backend
    from ethos.agents.models.fake import FakeChatModel

    plain = fake()
    run_graph({"situation": "q", "mode": "overton"}, plain, n_personas=2)
    assert plain.chat.calls and all("repeat_penalty" not in c["kwargs"] for c in plain.chat.calls)  # an endpoint would refuse the field
    capable = Backend("fake-penalties", FakeChatModel(), constraints=("grammar",), prefill=True, penalties=True)
    from ethos.agents.models import register_backend

    register_backend("fake-penalties", capable)
    run_graph({"situation": "q", "mode": "overton"}, capable, n_personas=2, persona_repeat_penalty=1.3)
    generator = [c for c in capable.chat.calls if c["role"] == "persona_generator"]
    others = [c for c in capable.chat.calls if c["role"] != "persona_generator"]
    assert generator and all(c["kwargs"]["repeat_penalty"] == 1.3 for c in generator)
    assert others and all("repeat_penalty" not in c["kwargs"] for c in others)
