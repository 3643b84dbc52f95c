import json

import pytest
from probes import Overlap

from ethos.errors import EthosError
from ethos.evaluation.runner import ResultStore, evaluate
from ethos.evaluation.tasks import get_task, load_task
from ethos.graph.context import Context

TASK = get_task("distributional-globalopinionqa")


def items_file(tmp_path, n=6):
    items = [
        {
            "question": f"Question: q{i}?\nOptions: A. x B. y\nAnswer:",
            "options": ["x", "y"],
            "attribute": "Peru",
            "gold_distribution": [0.7, 0.3],
            "pred_distribution": None,
            "id": i,
        }
        for i in range(n)
    ]
    path = tmp_path / "vital_distributional_globalopinionqa.test.json"
    path.write_text(json.dumps(items))
    return path


def run(fake_backend, path, out, **kwargs):
    """The same command each time: the backend name stays, the fake behind it changes."""
    ctx = Context(generator_model=fake_backend.spec, agent_model=fake_backend.spec, moderator_model=fake_backend.spec, n_personas=2)
    return evaluate(TASK, "ethosagents", load_task(TASK, path), ctx, data=path, out_dir=out, progress=False, **kwargs)


def generator_questions(backend):
    return [msgs[-1][1].split("\n")[0] for msgs in (c["messages"] for c in backend.chat.calls if c["role"] == "persona_generator")]


def test_failed_items_are_recorded_and_retried_without_duplicates(fake, tmp_path):
    path = items_file(tmp_path)

    def flaky(prompt):
        if "q2?" in prompt or "q4?" in prompt:
            raise RuntimeError("model fell over")
        return "#P: v; f; r; e; s\n#Q: v2; f2; r2; e2; s2"

    first = run(fake("fake-runner", replies={"persona_generator": flaky}), path, tmp_path / "out")
    assert first["n"] == 4 and first["failed"] == 2 and first["missing"] == 2
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records if r["status"] == "failed") == [2, 4]
    assert "model fell over" in next(r["error"] for r in records if r["status"] == "failed")

    second_backend = fake("fake-runner")
    second = run(second_backend, path, tmp_path / "out")
    assert sorted(generator_questions(second_backend)) == ["Situation: q2?", "Situation: q4?"]  # only the failures
    assert second["n"] == 6 and second["failed"] == 0 and second["missing"] == 0
    predictions = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert [p["id"] for p in predictions] == list(range(6)) and all(p["pred_distribution"] for p in predictions)


def test_an_interrupted_run_keeps_finished_items_and_continues(fake, tmp_path):
    path = items_file(tmp_path)
    seen = []

    def interrupt_on_third(prompt):
        seen.append(prompt)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return "#P: v; f; r; e; s\n#Q: v2; f2; r2; e2; s2"

    with pytest.raises(KeyboardInterrupt):
        run(fake("fake-runner", replies={"persona_generator": interrupt_on_third}), path, tmp_path / "out", runs_dir=tmp_path / "records")
    statuses = sorted(json.loads(p.read_text())["status"] for p in (tmp_path / "records").glob("runs/*/record.json"))
    assert "interrupted" in statuses and "running" not in statuses  # every item's record tells how it ended
    store = ResultStore(tmp_path / "out")
    done = store.succeeded()
    store.close()
    assert {"0", "1"} <= done and "2" not in done  # an item in flight when interrupted may finish too

    resumed = fake("fake-runner")
    metrics = run(resumed, path, tmp_path / "out")
    assert len(generator_questions(resumed)) == 6 - len(done)  # only the unfinished items ran
    assert metrics["n"] == 6
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == list(range(6))  # each once


def test_a_line_cut_short_by_a_kill_is_run_again(fake, tmp_path):
    path = items_file(tmp_path, n=3)
    run(fake("fake-runner"), path, tmp_path / "out")
    results = tmp_path / "out" / "results.jsonl"
    lines = results.read_text().splitlines()
    results.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])  # killed mid-write
    again = fake("fake-runner")
    metrics = run(again, path, tmp_path / "out")
    assert len(generator_questions(again)) == 1 and metrics["n"] == 3


def test_another_configuration_in_the_same_folder_is_refused(fake, tmp_path):
    path = items_file(tmp_path, n=1)
    run(fake("fake-runner"), path, tmp_path / "out")
    with pytest.raises(EthosError, match="holds results of another configuration \\(differs in context.agent_model"):
        run(fake("fake-other"), path, tmp_path / "out")


def test_concurrency_bound_is_respected(fake, tmp_path):
    path = items_file(tmp_path, n=6)
    slow = Overlap(0.05, "#P: v; f; r; e; s\n#Q: v2; f2; r2; e2; s2")
    run(fake("fake-runner", replies={"persona_generator": slow}), path, tmp_path / "out", max_concurrency=3)
    assert 2 <= slow.peak <= 3


@pytest.mark.parametrize("method", ["vanilla", "ethosagents"])
def test_every_eval_item_writes_its_trace(fake, tmp_path, method):
    path = items_file(tmp_path, n=2)
    backend = fake("fake-trace")
    ctx = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec, n_personas=2)
    evaluate(TASK, method, load_task(TASK, path), ctx, data=path, out_dir=tmp_path / "out", progress=False, runs_dir=tmp_path / "runs")
    traces = sorted((tmp_path / "runs").glob("runs/*/trace.jsonl"))
    assert len(traces) == 2
    for trace in traces:
        lines = [json.loads(line) for line in trace.read_text().splitlines()]
        calls = [line for line in lines if line["kind"] == "exchange"]
        record = json.loads((trace.parent / "record.json").read_text())
        assert len(calls) == record["tokens"]["calls"] > 0  # every model call of the item, and only its own


def test_the_progress_line_says_what_the_items_in_flight_have_done():
    from ethos.agents.models.recording import Exchange
    from ethos.evaluation.items import in_flight_summary

    first = [
        Exchange("persona_generator", "fake", [], "", usage={"output_tokens": 90}),
        Exchange("persona_agent", "fake", [], "", usage={"output_tokens": 40}),
    ]
    assert in_flight_summary([first, []]) == "2 in flight: 2 model calls, 130 new tokens, last: persona agent"
    assert in_flight_summary([[]]) == "1 in flight: 0 model calls, 0 new tokens, last: starting"
    assert in_flight_summary([]) == ""
