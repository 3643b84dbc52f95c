"""The researcher's workflow: results kept by model and settings, and methods compared paired."""

import json

import pytest
from tests_paths import FIXTURES

from ethos.cli import main

EVAL = ["eval", "--task", "distributional-globalopinionqa", "--data", str(FIXTURES), "--method", "vanilla", "--no-progress"]


def test_two_models_and_two_settings_keep_their_results_apart_by_default(fake, runs_dir, capsys):
    first, second = fake(), fake()
    assert main([*EVAL, "--model", first.spec]) == 0
    assert main([*EVAL, "--model", second.spec]) == 0  # before: "holds results of another configuration"
    assert main([*EVAL, "--model", second.spec, "--seed", "3"]) == 0
    folders = sorted(p.parent.relative_to(runs_dir / "eval") for p in (runs_dir / "eval").rglob("metrics.json"))
    assert len(folders) == 3 and {f.parts[0] for f in folders} == {first.spec, second.spec}
    assert main([*EVAL, "--model", first.spec]) == 0  # the same settings again: resumed, nothing new
    assert len(list((runs_dir / "eval").rglob("metrics.json"))) == 3
    assert "predictions in" in capsys.readouterr().err


def test_the_report_compares_rows_paired_and_tells_models_apart(fake, tmp_path, capsys):
    good = fake()
    out = tmp_path / "out"
    assert main([*EVAL, "--model", good.spec, "--method", "vanilla,moe", "--out", str(out / "a")]) == 0
    other = fake()
    assert main([*EVAL, "--model", other.spec, "--out", str(out / "b")]) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert f"| vanilla · {good.spec} |" in report and f"| vanilla · {other.spec} |" in report  # same method, two models: two rows
    assert "Paired against vanilla" in report and "| moe · " in report and "better / worse items" in report


def test_runs_are_found_by_kind_method_status_and_model(fake, runs_dir, capsys):
    mine = fake()
    assert main(["run", "--model", mine.spec, "--n-personas", "2", "--method", "vanilla", "Should she be told?"]) == 0
    assert main([*EVAL, "--model", mine.spec]) == 0
    capsys.readouterr()
    assert main(["runs", "--kind", "run", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 1 and runs[0]["kind"] == "run"
    assert main(["runs", "--kind", "eval", "--method", "vanilla", "--status", "ok", "--model", mine.spec, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["runs", "--method", "moe", "--json"]) == 0 and json.loads(capsys.readouterr().out) == []
    assert main(["runs"]) == 0 and "vanilla" in capsys.readouterr().out  # the method column


def test_personas_show_prints_valid_json_for_several_matches(capsys):
    assert main(["personas", "show", "patient"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert isinstance(shown, list) and len(shown) > 1 and all("patient" in p["name"].lower() for p in shown)


def test_the_trace_merges_token_variants_of_one_label():
    import math

    from ethos.graph.conversation import node_lines

    top = [{"token": "A", "logprob": math.log(0.5)}, {"token": " A", "logprob": math.log(0.2)}, {"token": "B", "logprob": math.log(0.3)}]
    line = "\n".join(
        node_lines("m", [{"role": "r", "model": "x", "messages": [["human", "q"]], "reply": "A", "top_logprobs": top}], last=True)
    )
    assert "A 0.70, B 0.30" in line


def test_output_that_says_little_is_counted_and_warned_about(fake, capsys):
    loop = "a moral dilemma that requires " * 6
    backend = fake(
        constraints=(),
        replies={
            "persona_generator": lambda p: (
                "#Situation: harm to; the; innocent; the; nurse\n#The Nurse: care; ethics of care; duty; worry; nurse"
            ),
            "persona_agent": lambda p: loop,
            "overton_moderator": lambda p: "This answer runs on and on without ever reaching the end of its",
        },
    )
    assert main(["run", "--model", backend.spec, "--n-personas", "2", "--persona-attempts", "1", "--json", "Hide the error?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fallbacks"]["copied_personas"] == 1 and out["fallbacks"]["empty_slots"] == 2
    assert out["fallbacks"]["looping_texts"] == 2 and out["fallbacks"]["truncated_texts"] == 3  # the loops stop mid-sentence too
    assert main(["run", "--model", backend.spec, "--n-personas", "2", "--persona-attempts", "1", "Hide the error?"]) == 0
    printed = "".join(capsys.readouterr())
    assert "Quality signs: 1 copied personas, 2 empty slots, 2 looping texts, 3 truncated texts" in printed
    assert "texts loop or stop mid-sentence" in printed


def test_last_names_the_newest_run(fake, runs_dir, capsys):
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "--method", "vanilla", "--json", "First?"]) == 0
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "--method", "vanilla", "--json", "Second?"]) == 0
    newest = json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"]
    assert main(["trace", "last", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == newest
    assert main(["trace", "last", "--runs-dir", str(runs_dir / "empty")]) == 2
    assert "no runs yet" in capsys.readouterr().err
    # `last` is the run that finished last, not the one that started last: an older run that ends
    # after a newer one (an embedded run beside a fake one) is the one `ethos trace last` shows.
    from ethos.graph.records import RunRecord, load_record

    record = load_record(runs_dir, newest)
    older = RunRecord(runs_dir, "20000101-000000-aaaaaa")
    older.start("run", {"situation": "Slow?"}, record.data["config"])
    older.finish({}, [], status="ok", seconds=1.0)
    from ethos.inputs import write_json

    write_json(older.path, older.data | {"started": record.data["started"] - 60})  # started before the newest, finished after it
    assert load_record(runs_dir, "last").run_id == "20000101-000000-aaaaaa"
    write_json(older.path, older.data | {"started": record.data["started"] - 60, "finished": record.data["finished"] - 30})
    assert load_record(runs_dir, "last").run_id == newest
    assert main(["runs"]) == 0 and " fake-test-" in capsys.readouterr().out  # the model column


def test_an_item_run_shows_its_gold_and_its_score(fake, capsys):
    item = str(FIXTURES / "vital_distributional_globalopinionqa.sample.json")
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "--item", item, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    gold = json.loads((FIXTURES / "vital_distributional_globalopinionqa.sample.json").read_text())[0]["gold_distribution"]
    from ethos.evaluation.metrics import js_distance

    assert out["score"]["gold_distribution"] == gold
    assert out["score"]["jsd"] == pytest.approx(js_distance(gold, out["result"]["distribution"]), abs=1e-4)
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "--item", item]) == 0
    printed = capsys.readouterr().out
    assert "Gold distribution: A " in printed and f"JS distance {out['score']['jsd']:.3f}" in printed
    vk = str(FIXTURES / "vital_steerable_valuekaleidoscope.sample.json")
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "--item", vk, "--json"]) == 0
    score = json.loads(capsys.readouterr().out)["score"]
    assert score["gold_label"] in "ABC" and score["correct"] == float(score["answer"] == score["gold_label"])


