"""The method as published on every backend: constrained personas, constrained choices, unbiased
moderator inputs, per-run thread state and conditioning (fake model; real engines in integration)."""

import re

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from ethos.agents.moderators import select_comment
from ethos.agents.prompts import select_messages
from ethos.cli import main
from ethos.errors import EthosError
from ethos.graph.builder import build_graph
from ethos.graph.context import Context
from ethos.graph.state import count_fallbacks
from ethos.personas.format import persona_grammar, persona_json_schema

SITUATION = "A family asks a doctor to withhold a terminal diagnosis from their mother."
QUESTION = {"situation": "Should the doctor tell?", "options": ["Tell", "Withhold", "Wait"]}


def calls_of(backend, role):
    return [c for c in backend.chat.calls if c["role"] == role]


def human(call):
    return next(text for kind, text in call["messages"] if kind == "human")


def test_grammar_asks_for_exactly_n_lines_of_name_and_five_slots():
    grammar = persona_grammar(4)
    assert grammar.splitlines()[0] == "root ::= line line line line"
    assert grammar.count('"; "') == 4  # five slots
    schema = persona_json_schema(3)["properties"]["personas"]
    assert schema["minItems"] == schema["maxItems"] == 3
    assert set(schema["items"]["required"]) == {"name", "core_value", "framework", "right_or_duty", "emotion", "stakeholder"}


def test_a_grammar_backend_generates_every_persona_constrained(fake, run_graph):
    backend = fake(persona_lines=0)  # unconstrained it would give nothing: the grammar is what works
    out = run_graph({"situation": SITUATION, "mode": "overton"}, backend)
    assert [p["source"] for p in out["personas"]] == ["constrained"] * 6
    report = out["persona_report"]
    assert (report["constrained"], report["parsed"], report["topped_up"], report["notes"]) == (6, 0, 0, [])
    call = calls_of(backend, "persona_generator")[0]
    assert call["kwargs"]["grammar"] == persona_grammar(6)


def test_a_json_schema_backend_gets_structured_personas(fake, run_graph):
    backend = fake(persona_lines=0, constraints=["json_schema"])
    out = run_graph({"situation": SITUATION, "mode": "overton"}, backend, n_personas=4)
    assert [p["source"] for p in out["personas"]] == ["constrained"] * 4
    assert out["personas"][0]["name"] == "The Truth Teller" and out["personas"][0]["stakeholder"] == "patient"
    sent = calls_of(backend, "persona_generator")[0]["kwargs"]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == persona_json_schema(4)


def test_a_rejected_constraint_falls_back_to_the_parser_and_is_counted(fake, run_graph):
    backend = fake(constraints=["json_schema", "json_object_schema"], unsupported=("response_format",))
    out = run_graph({"situation": SITUATION, "mode": "overton"}, backend)
    report = out["persona_report"]
    assert [p["source"] for p in out["personas"]] == ["parsed"] * 6 and report["parsed"] == 6
    assert report["notes"] == [
        f"{backend.spec} rejected the json_schema constraint (UnsupportedParameter); "
        "rejected the json_object_schema constraint (UnsupportedParameter): the reply was parsed"
    ]
    assert count_fallbacks(out)["parsed_personas"] == 6
    assert backend.constraints == ()  # asked once: the next run goes straight to the parser
    again = run_graph({"situation": SITUATION, "mode": "overton"}, backend, seed=5)
    assert again["persona_report"]["notes"] == [f"{backend.spec} cannot constrain its output: the reply was parsed"]


def test_an_unconstrained_backend_is_parsed_and_counted(fake, run_graph):
    backend = fake(constraints=(), persona_lines=3)
    out = run_graph({"situation": SITUATION, "mode": "overton"}, backend)
    sources = [p["source"] for p in out["personas"]]
    assert sources.count("parsed") == 3 and sources.count("library") == 3
    assert count_fallbacks(out)["parsed_personas"] == 3 and count_fallbacks(out)["library_personas"] == 3


