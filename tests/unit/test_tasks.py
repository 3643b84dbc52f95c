import json

import pytest
from tests_paths import FIXTURES

from ethos.errors import EthosError
from ethos.evaluation.tasks import TASKS, get_task, load_task, task_file

SAMPLES = {
    "overton-vk": "vital_overton_valuekaleidoscope.sample.json",
    "steerable-vk": "vital_steerable_valuekaleidoscope.sample.json",
    "steerable-opinionqa": "vital_steerable_opinionqa.sample.json",
    "distributional-moralchoice": "vital_distributional_moralchoice.sample.json",
    "distributional-globalopinionqa": "vital_distributional_globalopinionqa.sample.json",
}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_loads_its_fixture_found_in_a_folder(name):
    task = get_task(name)
    path = task_file(task, FIXTURES)
    assert path.name == SAMPLES[name]
    loaded = load_task(task, path)
    assert loaded and all(request["situation"] for _, request in loaded)


def test_quirks_are_handled():
    oqa = load_task(get_task("steerable-opinionqa"), FIXTURES / SAMPLES["steerable-opinionqa"])
    assert oqa[1][0]["id"] == "102" and oqa[1][1]["options"] == ["A great deal"]  # string id, one option
    mc = load_task(get_task("distributional-moralchoice"), FIXTURES / SAMPLES["distributional-moralchoice"])
    assert sum(mc[0][0]["gold_distribution"]) != 1  # kept as is: scipy normalises
    assert mc[0][1]["attribute"] is None  # an ambiguity level is not a population


def write(tmp_path, items, name="vital_distributional_globalopinionqa.mine.json"):
    path = tmp_path / name
    path.write_text(json.dumps(items))
    return path


GOOD = {
    "question": "Question: q?\nOptions: A. x B. y\nAnswer:",
    "options": ["x", "y"],
    "attribute": "Peru",
    "gold_distribution": [0.5, 0.5],
    "id": 1,
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gold_distribution": [1.0]}, "field 'gold_distribution' must be a list of finite numbers, one per option"),
        ({"gold_distribution": [0, 0]}, "positive, finite sum"),
        ({"options": []}, "field 'options' must be a non-empty list"),
        ({"question": None}, "missing field 'question'"),
        ({"id": 1.5}, "field 'id' must be an integer or a string"),
        ({"options": ["x", " "], "gold_distribution": [1, 0]}, "field 'options' must be a non-empty list of strings"),
    ],
)
def test_malformed_items_name_the_file_item_and_field(tmp_path, change, message):
    path = write(tmp_path, [GOOD, {**GOOD, "id": 2, **change}])
    with pytest.raises(EthosError) as error:
        load_task(get_task("distributional-globalopinionqa"), path)
    assert str(error.value).startswith(f"{path}: item 1") and message in str(error.value)


def test_duplicate_ids_are_rejected(tmp_path):
    path = write(tmp_path, [GOOD, GOOD])
    with pytest.raises(EthosError, match="duplicate id '1'"):
        load_task(get_task("distributional-globalopinionqa"), path)


def test_a_task_file_of_another_task_is_rejected():
    with pytest.raises(EthosError, match="holds overton-vk items \\(by its name\\), not steerable-vk: pass --task overton-vk"):
        load_task(get_task("steerable-vk"), FIXTURES / SAMPLES["overton-vk"])


def test_a_renamed_file_of_another_task_is_rejected_by_its_items(tmp_path):
    renamed = tmp_path / "items.json"
    renamed.write_text((FIXTURES / SAMPLES["distributional-moralchoice"]).read_text())
    with pytest.raises(EthosError, match="item 0 .*this is not a distributional-globalopinionqa item"):
        load_task(get_task("distributional-globalopinionqa"), renamed)
    with pytest.raises(EthosError, match="item 0 .*this is not a steerable-opinionqa item"):
        load_task(get_task("steerable-opinionqa"), renamed)


def test_missing_data_is_reported(tmp_path):
    with pytest.raises(EthosError, match="no vital_overton_valuekaleidoscope"):
        task_file(get_task("overton-vk"), tmp_path)
    with pytest.raises(EthosError, match="does not exist"):
        task_file(get_task("overton-vk"), tmp_path / "nope")


def test_a_files_path_never_decides_an_items_mode(tmp_path):
    """A MoralChoice item read from a folder named `steerable-experiments` is still a distributional item."""
    from ethos.evaluation.vital import item_request

    folder = tmp_path / "steerable-experiments"
    folder.mkdir()
    path = folder / "vital_distributional_moralchoice.json"
    path.write_text((FIXTURES / SAMPLES["distributional-moralchoice"]).read_text())
    ((item, request),) = load_task(get_task("distributional-moralchoice"), path)
    assert request["mode"] == "distributional"
    assert item_request(item, source=str(path), index=0)["mode"] == "distributional"  # an --item run: its fields say
