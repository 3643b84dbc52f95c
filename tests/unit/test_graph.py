import pytest
from probes import Overlap

from ethos.agents.models import load_backend
from ethos.errors import EthosError
from ethos.graph.builder import graph
from ethos.graph.context import Context
from ethos.graph.nodes import call_seed
from ethos.graph.state import count_fallbacks

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."


def roles(backend):
    return [c["role"] for c in backend.chat.calls]


def human_prompt(call):
    return next(text for kind, text in call["messages"] if kind == "human")


def test_overton_passes_every_comment_to_the_moderator(fake, run_graph):
    backend = fake()
    out = run_graph({"situation": SITUATION, "mode": "overton"}, backend)
    assert len(out["personas"]) == 6 and out["persona_report"]["generated"] == 6
    assert [c["index"] for c in out["comments"]] == list(range(6))
    assert [c["persona"] for c in out["comments"]] == [p["name"] for p in out["personas"]]
    assert roles(backend) == ["persona_generator"] + ["persona_agent"] * 6 + ["overton_moderator"]
    moderator_prompt = human_prompt(backend.chat.calls[-1])
    for i, comment in enumerate(out["comments"], 1):
        assert f"[{i}] {comment['text']}" in moderator_prompt
    assert out["result"]["mode"] == "overton" and out["result"]["response"]
    # Openers that restate the persona ("As The Truth Teller, ...") are stripped.
    assert not any(c["text"].startswith("As ") for c in out["comments"])


def test_persona_agents_run_in_parallel(fake, run_graph):
    slow_comment = Overlap(0.2, "We should act with care.")
    backend = fake(replies={"persona_agent": slow_comment})
    run_graph({"situation": SITUATION, "mode": "overton"}, backend)
    assert slow_comment.peak >= 2
    assert slow_comment.span < 6 * 0.2  # faster than one after another


def test_steerable_selects_the_comment_for_the_target_and_answers_with_it(fake, run_graph):
    backend = fake()
    request = {
        "situation": "Should the doctor tell?",
        "mode": "steerable",
        "target": "Right to know",
        "options": ["Tell", "Withhold", "Wait", "Ask the ethics board", "Either"],
    }
    out = run_graph(request, backend)
    result = out["result"]
    assert result["selected_persona"] == "The Truth Teller"  # its right or duty is the right to know
    assert result["selection"]["labels"] == list("123456") and result["selection"]["source"] == "logprobs"
    assert len(result["distribution"]["probs"]) == 5 and sum(result["distribution"]["probs"]) == pytest.approx(1)
    select_call, answer_call = backend.chat.calls[-2:]
    assert (select_call["role"], answer_call["role"]) == ("steerable_select", "steerable_answer")
    assert "Right to know" in human_prompt(select_call)
    assert out["comments"][result["selected"]]["text"] in human_prompt(answer_call)
    # Five options are lettered A-E everywhere: no prompt assumes three.
    assert "E. Either" in human_prompt(answer_call) and "(A, B, or C)" not in human_prompt(answer_call)
    generator_prompt = human_prompt(backend.chat.calls[0])
    assert "Right to know" in generator_prompt  # target-aware persona generation


def test_steerable_group_code_is_phrased_with_its_category(fake, run_graph):
    backend = fake()
    run_graph({"situation": "q", "mode": "steerable", "target": "POLPARTY_Democrat", "options": ["Yes", "No"]}, backend)
    assert "in terms of political party, Democrat" in human_prompt(backend.chat.calls[-1])
    assert "people whose political party is Democrat" in human_prompt(backend.chat.calls[0])  # the persona prompt names the people
    assert "POLPARTY_" not in human_prompt(backend.chat.calls[0])


def test_steerable_without_options_answers_in_words(fake, run_graph):
    backend = fake()
    out = run_graph({"situation": SITUATION, "mode": "steerable", "target": "Right to know"}, backend)
    assert out["result"]["answer"] and "distribution" not in out["result"]


def test_distributional_averages_the_per_persona_distributions(fake, run_graph):
    backend = fake()
    request = {
        "situation": "Should the doctor tell?",
        "mode": "distributional",
        "options": ["Tell", "Withhold", "Unsure"],
        "attribute": "Japan",
    }
    out = run_graph(request, backend)
    result = out["result"]
    assert len(result["per_persona"]) == 6
    for row, comment in zip(result["per_persona"], out["comments"]):
        assert row["persona"] == comment["persona"]
        assert row["labels"][row["probs"].index(max(row["probs"]))] == comment["choice"]  # follows its comment
    mean = [sum(r["probs"][k] for r in result["per_persona"]) / 6 for k in range(3)]
    assert result["distribution"] == pytest.approx(mean)
    prompts = [human_prompt(c) for c in backend.chat.calls if c["role"] == "distributional_moderator"]
    assert len(prompts) == 6 and all("Answer as a person from Japan" in p for p in prompts)
    assert count_fallbacks(out) == {
        "library_personas": 0,
        "target_personas_added": 0,
        "parsed_personas": 0,
        "comments_without_choice": 0,
        "uniform_choices": 0,
        "uniform_distributions": 0,
        "sampled_distributions": 0,
        "stand_in_distributions": 0,
        "capped_candidates": 0,
        "uniform_router": 0,
        "random_selections": 0,
        "copied_personas": 0,
        "empty_slots": 0,
        "looping_texts": 0,
        "truncated_texts": 0,
    }


