"""A paired difference measures exactly what the table beside it measures: each evaluation folder
keeps every item's value of every metric as it scored them (`scores.json`), with its parser, its
NLI model and its protocol, and comparisons read those values."""

import json

import pytest
from test_coverage import tiny_nli
from tests_paths import FIXTURES

from ethos.cli import main
from ethos.evaluation.compare import item_scores, paired_rows
from ethos.evaluation.coverage import EmbeddingScorer, NLIScorer
from ethos.evaluation.metrics import parse_vk_reference, parse_vk_strict
from ethos.evaluation.summary import find_metrics, task_summaries
from ethos.evaluation.tasks import get_task


def evaluate(fake_spec, task, out, *flags):
    argv = [
        "eval",
        "--task",
        task,
        "--data",
        str(FIXTURES),
        "--method",
        "vanilla,prompting",
        "--model",
        fake_spec,
        "--no-progress",
        "--out",
        str(out),
        *flags,
    ]
    assert main(argv) == 0


def test_steerable_vk_pairs_answers_read_by_the_tables_parser(fake, tmp_path, capsys):
    # "The answer is A": the reference parser reads A, the strict one nothing; "It depends.": C for both
    backend = fake(replies={"main_model": lambda prompt: "It depends." if "reflects the specified value" in prompt else "The answer is A"})
    evaluate(backend.spec, "steerable-vk", tmp_path / "o", "--parser", "strict")
    task = get_task("steerable-vk")
    items = json.loads((tmp_path / "o" / "vanilla" / "predictions.json").read_text())
    strict = {str(i["id"]): float(parse_vk_strict(i["output"]) == i["label"]) for i in items}
    reference = {str(i["id"]): float(parse_vk_reference(i["output"]) == i["label"]) for i in items}
    assert strict != reference  # the two parsers disagree on these answers: the test can tell them apart
    assert {k: v for k, (v, _) in item_scores(task, "accuracy", tmp_path / "o" / "vanilla").items()} == strict
    (summary,) = task_summaries(find_metrics([tmp_path / "o"]))
    ((reference_row, row, difference),) = paired_rows(task, summary.rows, summary.metric, summary.higher, "vanilla")
    prompting = json.loads((tmp_path / "o" / "prompting" / "scores.json").read_text())["metrics"]["accuracy"]
    expected = sum(prompting[k] - strict[k] for k in strict) / len(strict)
    assert difference["mean"] == pytest.approx(expected) and difference["mean"] == pytest.approx(
        row["accuracy"] - reference_row["accuracy"]
    )


def test_overton_pairs_the_nli_metric_of_the_table_not_the_embedding_proxy(fake, tmp_path, capsys):
    nli = tiny_nli(tmp_path / "nli")
    evaluate(fake().spec, "overton-vk", tmp_path / "o", "--nli-model", str(nli))
    task = get_task("overton-vk")
    (summary,) = task_summaries(find_metrics([tmp_path / "o"]))
    assert summary.metric == "nli_coverage_acc@0.33"  # the reference's headline under the reference protocol
    items = json.loads((tmp_path / "o" / "vanilla" / "predictions.json").read_text())
    scorer = NLIScorer(nli)
    expected = {str(i["id"]): scorer.coverage(i["explanation"], i["output"], empty=-1.0) for i in items}
    proxy = {str(i["id"]): EmbeddingScorer().coverage(i["explanation"], i["output"]) for i in items}
    assert expected != pytest.approx(proxy)
    stored = {k: v for k, (v, _) in item_scores(task, "nli_coverage", tmp_path / "o" / "vanilla").items()}
    assert stored == pytest.approx(expected)
    headline = {k: v for k, (v, _) in item_scores(task, summary.metric, tmp_path / "o" / "vanilla").items()}
    assert headline == {k: float(v > 0.33) for k, v in expected.items()}


def test_a_folder_written_before_scores_were_kept_is_scored_again_with_its_recorded_parser(fake, tmp_path, capsys):
    backend = fake(replies={"main_model": lambda prompt: "The answer is A"})
    evaluate(backend.spec, "steerable-vk", tmp_path / "o", "--parser", "strict")
    (tmp_path / "o" / "vanilla" / "scores.json").unlink()  # as the previous release wrote the folder
    task = get_task("steerable-vk")
    row = json.loads((tmp_path / "o" / "vanilla" / "metrics.json").read_text())
    assert all(v == 0.0 for v, _ in item_scores(task, "accuracy", tmp_path / "o" / "vanilla", row).values())
    assert main(["report", str(tmp_path / "o"), "--out", str(tmp_path / "r")]) == 0
