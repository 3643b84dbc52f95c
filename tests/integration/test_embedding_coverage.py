"""The embedding proxy of value coverage, on the real MiniLM model (loads torch and the model)."""

import pytest

from ethos.evaluation.coverage import EmbeddingScorer


def test_embedding_proxy_rewards_responses_that_state_the_values():
    scorer = EmbeddingScorer()
    explanations = ["Telling the truth respects the patient's right to know.", "Vaccination protects vulnerable neighbours."]
    covering = "Telling the truth respects the patient's right to know. Vaccination protects vulnerable neighbours."
    partial = "Telling the truth respects the patient's right to know. I like trains."
    assert scorer.coverage(explanations, covering) == pytest.approx(1.0, abs=1e-4)
    assert scorer.coverage(explanations, partial) < scorer.coverage(explanations, covering)
