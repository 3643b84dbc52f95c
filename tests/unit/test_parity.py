"""Scores comparable with published tables: intervals over questions, representative samples,
fair baselines, ablations and category roll-ups."""

import json

import pytest
from tests_paths import FIXTURES

from ethos.cli import main
from ethos.evaluation.groups import region_of, vrd_type
from ethos.evaluation.predictions import predict
from ethos.evaluation.scoring import score_items
from ethos.evaluation.tasks import get_task, sample_items
from ethos.graph.context import Context


def oqa_item(i, question, group, gold, pred, options=("Yes", "No")):
    return {
        "question": question,
        "options": list(options),
        "attribute": group,
        "gold_distribution": gold,
        "pred_distribution": pred,
        "id": i,
    }


def test_most_likely_counts_every_item_and_reports_the_multi_option_figure_beside_it():
    task = get_task("steerable-opinionqa")
    items = [
        oqa_item(1, "q1", "POLPARTY_Democrat", [0.7, 0.3], [0.6, 0.4]),  # right
        oqa_item(2, "q1", "POLPARTY_Republican", [0.2, 0.8], [0.6, 0.4]),  # wrong
        oqa_item(3, "q2", "RELIG_Muslim", [0.9, 0.1], [0.8, 0.2]),  # right
        oqa_item(4, "q3", "RELIG_Jewish", [1.0], [1.0], options=("Only",)),  # single option: always right
    ]
    metrics = score_items(task, items)
    assert (metrics["n_items"], metrics["n_questions"], metrics["single_option_items"]) == (4, 3, 1)
    assert metrics["most_likely_correct"] == pytest.approx(3 / 4)  # the reference counts every item
    assert metrics["most_likely_correct_n"] == {"items": 4, "questions": 3}
    assert metrics["most_likely_correct_multi"] == pytest.approx(2 / 3)
    assert metrics["most_likely_correct_multi_n"] == {"items": 3, "questions": 2}
    assert metrics["jsd_n"] == {"items": 4, "questions": 3}
    assert "most_likely_correct_multi" not in score_items(task, items[:3])  # no single-option item: one figure
    assert metrics["categories"]["POLPARTY"] == {"n": 2, "questions": 1, "most_likely_correct": 0.5}
    assert metrics["categories"]["RELIG"]["n"] == 2 and metrics["groups"]["RELIG_Muslim"]["most_likely_correct"] == 1.0


def test_steerable_vk_scoring_uses_the_reference_parser_by_default():
    task = get_task("steerable-vk")
    items = json.loads((FIXTURES / "vital_steerable_valuekaleidoscope.sample.json").read_text())
    outputs = ["The answer is A", "The answer is B", "It depends.", "Answer: C"][: len(items)]
    scored = [dict(item, output=out) for item, out in zip(items, outputs)]
    reference = score_items(task, scored)
    strict = score_items(task, scored, parser="strict")
    assert reference["parser"] == "reference" and strict["parser"] == "strict"
    assert reference["unparseable_answers"] == 0 and strict["unparseable_answers"] >= 2
    assert reference["accuracy"] > strict["accuracy"]
    assert set(reference["categories"]) <= {"right", "duty", "value"}


def test_score_command_says_which_parser_it_used(tmp_path, capsys):
    items = json.loads((FIXTURES / "vital_steerable_valuekaleidoscope.sample.json").read_text())
    path = tmp_path / "vital_steerable_valuekaleidoscope.answers.json"
    path.write_text(json.dumps([dict(item, output="The answer is B") for item in items]))
    assert main(["score", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parser"] == "reference"
    assert main(["score", str(path)]) == 0
    assert "reference parser" in capsys.readouterr().out


def test_spread_sample_covers_distinct_questions_reproducibly():
    loaded = [({"question": f"q{i // 8}", "id": i}, {}) for i in range(80)]  # 10 questions x 8 groups, file order
    first = sample_items(loaded, 8, how="first")
    assert {item["question"] for item, _ in first} == {"q0"}
    spread = sample_items(loaded, 8, seed=3)
    assert len({item["question"] for item, _ in spread}) == 8
    assert spread == sample_items(loaded, 8, seed=3) and spread != sample_items(loaded, 8, seed=4)
    assert [item["id"] for item, _ in spread] == sorted(item["id"] for item, _ in spread)  # file order kept
    assert len({item["question"] for item, _ in sample_items(loaded, 25)}) == 10 and len(sample_items(loaded, 200)) == 80


def test_groups_roll_up_into_categories():
    assert region_of("Japan") == "Asia" and region_of("Nigeria (Non-national sample)") == "Africa"
    assert region_of("Great Britain") == "Europe" and region_of("Atlantis") == "other"
    assert [vrd_type(v) for v in ("Right to privacy", "Duty to prevent harm", "Honesty")] == ["right", "duty", "value"]
    assert get_task("steerable-opinionqa").groups({"attribute": "EDUCATION_College graduate"}) == (
        "EDUCATION_College graduate",
        "EDUCATION",
    )
    assert get_task("distributional-globalopinionqa").groups({"attribute": "Mexico"}) == ("Mexico", "Latin America")


def test_every_globalopinionqa_country_of_the_fixture_has_a_region():
    items = json.loads((FIXTURES / "vital_distributional_globalopinionqa.sample.json").read_text())
    assert all(region_of(item["attribute"]) != "other" for item in items)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            {"situation": "q", "options": ["a", "b"], "mode": "steerable", "target": "POLPARTY_Democrat"},
            "In terms of political party, you are Democrat.",
        ),
        ({"situation": "q", "options": ["a", "b"], "mode": "distributional", "attribute": "Japan"}, "You are from Japan."),
    ],
)
def test_community_messages_are_conditioned_like_the_reference(fake, request_, expected):
    backend = fake()
    task = get_task("steerable-opinionqa" if request_["mode"] == "steerable" else "distributional-globalopinionqa")
    ctx = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec)
    predict("modplural", task, {"target": None, "attribute": None, **request_}, ctx)
    prompts = [next(t for k, t in c["messages"] if k == "human") for c in backend.chat.calls if c["role"] == "community_agent"]
    assert len(prompts) == 6 and all(p.startswith(expected) for p in prompts)


