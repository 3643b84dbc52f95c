"""The Python API as a researcher uses it: `ethos.study` returns the tables, `ethos.load` gives one
row per item of a study, `ethos.run` returns what `ethos run --json` prints and writes its record,
and keyword arguments are Python values, checked by name before any work."""

from __future__ import annotations

import json

import pytest
from tests_paths import FIXTURES

import ethos
from ethos.errors import EthosError


def test_a_two_model_three_seed_study_loads_as_one_row_per_item(tmp_path, runs_dir):
    tables = ethos.study(
        None, models=["fake", "fake:0.001"], methods=["vanilla", "ethosagents"], tasks=["steerable-vk"], data=str(FIXTURES),
        seeds=[0, 1, 2], n_personas=2, against="vanilla", out=str(tmp_path / "out"),
    )  # fmt: skip
    (table,) = tables
    assert table["models"] == ["fake", "fake:0.001"] and table["rows"][1]["paired"]["fake"]["n"] == 3
    df = ethos.load(tmp_path / "out")
    assert len(df) == 2 * 2 * 3 * 3  # models × methods × seeds × items
    assert sorted(df["seed"].unique()) == [0, 1, 2] and set(df["method"]) == {"vanilla", "ethosagents"}
    assert {"accuracy", "item_id", "question", "fallbacks", "protocol"} <= set(df.columns)
    assert set(df["model"]) == {"fake", "fake:0.001"}
    # the same results from the runs folder itself: every eval folder found
    assert len(ethos.load(runs_dir / "eval")) == len(df)


def test_run_returns_the_json_form_and_writes_its_record(runs_dir, capsys):
    out = ethos.run("-q is not a flag here", model="fake", n_personas=2)
    assert out["situation"] == "-q is not a flag here" and out["result"]["response"]
    assert {"run_id", "personas", "comments", "fallbacks", "usage", "seconds"} <= set(out)
    record = json.loads((runs_dir / "runs" / out["run_id"] / "record.json").read_text())
    assert record["status"] == "ok"
    assert capsys.readouterr().out == ""  # the API prints nothing


@pytest.mark.parametrize(
    "call, error, named",
    [
        (lambda: ethos.run("x", help=True), TypeError, "unknown option 'help'"),
        (lambda: ethos.run(123), TypeError, "the situation is text"),
        (lambda: ethos.evaluate("steerable-vk", "vanilla", data=str(FIXTURES), model="fake", limt=2), TypeError, "'limt'"),
        (lambda: ethos.run("x", model="fake", n_personas=[1, 2]), TypeError, "'n_personas': takes one value"),
        (lambda: ethos.run("x", model=object()), TypeError, "option 'model'"),
        (lambda: ethos.study(None, models=["fake"], methods=["vanilla"], tasks=["steerable-vk"], sedes=[0]), EthosError, "sedes"),
    ],
)
def test_keyword_arguments_are_checked_by_name_before_any_work(call, error, named, capsys):
    with pytest.raises(error, match=named):
        call()
    assert "usage:" not in capsys.readouterr().out
