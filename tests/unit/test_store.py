"""The results store of an evaluation folder: repair on open, one writer, interrupted records,
and the configuration a folder's results belong to."""

import json

import pytest
from test_runner import items_file, run

from ethos.cli import main
from ethos.errors import EthosError, RunFailure
from ethos.evaluation.store import ResultStore
from ethos.graph.records import RunRecord


def test_a_cut_line_and_unreadable_lines_are_repaired_counted_and_their_items_run_again(fake, tmp_path):
    path = items_file(tmp_path, n=4)
    run(fake("fake-store"), path, tmp_path / "out")
    results = tmp_path / "out" / "results.jsonl"
    lines = results.read_text().splitlines()
    # item 1's line was replaced by an empty object, item 2's by garbage, item 3's cut by a kill,
    # and a last line says "ok" without a prediction
    results.write_text("\n".join([lines[0], "{}", "not json at all", '{"id": 2, "status": "ok"}', lines[3][: len(lines[3]) // 2]]))
    store = ResultStore(tmp_path / "out")
    assert store.repairs == {"cut_lines": 1, "unreadable_lines": 3, "interrupted_runs": 0}
    assert "1 line cut short by a kill was cut off; 3 unreadable line(s) skipped" in store.report()
    assert set(store.succeeded()) == {str(json.loads(lines[0])["id"])}
    assert results.read_text().endswith("\n")  # the cut part is gone, so the next append starts a line
    store.close()
    again = fake("fake-store")
    metrics = run(again, path, tmp_path / "out")
    assert metrics["n"] == 4 and len([c for c in again.chat.calls if c["role"] == "persona_generator"]) == 3
    records = [json.loads(line) for line in results.read_text().splitlines() if '"seconds"' in line]  # the skipped lines stay
    assert sorted(r["id"] for r in records if r["status"] == "ok") == [0, 1, 2, 3]  # each once


def test_a_second_writer_on_the_same_folder_is_refused(fake, tmp_path):
    holder = ResultStore(tmp_path)
    with pytest.raises(RunFailure, match=f"{tmp_path} is in use by another ethos eval \\(pid \\d+\\)"):
        ResultStore(tmp_path)
    holder.close()
    ResultStore(tmp_path).close()  # free again once the first writer is done


def test_records_left_running_by_a_killed_eval_are_marked_interrupted(tmp_path):
    runs = tmp_path / "runs"
    killed = RunRecord(runs)
    killed.start("eval", {"situation": "x"}, {})
    finished = RunRecord(runs)
    finished.start("eval", {"situation": "y"}, {})
    finished.finish({}, [], status="ok", seconds=1.0)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "running.jsonl").write_text(f"{killed.run_id}\n{finished.run_id}\n")
    store = ResultStore(tmp_path / "out", runs)
    assert store.repairs["interrupted_runs"] == 1
    assert RunRecord(runs, killed.run_id).data["status"] == "interrupted"
    assert RunRecord(runs, finished.run_id).data["status"] == "ok"
    assert (tmp_path / "out" / "running.jsonl").read_text() == ""
    store.close()


def test_a_run_record_of_a_dead_process_reads_as_interrupted(tmp_path, capsys):
    runs = tmp_path / "runs"
    record = RunRecord(runs)
    record.start("run", {"situation": "x", "mode": "overton"}, {})
    record.data["pid"] = 2**22 + 12345  # above the kernel's pid limit: no such process
    (record.path).write_text(json.dumps(record.data))
    assert main(["runs", "--runs-dir", str(runs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "interrupted"
    assert RunRecord(runs, record.run_id).data["status"] == "interrupted"  # on disk too


def test_the_same_data_by_another_spelling_of_its_path_resumes(fake, tmp_path, monkeypatch):
    path = items_file(tmp_path, n=2)
    run(fake("fake-paths"), path, tmp_path / "out")
    monkeypatch.chdir(tmp_path)
    again = fake("fake-paths")
    run(again, path.relative_to(tmp_path), tmp_path / "out")
    assert not again.chat.calls  # nothing ran twice


def test_changed_data_or_prompts_are_another_configuration(fake, tmp_path, monkeypatch):
    path = items_file(tmp_path, n=2)
    run(fake("fake-config"), path, tmp_path / "out")
    path.write_text(path.read_text().replace("q0?", "q0 changed?"))
    with pytest.raises(EthosError, match="differs in data_sha256"):
        run(fake("fake-config"), path, tmp_path / "out")
    path2 = items_file(tmp_path, n=2)
    import ethos.evaluation.identity as runner

    monkeypatch.setattr(runner, "prompts_version", lambda: "a-new-prompt")
    with pytest.raises(EthosError, match="differs in prompts"):
        run(fake("fake-config"), path2, tmp_path / "out")


def test_an_eval_with_failed_items_exits_1_and_says_how_many(fake, tmp_path, capsys):
    def broken(prompt):
        raise RuntimeError("model fell over")

    spec = fake(replies={"persona_generator": broken}).spec
    path = items_file(tmp_path, n=3)
    code = main(
        [
            "eval",
            "--task",
            "distributional-globalopinionqa",
            "--data",
            str(path),
            "--model",
            spec,
            "--no-progress",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "3 failed (rerun to retry)" in captured.out
    assert captured.err.strip().splitlines()[-1].startswith("ethos: error: 3 item(s) failed")