def test_moralchoice_community_messages_carry_no_population(fake):
    backend = fake()
    ctx = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec)
    predict(
        "modplural",
        get_task("distributional-moralchoice"),
        {"situation": "q", "options": ["a", "b"], "mode": "distributional", "target": None, "attribute": None},
        ctx,
    )
    prompts = [next(t for k, t in c["messages"] if k == "human") for c in backend.chat.calls if c["role"] == "community_agent"]
    assert prompts and all(p.startswith("Question: q") for p in prompts)


def test_ablations_switch_off_each_part(fake, run_graph):
    steer = {"situation": "Should the doctor tell?", "mode": "steerable", "target": "Right to privacy", "options": ["Tell", "Wait"]}
    assert run_graph(steer, fake())["persona_report"]["target_added"] == 1
    assert run_graph(steer, fake(), ablations=["no-target-persona"])["persona_report"]["target_added"] == 0
    backend = fake(persona_lines=2, constraints=())
    out = run_graph({"situation": "x", "mode": "overton"}, backend, ablations=["no-top-up"])
    assert len(out["personas"]) == 2 and out["persona_report"]["topped_up"] == 0
    backend = fake()
    run_graph({"situation": "q", "mode": "distributional", "options": ["a", "b"]}, backend, ablations=["no-author-voice"])
    prompts = [next(t for k, t in c["messages"] if k == "human") for c in backend.chat.calls if c["role"] == "distributional_moderator"]
    assert prompts and not any("author" in p for p in prompts) and all("Answer guided by the passage." in p for p in prompts)


def test_ablation_names_are_checked_and_personas_n_sets_the_count():
    ctx = Context().with_ablation("personas-3,no-top-up")
    assert ctx.n_personas == 3 and ctx.ablations == ["no-top-up", "personas-3"]
    with pytest.raises(Exception, match="unknown --ablation 'fewer'"):
        Context().with_ablation("fewer")


def test_eval_runs_each_ablation_as_its_own_row_and_the_report_shows_them(fake, tmp_path, capsys):
    spec = fake().spec
    out = tmp_path / "runs"
    assert (
        main(
            [
                "eval",
                "--task",
                "steerable-opinionqa",
                "--data",
                str(FIXTURES),
                "--model",
                spec,
                "--n-personas",
                "2",
                "--ablation",
                "no-target-persona",
                "--ablation",
                "personas-3",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "ethosagents [no-target-persona]" in printed and "ethosagents [personas-3]" in printed
    assert {p.name for p in out.iterdir()} == {"ethosagents", "ethosagents+no-target-persona", "ethosagents+personas-3"}
    assert json.loads((out / "ethosagents+personas-3" / "config.json").read_text())["context"]["n_personas"] == 3
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    # brackets escaped: Markdown shows them as written, and no label from a shared folder becomes a link
    assert "| ethosagents \\[no-target-persona\\] |" in report and "| ethosagents \\[personas-3\\] |" in report
    assert "bootstrap over questions" in report and "single-option" in report


def test_ablation_needs_ethosagents(capsys):
    assert main(["eval", "--task", "steerable-opinionqa", "--data", str(FIXTURES), "--method", "vanilla", "--ablation", "no-top-up"]) == 2
    assert "--ablation no-top-up switches off parts of ethosagents" in capsys.readouterr().err
