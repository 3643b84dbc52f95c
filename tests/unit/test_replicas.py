"""A model served by several replicas (`--base-url A,B`, or a list in a study's model table): calls
are spread over them, each to the replica with the fewest in flight, ties taken in turn."""

import threading

import pytest
from openai_stub import StubOpenAI

from ethos.agents.models.openai import Spread, openai_backend
from ethos.errors import EthosError
from ethos.redaction import endpoints


def test_calls_go_to_every_replica_in_turn_and_to_the_least_busy_when_they_overlap():
    with StubOpenAI(delay=0.2) as first, StubOpenAI(delay=0.2) as second:
        backend = openai_backend("openai:m", "m", base_url=f"{first.url},{second.url}")
        for i in range(4):  # one after another: in turn
            backend.complete(f"q{i}", role="main_model", max_tokens=4, temperature=0.0)
        assert (len(first.requests), len(second.requests)) == (2, 2)
        threads = [
            threading.Thread(target=backend.complete, args=(f"p{i}",), kwargs={"role": "main_model", "max_tokens": 4, "temperature": 0.0})
            for i in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (len(first.requests), len(second.requests)) == (5, 5)  # six at once: three each


def test_the_spread_picks_the_least_busy_replica():
    spread = Spread(3)
    with spread.one() as a, spread.one() as b, spread.one() as c:
        assert sorted([a, b, c]) == [0, 1, 2]
        with spread.one() as d:
            assert d in (0, 1, 2) and spread.busy[d] == 2


def test_each_replica_url_is_checked():
    assert endpoints(" http://a:1/v1 , http://b:2/v1 ") == ["http://a:1/v1", "http://b:2/v1"]
    with pytest.raises(EthosError, match="--base-url must be an http"):
        endpoints("http://a:1/v1,ftp://b/v1")


def test_a_study_model_table_may_list_its_replicas(tmp_path):
    from tests_paths import FIXTURES

    from ethos.evaluation.study import read_study

    study_file = tmp_path / "study.toml"
    study_file.write_text(
        'models = [{spec = "openai:m", base_url = ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]}]\n'
        f'methods = ["vanilla"]\ntasks = ["distributional-moralchoice"]\ndata = "{FIXTURES}"\n'
    )
    (model,) = read_study(study_file, {}).models
    assert dict(model.options)["base_url"] == "http://127.0.0.1:9/v1,http://127.0.0.1:10/v1"
