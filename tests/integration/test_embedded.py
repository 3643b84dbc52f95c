"""The three modes on the real embedded model (SmolLM2-135M via llama.cpp), small token budgets."""

import json

import pytest
from budgets import SMALL

from ethos.agents.models import load_backend
from ethos.cli import main


def run_json(capsys, *argv):
    assert main(["run", "--json", *SMALL, *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_overton(capsys):
    out = run_json(capsys, "A family asks a doctor to withhold a terminal diagnosis from their mother.")
    assert len(out["personas"]) == 3 and len(out["comments"]) == 3
    assert all(c["text"].strip() for c in out["comments"]) and out["result"]["response"].strip()
    report = out["persona_report"]
    assert report["generated"] + report["topped_up"] == 3 and out["fallbacks"]["library_personas"] == report["topped_up"]
    assert 0 < out["usage"]["new_tokens"] <= 80 + 3 * 32 + 32


def test_steerable(capsys):
    out = run_json(
        capsys,
        "--mode",
        "steerable",
        "--target",
        "POLPARTY_Republican",
        "Should hospitals publish their prices?",
        "--option",
        "Yes",
        "--option",
        "No",
        "--option",
        "Not sure",
    )
    result = out["result"]
    assert result["selection"]["source"] == "logprobs" and sum(result["selection"]["probs"]) == pytest.approx(1)
    assert 0 <= result["selected"] < 3 and result["choice"] in "ABC"
    assert sum(result["distribution"]["probs"]) == pytest.approx(1)


def test_distributional(capsys):
    out = run_json(
        capsys,
        "--mode",
        "distributional",
        "--attribute",
        "Japan",
        "How important is affordable health care?",
        "--option",
        "Very",
        "--option",
        "Somewhat",
        "--option",
        "Not at all",
    )
    result = out["result"]
    assert [row["source"] for row in result["per_persona"]] == ["logprobs"] * 3
    assert sum(result["distribution"]) == pytest.approx(1) and len(result["distribution"]) == 3
    assert out["fallbacks"]["uniform_distributions"] == 0


def test_option_probabilities_are_exact_next_token_probabilities():
    backend = load_backend("embedded")
    prompt = [("human", "Question: Is water wet?\nOptions:\nA. Yes\nB. No\nAnswer with the letter only.\nAnswer:")]
    dist = backend.option_distribution(prompt, ["A", "B"], role="test")
    assert dist.source == "logprobs" and sum(dist.probs) == pytest.approx(1)
    again = backend.option_distribution(prompt, ["A", "B"], role="test")  # the prefix cache changes nothing
    assert again.probs == pytest.approx(dist.probs, abs=1e-6)


def test_a_seeded_run_one_call_at_a_time_is_reproduced_exactly(capsys):
    # Batched decoding is not bit-for-bit batch-invariant in llama.cpp (see test_llama_batch.py for
    # what does hold); with --max-concurrency 1 every call runs alone and a seeded run repeats exactly.
    argv = ["--max-concurrency", "1", "--no-cache", "--seed", "3", "A nurse is asked to hide a medication error from a patient."]
    first, second = run_json(capsys, *argv), run_json(capsys, *argv)
    assert [c["text"] for c in first["comments"]] == [c["text"] for c in second["comments"]]
    assert first["result"] == second["result"] and first["personas"] == second["personas"]