def test_ambiguity_level_is_never_used_as_a_population(fake, run_graph):
    backend = fake()
    run_graph({"situation": "q", "mode": "distributional", "options": ["a", "b"], "attribute": "low_ambiguity"}, backend)
    assert not any("low_ambiguity" in human_prompt(c) for c in backend.chat.calls)


def test_too_few_generated_personas_are_topped_up_and_counted(fake, run_graph):
    backend = fake(persona_lines=2, constraints=())  # a backend that cannot constrain, and a short reply
    out = run_graph({"situation": SITUATION, "mode": "overton"}, backend, persona_attempts=3)
    report = out["persona_report"]
    assert report["attempts"] == 3 and report["generated"] == 2 and report["topped_up"] == 4
    assert [p["source"] for p in out["personas"]] == ["parsed"] * 2 + ["library"] * 4
    assert count_fallbacks(out)["library_personas"] == 4
    seeds = [c["kwargs"]["seed"] for c in backend.chat.calls if c["role"] == "persona_generator"]
    request = {"situation": SITUATION, "options": [], "target": None, "attribute": None}
    assert seeds == [call_seed(Context(), request, "persona_generator", attempt) for attempt in range(3)]  # each retry a new sample
    assert len(set(seeds)) == 3
    # --persona-followup full (the default): each retry asks for the whole set again
    retry = [c for c in backend.chat.calls if c["role"] == "persona_generator"][1]
    assert "Describe 6 ethical perspectives" in retry["messages"][-1][1] and "already taken" not in retry["messages"][-1][1]
    # missing: each retry asks only for the personas still missing, naming those taken
    backend = fake(persona_lines=2, constraints=())
    run_graph({"situation": SITUATION, "mode": "overton"}, backend, persona_attempts=2, persona_followup="missing")
    retry = [c for c in backend.chat.calls if c["role"] == "persona_generator"][1]["messages"][-1][1]
    assert "Describe 4 ethical perspectives" in retry and "already taken" in retry and "- The Truth Teller (Kantian deontology)" in retry


def test_fallbacks_are_counted_when_no_logprobs_and_no_letter_come_back(fake, run_graph):
    backend = fake(logprobs=False, replies={"persona_agent_choice": lambda p: "Hmm", "distributional_moderator": lambda p: "?"})
    out = run_graph({"situation": "q", "mode": "distributional", "options": ["a", "b"]}, backend, n_personas=3, samples=2)
    # Each comment still opens with a choice, drawn uniformly: counted as a uniform choice.
    assert out["comments"] and all(c["choice"] in "AB" and c["choice_source"] == "uniform_fallback" for c in out["comments"])
    assert count_fallbacks(out) == {
        "library_personas": 0,
        "target_personas_added": 0,
        "parsed_personas": 0,
        "comments_without_choice": 0,
        "uniform_choices": 3,
        "uniform_distributions": 3,
        "sampled_distributions": 0,
        "stand_in_distributions": 0,
        "capped_candidates": 0,
        "uniform_router": 0,
        "random_selections": 0,
        "copied_personas": 0,
        "empty_slots": 0,
        "looping_texts": 0,
        "truncated_texts": 0,
    }


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"situation": "  ", "mode": "overton"}, "empty"),
        ({"situation": "x", "mode": "vote"}, "unknown mode 'vote'"),
        ({"situation": "x", "mode": "steerable"}, "needs a target"),
        ({"situation": "x", "mode": "distributional"}, "needs the answer options"),
        ({"situation": 3, "mode": "overton"}, "field 'situation' must be text"),
        ({"situation": "x", "options": "a,b"}, "'options' must be a list of strings"),
    ],
)
def test_bad_requests_fail_in_the_graph_with_a_clear_error(fake, run_graph, request_, message):
    with pytest.raises(EthosError, match=message):
        run_graph(request_, fake())


def test_the_graph_has_one_moderator_node_per_mode():
    nodes = set(graph.get_graph().nodes)
    assert {"seed_personas", "persona_agent", "overton_moderator", "steerable_moderator", "distributional_moderator"} <= nodes


def test_unknown_backend_spec_is_rejected():
    with pytest.raises(EthosError, match="unknown model 'llama'"):
        load_backend("llama")
