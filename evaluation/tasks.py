"""The five VITAL tasks: their files, their schema checks, and how an item becomes a request."""

from __future__ import annotations

import math
import numbers
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ethos.errors import EthosError
from ethos.evaluation.groups import question_key
from ethos.evaluation.vital import item_request, load_items
from ethos.graph.methods import METHODS as GRAPH_METHODS
from ethos.graph.state import validate_request
from ethos.personas.targets import AMBIGUITY_LEVELS


METHODS = tuple(GRAPH_METHODS)  # each a configuration of the persona graph


@dataclass(frozen=True)
class Task:
    name: str  # the CLI name
    stem: str  # VITAL file name without `.json`
    kind: str  # "overton", "steerable_vk" or "distribution" (the prediction is a distribution)
    group_field: str | None  # the per-group breakdown: OpinionQA group, country, ambiguity level


TASKS = {
    t.name: t
    for t in (
        Task("overton-vk", "vital_overton_valuekaleidoscope", "overton", None),
        Task("steerable-vk", "vital_steerable_valuekaleidoscope", "steerable_vk", "vrd"),
        Task("steerable-opinionqa", "vital_steerable_opinionqa", "distribution", "attribute"),
        Task("distributional-moralchoice", "vital_distributional_moralchoice", "distribution", "attribute"),
        Task("distributional-globalopinionqa", "vital_distributional_globalopinionqa", "distribution", "attribute"),
    )
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise EthosError(f"unknown task '{name}': choose one of {', '.join(TASKS)}")
    return TASKS[name]


def task_of_file(path: Path) -> Task:
    """The task a VITAL file holds, from its name."""
    for task in TASKS.values():
        if path.name.startswith(task.stem):
            return task
    raise EthosError(f"cannot tell the task of {path} from its name: pass --task")


def task_file(task: Task, data: Path) -> Path:
    """`data` is the task's file, or a folder holding VITAL files (e.g. `vital_..._moralchoice.dev.json`)."""
    if data.is_file():
        return data
    if data.is_dir():
        found = sorted(data.glob(f"{task.stem}*.json"))
        if not found:
            raise EthosError(f"no {task.stem}*.json file in {data}")
        return found[0]
    raise EthosError(f"--data {data} does not exist")


def _is_number_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in value)


def _check_distribution(item: dict, name: str, where: str) -> None:
    values = item.get(name)
    if not _is_number_list(values) or len(values) != len(item.get("options") or []):
        raise EthosError(f"{where}: field '{name}' must be a list of finite numbers, one per option")
    if any(v < 0 for v in values) or not 0 < sum(values) < math.inf:
        raise EthosError(f"{where}: field '{name}' must be non-negative with a positive, finite sum")


def check_item(task: Task, item: dict, where: str, *, prediction: bool = False) -> None:
    """Schema checks beyond what a request needs; the error names the item and the field.
    With `prediction`, the item's prediction (output or pred_distribution) is checked too."""
    if "id" not in item or not isinstance(item["id"], (int, str)) or isinstance(item["id"], bool):
        raise EthosError(f"{where}: field 'id' must be an integer or a string")
    if task.kind == "overton":
        vrd, explanation = item.get("vrd"), item.get("explanation")
        if not (isinstance(vrd, list) and vrd and all(isinstance(v, str) for v in vrd)):
            raise EthosError(f"{where}: field 'vrd' must be a non-empty list of strings")
        if not (isinstance(explanation, list) and len(explanation) == len(vrd) and all(isinstance(e, str) for e in explanation)):
            raise EthosError(f"{where}: field 'explanation' must be a list of strings as long as 'vrd'")
    elif task.kind == "steerable_vk":
        if not isinstance(item.get("vrd"), str):
            raise EthosError(f"{where}: field 'vrd' must be a string")
        if item.get("label") not in ("A", "B", "C"):
            raise EthosError(f"{where}: field 'label' must be A, B or C")
    else:
        if not isinstance(item.get("options"), list):
            raise EthosError(f"{where}: field 'options' must be a list of strings")
        _check_distribution(item, "gold_distribution", where)
        if not isinstance(item.get("attribute"), str):
            raise EthosError(f"{where}: field 'attribute' must be a string")
        if prediction and item.get("pred_distribution") is not None:  # null: no prediction, counted as missing
            _check_distribution(item, "pred_distribution", where)
    if prediction and task.kind != "distribution" and item.get("output") is not None and not isinstance(item["output"], str):
        raise EthosError(f"{where}: field 'output' must be text, got {type(item['output']).__name__}")


def _mode_matches(task: Task, request: dict, item: dict) -> bool:
    """Whether an item fits the task: its mode, and for the two distributional tasks the kind of
    population (MoralChoice's attribute is an ambiguity level, GlobalOpinionQA's a country)."""
    mode = task.name.split("-")[0]
    if request["mode"] != mode:
        return False
    if task.name == "distributional-moralchoice":
        return item.get("attribute") in AMBIGUITY_LEVELS
    if task.name == "distributional-globalopinionqa":
        return item.get("attribute") not in AMBIGUITY_LEVELS
    return True


def load_task(task: Task, path: Path) -> list[tuple[dict, dict]]:
    """Every item of a task file with its graph request; stops at the first malformed item."""
    named = next((t for t in TASKS.values() if path.name.startswith(t.stem)), None)
    if named is not None and named is not task:
        raise EthosError(f"{path} holds {named.name} items (by its name), not {task.name}: pass --task {named.name}")
    items = load_items(path)
    seen: set[str] = set()
    loaded = []
    for index, item in enumerate(items):
        request = item_request(item, source=str(path), index=index)  # names the file, item and field itself
        where = f"{path}: item {index} (id {item.get('id')})"
        check_item(task, item, where)
        try:
            request = validate_request(request)
        except EthosError as exc:
            raise EthosError(f"{where}: {exc}") from None
        if not _mode_matches(task, request, item):
            raise EthosError(f"{where}: this is not a {task.name} item (it reads as a {request['mode']} item): check --task")
        key = str(item["id"])
        if key in seen:
            raise EthosError(f"{where}: duplicate id {key!r}")
        seen.add(key)
        loaded.append((item, request))
    return loaded


SAMPLES = ("spread", "first")


def sample_items(loaded: list[tuple[dict, dict]], n: int, *, how: str = "spread", seed: int = 0) -> list[tuple[dict, dict]]:
    """`n` items of a task file, in file order.

    "spread" (the default) draws them over as many distinct questions as it can, seeded and
    reproducible: a random question order, one item per question in turn. VITAL files list one
    question's items together (a question across 20 countries or 8 groups), so "first" (the
    first n items) measures only a handful of questions.
    """
    if how == "first":
        return loaded[:n]
    rng = np.random.default_rng(seed)
    by_question: dict[str, list[int]] = defaultdict(list)
    for index, (item, _) in enumerate(loaded):
        by_question[question_key(item)].append(index)
    queues = [list(rng.permutation(indices)) for indices in by_question.values()]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    chosen: list[int] = []
    while len(chosen) < min(n, len(loaded)):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(int(queue.pop()))
    return [loaded[i] for i in sorted(chosen)]