def test_too_small_a_persona_budget_is_refused_naming_the_flags(fake, capsys):
    backend = fake()
    assert main(["run", "--model", backend.spec, "--n-personas", "6", "--persona-tokens", "40", SITUATION]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--persona-tokens 40" in err and "--n-personas 6" in err and "Traceback" not in err


def test_every_multiple_choice_comment_opens_with_a_choice_the_model_made(fake, run_graph):
    # Unconstrained, these replies would carry no letter (or a false one: "A patient ...").
    backend = fake(replies={"persona_agent": lambda prompt: "A patient should hear the truth from her doctor."})
    out = run_graph({**QUESTION, "mode": "distributional"}, backend)
    choice_calls = calls_of(backend, "persona_agent_choice")
    assert len(choice_calls) == 6 and all(c["kwargs"].get("logprobs") for c in choice_calls)
    for comment in out["comments"]:
        assert comment["choice"] in "ABC" and comment["choice_source"] == "logprobs"
        assert comment["text"] == f"{comment['choice']}. A patient should hear the truth from her doctor."
    prefixes = sorted(c["kwargs"]["prefix"] for c in calls_of(backend, "persona_agent"))
    assert prefixes == sorted(f"{c['choice']}." for c in out["comments"])
    assert count_fallbacks(out)["comments_without_choice"] == 0


def test_a_backend_without_prefill_is_told_to_begin_with_the_choice(fake, run_graph):
    backend = fake(prefill=False, replies={"persona_agent": lambda prompt: "We must tell her."})
    out = run_graph({**QUESTION, "mode": "distributional"}, backend, n_personas=2)
    calls = {c["messages"][0][1]: c for c in calls_of(backend, "persona_agent")}  # by the persona's system prompt
    assert len(calls) == 2
    for comment in out["comments"]:
        call = next(c for system, c in calls.items() if f"You speak for {comment['persona']} (" in system)
        assert f'Begin your reply with "{comment["choice"]}."' in human(call)
        assert comment["text"] == f"{comment['choice']}. We must tell her."


def test_choices_are_reproducible_for_a_seed(fake, run_graph):
    first = run_graph({**QUESTION, "mode": "distributional"}, fake(), seed=7)
    second = run_graph({**QUESTION, "mode": "distributional"}, fake(), seed=7)
    assert [c["choice"] for c in first["comments"]] == [c["choice"] for c in second["comments"]]


def test_the_selection_prompt_numbers_comment_texts_without_names_or_options(fake, run_graph):
    backend = fake()
    request = {
        "situation": "Should the doctor tell?",
        "mode": "steerable",
        "target": "Right to know",
        "options": ["Tell", "Withhold", "Wait", "Ask the ethics board", "Either"],
    }
    out = run_graph(request, backend)
    prompt = human(calls_of(backend, "steerable_select")[0])
    for i, comment in enumerate(out["comments"], 1):
        assert f"Comment {i}: {comment['text']}" in prompt
    assert not any(p["name"] in prompt for p in out["personas"])
    assert not re.search(r"^[A-E]\. ", prompt, re.MULTILINE) and "Ask the ethics board" not in prompt
    assert out["result"]["selection"]["labels"] == ["1", "2", "3", "4", "5", "6"]


def test_more_than_nine_comments_are_selected_in_rounds(fake):
    backend = fake()
    texts = [f"Comment about topic {i}." for i in range(13)]
    texts[11] = "The right to know must come first."
    index, selection = select_comment(backend, texts, lambda shown: select_messages("q", shown, "Right to know"), samples=1, seed=0)
    assert index == 11 and selection.labels == [str(i) for i in range(1, 14)]
    assert sum(selection.probs) == pytest.approx(1) and int(max(range(13), key=selection.probs.__getitem__)) == 11
    rounds = [human(c) for c in calls_of(backend, "steerable_select")]
    assert len(rounds) == 3  # balanced groups of 6 and 7 (no bye), then the final between their winners
    assert "Comment 6: The right to know must come first." in rounds[1] and "Comment 8" not in "".join(rounds)


def test_two_runs_on_one_thread_start_with_fresh_comments(fake):
    # each comment names its situation, so the first run's comments differ from the second's
    backend = fake(replies={"persona_agent": lambda prompt: "On this: " + prompt.split("Situation: ", 1)[-1][:40]})
    graph = build_graph().compile(checkpointer=InMemorySaver())
    context = Context(
        generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec, n_personas=3, conversation_in_state=True
    )
    config = {"configurable": {"thread_id": "one-thread"}}
    first = graph.invoke({"situation": SITUATION, "mode": "overton"}, config=config, context=context)
    second = graph.invoke({"situation": "Another situation.", "mode": "overton"}, config=config, context=context)
    assert len(first["comments"]) == len(second["comments"]) == 3
    assert [e["node"] for e in second["conversation"]] == ["seed_personas"] + ["persona_agent"] * 3 + ["overton_moderator"]
    assert first["tokens"]["calls"] == second["tokens"]["calls"] == 5  # the token counts start afresh too
    assert all("Another situation." in human(c) for c in backend.chat.calls[-4:])
    assert second["comments"][0]["text"] in human(backend.chat.calls[-1])
    assert first["comments"][0]["text"] != second["comments"][0]["text"]
    assert first["comments"][0]["text"] not in human(backend.chat.calls[-1])  # the moderator saw this run's comments only


def test_generator_and_comments_see_the_population_and_the_target(fake, run_graph):
    backend = fake()
    run_graph({**QUESTION, "mode": "distributional", "attribute": "Japan"}, backend, n_personas=2)
    assert "people from Japan" in human(calls_of(backend, "persona_generator")[0])
    assert calls_of(backend, "persona_agent") and all(
        "The people answering this question are people from Japan." in human(c) for c in calls_of(backend, "persona_agent")
    )
    backend = fake()
    run_graph({**QUESTION, "mode": "steerable", "target": "RELIG_Muslim"}, backend, n_personas=2)
    assert "people whose religion is Muslim" in human(calls_of(backend, "persona_generator")[0])
    assert calls_of(backend, "persona_agent") and all(
        "point of view: in terms of religion, Muslim" in human(c) for c in calls_of(backend, "persona_agent")
    )


def test_an_ambiguity_level_is_no_population_for_generator_or_comments(fake, run_graph):
    backend = fake()
    run_graph({**QUESTION, "mode": "distributional", "attribute": "high_ambiguity"}, backend, n_personas=2)
    assert not any("ambiguity" in human(c) for c in backend.chat.calls)


def test_budget_check_does_not_apply_to_library_personas(fake, run_graph):
    out = run_graph({"situation": SITUATION, "mode": "overton"}, fake(), personas="library", persona_tokens=8)
    assert len(out["personas"]) == 6


def test_unsatisfiable_persona_count_in_the_graph_names_the_flag(fake, run_graph):
    with pytest.raises(EthosError, match="--n-personas 24"):
        run_graph({"situation": SITUATION, "mode": "overton"}, fake(), n_personas=24, persona_tokens=100)
