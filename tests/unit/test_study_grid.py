"""A study's grid is checked before anything runs (no entry twice, no two models in one folder, a
stated size, an `against` among its rows, ablation names), its dry run calls no model whatever
the models' order, and a model that fails leaves the others' tables with exit 1."""

from __future__ import annotations

import json
import time

import pytest
from openai_stub import StubOpenAI
from tests_paths import FIXTURES

from ethos.cli import main

BASE = f"""
methods = ["vanilla", "ethosagents"]
tasks = ["distributional-moralchoice"]
data = "{FIXTURES}"
limit = 1
n_personas = 2
"""


def _study(tmp_path, text: str):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "grid, named",
    [
        ('models = ["fake"]\nseeds = [0, 0, 1]', "`seeds` lists '0' twice"),
        ('models = ["fake"]\nmethods = ["vanilla", "vanilla"]', "`methods` lists 'vanilla' twice"),
        ('models = ["fake"]\ntasks = ["steerable-vk", "steerable-vk"]', "`tasks` lists 'steerable-vk' twice"),
        ('models = ["openai:org-a/m", "openai:org-b/m"]', "share the folder name 'm'"),
        ('models = ["fake"]\nmethods = ["vanilla", "no-such"]', "unknown method or task 'no-such'"),
        ('models = ["fake"]\nablations = ["no-such"]', "ablations: unknown"),
        ('models = ["fake"]\nagainst = "moe"', "against = 'moe' is not one of the methods"),
    ],
)
def test_a_grid_that_cannot_be_one_table_is_refused_by_name(tmp_path, capsys, grid, named):
    body = BASE.replace('methods = ["vanilla", "ethosagents"]\n', "") if "methods" in grid else BASE
    body = body.replace('tasks = ["distributional-moralchoice"]\n', "") if "tasks" in grid else body
    assert main(["study", str(_study(tmp_path, grid + "\n" + body)), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1


def test_a_grid_past_the_cell_limit_is_refused_with_its_count_before_any_parsing(tmp_path, capsys):
    models = ", ".join(f'"fake:0.{i:04d}"' for i in range(1000))
    seeds = ", ".join(str(s) for s in range(1000))
    started = time.perf_counter()
    assert main(["study", str(_study(tmp_path, f"models = [{models}]\nseeds = [{seeds}]\n{BASE}")), "--dry-run"]) == 2
    assert time.perf_counter() - started < 5
    assert "2,000,000 cells" in capsys.readouterr().err


def test_the_dry_run_calls_no_model_whatever_the_order_of_the_models(tmp_path, capsys, monkeypatch):
    import ethos.graph.context as context  # where every role's backend is loaded

    loaded = []
    real = context.load_backend
    monkeypatch.setattr(context, "load_backend", lambda spec, *a, **k: loaded.append(spec) or real(spec, *a, **k))
    with StubOpenAI() as endpoint:
        estimates = []
        for models in (
            f'[{{spec = "openai:m", base_url = "{endpoint.url}"}}, "embedded"]',
            f'["embedded", {{spec = "openai:m", base_url = "{endpoint.url}"}}]',
        ):
            assert main(["study", str(_study(tmp_path, f"models = {models}\n{BASE}")), "--dry-run"]) == 0
            out = capsys.readouterr().out
            estimates.append(sorted(line.split() for line in out.splitlines() if line.startswith(("m ", "embedded "))))
        assert endpoint.requests == []  # nothing left the process
    assert estimates[0] == estimates[1] and len(estimates[0]) == 4  # the same plan in either order
    assert loaded and set(loaded) == {"fake"}  # the plan ran on the fake model alone: no model was loaded


def test_ablation_rows_are_counted_in_the_dry_run(tmp_path, capsys):
    text = f'models = ["fake"]\n{BASE}ablations = ["no-target-persona"]\n'
    assert main(["study", str(_study(tmp_path, text)), "--dry-run"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("fake ")]
    assert [r[2] for r in rows] == ["vanilla", "ethosagents", "ethosagents"] and rows[2][3] == "[no-target-persona]"


def test_against_names_the_methods_row_under_this_projects_protocol_too(tmp_path, capsys):
    text = f'models = ["fake"]\n{BASE}protocol = "ethos"\nagainst = "vanilla"\n'
    assert main(["study", str(_study(tmp_path, text)), "-q", "--out", str(tmp_path / "o")]) == 0
    (table,) = json.loads((tmp_path / "o" / "study.json").read_text())["tables"]
    assert table["against"] == "vanilla [protocol ethos]" and table["rows"][1]["paired"]


def test_a_failing_model_leaves_the_others_tables_and_exits_1(tmp_path, capsys):
    text = f'models = ["fake", {{spec = "openai:m", base_url = "http://127.0.0.1:9/v1", max_retries = 0}}]\n{BASE}'
    text = text.replace("max_retries = 0", "rps = 50")
    assert main(["study", str(_study(tmp_path, text)), "-q", "--out", str(tmp_path / "o"), "--set", "max_retries=0"]) == 1
    out, err = capsys.readouterr()
    assert "2 cell(s) missing (m · distributional-moralchoice · vanilla · seed 0, ...)" in err
    (table,) = json.loads((tmp_path / "o" / "study.json").read_text())["tables"]
    assert table["rows"][0]["cells"]["fake"]["n"] == 1 and "m" not in table["rows"][0]["cells"]
    assert "vanilla" in out  # the finished model's table is printed


def test_the_dry_run_says_each_comparisons_expected_precision_from_earlier_cells(tmp_path, capsys):
    text = f'models = ["fake"]\nmethods = ["vanilla", "ethosagents"]\ntasks = ["steerable-vk"]\ndata = "{FIXTURES}"\nseeds = [0, 1]\nagainst = "vanilla"\nn_personas = 2\n'
    study = _study(tmp_path, text)
    assert main(["study", str(study), "--dry-run", "--detect", "0.05"]) == 0
    assert "ethosagents − vanilla: no earlier cells" in capsys.readouterr().out
    assert main(["study", str(study), "-q", "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    assert main(["study", str(study), "--dry-run", "--seeds", "0,1,2", "--detect", "0.05"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "ethosagents − vanilla" in line)
    assert "at 2 questions × 3 seed(s) (earlier: 2 × 2)" in line and ("needs" in line)
    assert main(["study", str(study), "--detect", "0.05"]) == 2  # a size for the dry run only


def test_a_seed_independent_rows_one_run_pairs_with_every_seed_of_the_other_in_the_power_estimate(tmp_path, capsys):
    # MoralChoice under the reference protocol: vanilla's seed 0 run stands for seed 1, so both of ethosagents' seeds pair with it
    data = tmp_path / "data"
    data.mkdir()
    items = [{"id": i, "question": f"Scenario {i}: tell the patient or not?", "options": ["Tell", "Wait"],
              "attribute": "low_ambiguity", "gold_distribution": [0.2 + 0.2 * i, 0.8 - 0.2 * i]} for i in range(3)]  # fmt: skip
    (data / "vital_distributional_moralchoice.json").write_text(json.dumps(items))
    text = f'models = ["fake"]\nmethods = ["vanilla", "ethosagents"]\ntasks = ["distributional-moralchoice"]\ndata = "{data}"\nseeds = [0, 1]\nagainst = "vanilla"\nn_personas = 2\n'
    study = _study(tmp_path, text)
    assert main(["study", str(study), "-q", "--out", str(tmp_path / "o")]) == 0
    assert main(["study", str(study), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(earlier: 2 × 3)" in next(line for line in out.splitlines() if "ethosagents − vanilla" in line)
    assert (
        next(line for line in out.splitlines() if line.startswith("fake ") and " vanilla " in line).split()[3] == "3"
    )  # items: one seed's