def test_ctrl_c_in_a_run_gives_one_hint(fake, capsys, monkeypatch):
    from ethos.graph import builder

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(builder, "persona_agent", interrupted)
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "Should she be told?"]) == 130
    hints = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ethos:")]
    assert len(hints) == 1 and "ethos run --resume" in hints[0] and "rerun the same command" not in hints[0]


def test_personas_list_has_a_source_column_and_marks_cut_text(capsys):
    assert main(["personas", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["name", "source"] and all(line.split()[-1] for line in lines[1:])
    assert any(" library " in line for line in lines[1:]) and any("…" in line for line in lines[1:])


def test_the_page_compares_two_models_paired_with_one_colour_per_row_in_every_chart(fake, tmp_path, capsys):
    import re

    first, second = fake(), fake()
    data = ["--task", "distributional-moralchoice", "--data", str(FIXTURES), "--method", "vanilla,ethosagents", "--n-personas", "2"]
    assert main(["eval", *data, "--model", first.spec, "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert main(["eval", *data, "--model", second.spec, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["view", str(tmp_path / "a"), str(tmp_path / "b"), "--against", "vanilla", "--out", str(tmp_path / "p.html")]) == 0
    page = (tmp_path / "p.html").read_text()
    labels = [f"{m} · {model}" for m in ("vanilla", "ethosagents") for model in (first.spec, second.spec)]
    assert f"model {first.spec}, {second.spec}" in page or f"model {second.spec}, {first.spec}" in page
    # each model's rows paired against that model's vanilla, never across models
    assert "Paired against <b>vanilla within each model</b>" in page and page.count("<td>yes</td>") + page.count("<td>no</td>") == 2
    for model in (first.spec, second.spec):
        assert f"<tr><td>ethosagents · {model}</td><td>vanilla · {model}</td>" in page
    colours = {}
    for label in labels:  # every chart draws a row in its one colour, and no two rows share one
        fills = set(re.findall(rf'fill="(#[0-9A-F]+)"><title>{re.escape(label)}: ', page))
        assert len(fills) == 1, label
        colours[label] = fills.pop()
    assert len(set(colours.values())) == 4
    assert main(["view", str(tmp_path / "a"), "--against", "vanila", "--out", str(tmp_path / "q.html")]) == 2
    assert "--against 'vanila' names no row: choose one of vanilla" in capsys.readouterr().err
    assert '<a href="p-runs/' in page and "most-likely correct" in page


def test_the_report_shows_moralchoice_ambiguity_once():
    from ethos.evaluation.report import _same_breakdown

    same = {"categories": {"low_ambiguity": {}}, "groups": {"low_ambiguity": {}}}
    assert _same_breakdown([same]) and not _same_breakdown([{"categories": {"Asia": {}}, "groups": {"Japan": {}}}])
