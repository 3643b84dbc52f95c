"""`ethos eval --ray` on a real Ray cluster on this machine: a head node and two worker nodes (one CPU
each), joined over 127.0.0.1 with token authentication. Runs go through the CLI in processes of
their own, as a user runs them.

- The fake model and the embedded model give, over two actors, the predictions of an in-process run.
- A worker process killed mid-run has its item run again: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers import ray_cluster

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    with ray_cluster(workers=2) as running:
        yield running


def _items(path: Path, n: int) -> Path:
    items = [
        {
            "question": f"Question: Should the clinic in district {i} open on Sundays?\nOptions: A. Yes B. No C. Unsure\nAnswer:",
            "options": ["Yes", "No", "Unsure"],
            "gold_distribution": [0.5, 0.3, 0.2],
            "attribute": ["Japan", "Brazil", "Kenya"][i % 3],
            "id": 100 + i,
        }
        for i in range(n)
    ]
    path.write_text(json.dumps(items))
    return path


def _eval(data: Path, out: Path, runs: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ethos.cli",
        "eval",
        "--task",
        "distributional-globalopinionqa",
        "--data",
        str(data),
        "--out",
        str(out),
        "--runs-dir",
        str(runs),
        "--no-progress",
        *extra,
    ]


def _predictions(out: Path) -> dict:
    return {
        m.name: {p["id"]: p["pred_distribution"] for p in json.loads((m / "predictions.json").read_text())}
        for m in out.iterdir()
        if (m / "predictions.json").exists()
    }


def test_the_fake_model_predicts_the_same_on_two_ray_actors_as_in_process(cluster, tmp_path):
    data = _items(tmp_path / "vital_distributional_globalopinionqa.json", 8)
    fake = ["--model", "fake", "--n-personas", "3", "--method", "all"]
    here = subprocess.run(
        _eval(data, tmp_path / "here", tmp_path / "runs", *fake, "--max-concurrency", "2"), capture_output=True, text=True
    )
    assert here.returncode == 0, here.stderr
    there = subprocess.run(
        _eval(data, tmp_path / "ray", tmp_path / "runs", *fake, "--ray", cluster["address"], "--ray-actors", "2"),
        env=cluster["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert there.returncode == 0, there.stderr
    assert "2 Ray actor(s)" in there.stderr
    assert _predictions(tmp_path / "ray") == _predictions(tmp_path / "here") and len(_predictions(tmp_path / "ray")) == 5
    # The driver kept the records: one per item, with the trace the actor wrote.
    for results in (tmp_path / "ray").glob("*/results.jsonl"):
        lines = [json.loads(line) for line in results.read_text().splitlines()]
        assert sorted(r["id"] for r in lines) == list(range(100, 108)) and all(r["status"] == "ok" for r in lines)
        record = tmp_path / "runs" / "runs" / lines[0]["run_id"]
        assert json.loads((record / "record.json").read_text())["status"] == "ok"
        assert (record / "trace.jsonl").read_text().count("\n") > 1


def _actor_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-f", "ray::ItemWorker"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def test_a_worker_killed_mid_run_loses_and_duplicates_no_item(cluster, tmp_path):
    data = _items(tmp_path / "vital_distributional_globalopinionqa.json", 24)
    out = tmp_path / "out"
    command = _eval(
        data, out, tmp_path / "runs", "--model", "fake:0.4", "--method", "vanilla", "--ray", cluster["address"], "--ray-actors", "2"
    )
    driver = subprocess.Popen(command, env=cluster["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = out / "vanilla" / "results.jsonl"
    deadline = time.monotonic() + 120
    while not (results.exists() and results.read_text().count("\n") >= 4):
        assert time.monotonic() < deadline and driver.poll() is None, "the run did not get going"
        time.sleep(0.05)
    victims = _actor_pids()
    assert len(victims) == 2
    os.kill(victims[0], signal.SIGKILL)  # an actor's process, mid-item (each item takes 0.4 s)
    _, stderr = driver.communicate(timeout=240)
    assert driver.returncode == 0, stderr
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    ids = [r["id"] for r in lines]
    assert sorted(ids) == list(range(100, 124)), "an item was lost or recorded twice"
    assert all(r["status"] == "ok" for r in lines)
    assert victims[0] not in _actor_pids()


def test_the_embedded_model_predicts_the_same_on_two_ray_actors_as_in_process(cluster, tmp_path):
    data = _items(tmp_path / "vital_distributional_globalopinionqa.json", 4)
    small = ["--model", "embedded", "--method", "vanilla,moe", "--comment-tokens", "8", "--moderator-tokens", "8"]
    here = subprocess.run(_eval(data, tmp_path / "here", tmp_path / "runs", *small), capture_output=True, text=True, timeout=600)
    assert here.returncode == 0, here.stderr
    there = subprocess.run(
        _eval(data, tmp_path / "ray", tmp_path / "runs", *small, "--ray", cluster["address"], "--ray-actors", "2"),
        env=cluster["env"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert there.returncode == 0, there.stderr
    here_p, there_p = _predictions(tmp_path / "here"), _predictions(tmp_path / "ray")
    assert set(there_p) == {"vanilla", "moe"} and there_p.keys() == here_p.keys()
    for method in here_p:
        for item, dist in here_p[method].items():
            assert there_p[method][item] == pytest.approx(dist, abs=1e-6), (method, item)


def test_a_study_runs_its_cells_on_the_cluster_each_model_on_its_share_and_makes_the_same_table(cluster, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _items(data / "vital_distributional_globalopinionqa.json", 6)
    (tmp_path / "study.toml").write_text(
        'models = ["fake", "fake:0.001"]\nmethods = ["vanilla", "ethosagents"]\ntasks = ["distributional-globalopinionqa"]\n'
        'seeds = [0, 1]\nagainst = "vanilla"\ndata = "data"\nn_personas = 2\n'
    )

    def study(name: str, *extra: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "ethos.cli", "study", str(tmp_path / "study.toml"), "--out", str(tmp_path / name),
                "--runs-dir", str(tmp_path / f"runs-{name}"), *extra]  # fmt: skip
        return subprocess.run(argv, env=cluster["env"], capture_output=True, text=True, timeout=600)

    here, there = study("here"), study("ray", "--ray", cluster["address"])
    assert here.returncode == 0 and there.returncode == 0, there.stderr[-2000:]
    assert there.stderr.count("1 Ray actor(s)") == 2  # one pool per model, each on half of the cluster's 2 CPUs
    tables = [json.loads((tmp_path / name / "study.json").read_text())["tables"] for name in ("here", "ray")]
    assert tables[0] == tables[1] and len(tables[0][0]["rows"]) == 2
