"""Every method is a configuration of the one compiled graph, with the predictions it had when the
baselines ran outside it."""

import json
import sqlite3

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from method_snapshot import snapshot
from tests_paths import FIXTURES

from ethos.agents.baseline_prompts import COMMUNITIES
from ethos.cli import main
from ethos.graph.builder import build_graph, graph
from ethos.graph.context import Context
from ethos.graph.methods import METHODS
from ethos.graph.state import count_fallbacks

OPTIONS = ["Tell her now", "Wait for the family", "Let her decide"]


def test_each_methods_predictions_match_those_recorded_before_the_baselines_moved_into_the_graph():
    # Recorded at 6d6a7c1, whose evaluation/methods.py ran ModPlural and MoE on their own thread
    # pool and vanilla and prompting outside any graph; fake model with and without logprobs, up to
    # three items of every task. Regenerated for the reference protocol's letter reading and
    # community messages: under --protocol ethos only moe and modplural moved (their community
    # messages are now seeded by the community, not its place, so the two methods share them).
    recorded = json.loads((FIXTURES / "method_predictions.json").read_text())
    now = snapshot()
    assert {key.split()[2] for key in recorded} == set(METHODS) and len(recorded) == 180
    assert now == recorded


@pytest.mark.parametrize(
    "method, nodes",
    [
        ("vanilla", ["answer"]),
        ("prompting", ["answer"]),
        ("moe", ["route_expert", "community_agent", "answer"]),
        ("modplural", ["seed_communities", *["community_agent"] * 6, "distributional_moderator"]),
        ("ethosagents", ["seed_personas", *["persona_agent"] * 6, "distributional_moderator"]),
    ],
)
def test_every_method_runs_as_one_graph_invocation_through_its_nodes(fake, method, nodes):
    backend = fake()
    ctx = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec, method=method)
    ran = []
    for update in graph.stream(
        {"situation": "Should the family be told first?", "mode": "distributional", "options": OPTIONS}, context=ctx, stream_mode="updates"
    ):
        ran += list(update)
    assert ran == nodes
    state = graph.invoke(
        {"situation": "Should the family be told first?", "mode": "distributional", "options": OPTIONS},
        context=ctx.replace(conversation_in_state=True),
    )
    assert state["method"] == method
    assert (
        len(state["result"]["distribution"]["probs"] if method in ("vanilla", "prompting", "moe") else state["result"]["distribution"]) == 3
    )
    roles = {e["role"] for e in state["conversation"]}
    assert ("moe_router" in roles) == (method == "moe")
    assert ("community_agent" in roles) == (method in ("moe", "modplural"))


def test_moe_routes_to_one_community_and_counts_a_uniform_router(fake):
    backend = fake()
    ctx = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec, method="moe")
    state = graph.invoke(
        {
            "situation": "Is it right to ration ventilators by age?",
            "mode": "steerable",
            "options": ["Yes", "No"],
            "target": "POLPARTY_Democrat",
        },
        context=ctx,
    )
    assert len(state["personas"]) == 1 and state["personas"][0]["source"] == "community"
    router = state["router"]
    assert router["labels"] == list("ABCDEF") and sum(router["probs"]) == pytest.approx(1)
    chosen = router["probs"].index(max(router["probs"]))  # the most likely, first on a tie (argmax)
    assert state["personas"][0] == COMMUNITIES[chosen]
    assert state["comments"][0]["persona"] == state["personas"][0]["name"]
    assert count_fallbacks(state)["uniform_router"] == 0
    # A router that names no community falls back to a uniform choice: counted, and its pick is a seeded draw.
    lost = fake(logprobs=False, replies={"moe_router": lambda prompt: "?"})
    ctx = Context(generator_model=lost.spec, agent_model=lost.spec, moderator_model=lost.spec, method="moe", samples=2)
    state = graph.invoke(
        {"situation": "Is it right to ration ventilators by age?", "mode": "distributional", "options": ["Yes", "No"]}, context=ctx
    )
    assert state["router"]["source"] == "uniform_fallback" and count_fallbacks(state)["uniform_router"] == 1
    request = {"situation": "Is it right to ration ventilators by age?", "options": ["Yes", "No"]}
    picks = {
        COMMUNITIES.index(
            graph.invoke({**request, "situation": f"{request['situation']} ({i})", "mode": "distributional"}, context=ctx)["personas"][0]
        )
        for i in range(12)
    }
    assert len(picks) > 2  # not always the first community


def test_a_second_method_on_the_same_thread_starts_afresh(fake, tmp_path):
    backend = fake()
    saver = SqliteSaver(sqlite3.connect(tmp_path / "c.sqlite", check_same_thread=False))
    checkpointed = build_graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    request = {"situation": "Should the family be told first?", "mode": "distributional", "options": OPTIONS}
    settings = dict(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec)
    first = checkpointed.invoke(request, context=Context(**settings, method="modplural"), config=config)
    assert len(first["comments"]) == 6
    second = checkpointed.invoke(request, context=Context(**settings, method="vanilla", conversation_in_state=True), config=config)
    assert second["method"] == "vanilla"
    assert second["comments"] == [] and second["personas"] == []
    assert {e["node"] for e in second["conversation"]} == {"answer"}


def test_ethos_run_takes_a_baseline_method(fake, capsys):
    backend = fake()
    code = main(
        [
            "run",
            "Should the family be told first?",
            "--mode",
            "distributional",
            *[a for o in OPTIONS for a in ("--option", o)],
            "--model",
            backend.spec,
            "--method",
            "moe",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "moe" and len(out["comments"]) == 1
    assert sum(out["result"]["distribution"]["probs"]) == pytest.approx(1)


def test_max_concurrency_limits_the_agents_and_finished_comments_are_checkpointed_while_others_write(fake, tmp_path):
    """`ethos run --max-concurrency` limits the agents with a semaphore: LangGraph's own limit would
    also hold back the saving of finished agents' writes, and a crash would lose them."""
    import threading
    import time

    from ethos.graph.nodes import agents_at_once

    saver = SqliteSaver(sqlite3.connect(tmp_path / "c.sqlite", check_same_thread=False))
    checkpointed = build_graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    lock, in_flight, most, saved_seen = threading.Lock(), [0], [0], []

    def comment(prompt):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)
        saved = [w for w in (saver.get_tuple(config).pending_writes or []) if w[1] == "comments"]
        saved_seen.append(len(saved))
        with lock:
            in_flight[0] -= 1
        return "A comment."

    backend = fake(replies={"persona_agent": comment})
    ctx = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec)
    with agents_at_once(1):
        state = checkpointed.invoke(
            {"situation": "Should the family be told first?", "mode": "overton"}, context=ctx, config=config, durability="sync"
        )
    assert len(state["comments"]) == 6 and most[0] == 1
    # Each agent sees every comment finished before it already saved (with LangGraph's
    # max_concurrency=1 all six see none: the writes wait for the pool's one thread).
    assert saved_seen == [0, 1, 2, 3, 4, 5]
