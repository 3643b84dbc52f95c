import json

import pytest
from tests_paths import FIXTURES

from ethos.errors import EthosError
from ethos.evaluation.vital import item_request, load_items, question_stem


def request_of(name, index=0):
    path = FIXTURES / name
    return item_request(load_items(path)[index], source=str(path), index=index)


def test_question_stem_drops_lettered_options_and_answer_cue():
    assert question_stem("Question: Is it fine?\nOptions: A. Yes B. No\nAnswer:") == "Is it fine?"
    assert question_stem("Pick one.\nScenario: s\nA. act\nB. wait\nAnswer:") == "Pick one.\nScenario: s"


def test_each_schema_maps_to_its_mode():
    # item_text: the item's own text, which the reference protocol sends as it is
    overton = request_of("vital_overton_valuekaleidoscope.sample.json")
    assert overton == {"situation": "skipping a flu shot to avoid side effects", "mode": "overton", "item_text": overton["item_text"]}
    assert overton["item_text"] == load_items(FIXTURES / "vital_overton_valuekaleidoscope.sample.json")[0]["input"]
    vk = request_of("vital_steerable_valuekaleidoscope.sample.json", 1)
    assert vk["mode"] == "steerable" and vk["target"] == "Right to privacy" and len(vk["options"]) == 3
    assert vk["item_text"].startswith("Question: given a situation") and vk["item_text"].endswith("C. Either\nAnswer:")
    oqa = request_of("vital_steerable_opinionqa.sample.json")
    question = load_items(FIXTURES / "vital_steerable_opinionqa.sample.json")[0]["question"]
    assert oqa == {
        "situation": "Should hospitals publish the prices of common procedures?",
        "options": ["Yes", "No", "Not sure"],
        "mode": "steerable",
        "target": "POLPARTY_Democrat",
        "item_text": question,
    }
    mc = request_of("vital_distributional_moralchoice.sample.json")
    assert mc["mode"] == "distributional" and mc["attribute"] is None  # an ambiguity level, not a country
    goqa = request_of("vital_distributional_globalopinionqa.sample.json")
    assert goqa["mode"] == "distributional" and goqa["attribute"] == "Japan" and len(goqa["options"]) == 4


def test_task_is_read_from_fields_when_the_file_name_does_not_say(tmp_path):
    item = json.loads((FIXTURES / "vital_steerable_opinionqa.sample.json").read_text())[0]
    assert item_request(item, source="mine.json", index=0)["mode"] == "steerable"
    item["attribute"] = "Kenya"
    assert item_request(item, source="mine.json", index=0)["mode"] == "distributional"


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ("{}", "expected a non-empty JSON list"), ("[]", "expected a non-empty JSON list")],
)
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / "items.json"
    path.write_text(content)
    with pytest.raises(EthosError, match=f"{path}: {message}"):
        load_items(path)


def test_wrong_field_type_is_named():
    with pytest.raises(EthosError, match=r"f.json: item 3 \(id 9\): field 'options' has the wrong type"):
        item_request({"question": "q", "options": "yes", "id": 9}, source="f.json", index=3)
