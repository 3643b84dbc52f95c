"""The evaluation tasks: each one object (`base.Task`) in a module of its own, registered under the
`ethosagents.tasks` entry point group as plugins register theirs; this module finds them, finds a
task's file, loads and checks its items, and samples them."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from ethos.errors import EthosError
from ethos.evaluation.groups import question_key
from ethos.evaluation.tasks.base import LEGACY_PROTOCOL, PerItem, Prediction, Task, metric_bounds, protocol_of
from ethos.evaluation.vital import load_items
from ethos.graph.methods import METHODS as GRAPH_METHODS
from ethos.graph.state import validate_request
from ethos.plugins import TASKS as TASKS_GROUP
from ethos.plugins import load_group

__all__ = [
    "LEGACY_PROTOCOL",
    "METHODS",
    "SAMPLES",
    "metric_bounds",
    "PerItem",
    "Prediction",
    "Task",
    "checked_items",
    "get_task",
    "load_task",
    "protocol_of",
    "sample_items",
    "task_file",
    "task_for_item",
    "task_of_file",
    "tasks",
]

METHODS = tuple(GRAPH_METHODS)  # each a configuration of the persona graph


_LOADING = threading.Lock()


@cache
def tasks() -> dict[str, Task]:
    """Every registered task by name: the built-ins, then installed plugins (loaded once, whichever thread asks first)."""
    with _LOADING:
        return _load_tasks()


def _load_tasks() -> dict[str, Task]:
    found = {}
    for name, entry in load_group(TASKS_GROUP).items():
        try:
            task = entry() if isinstance(entry, type) else entry
        except Exception as exc:
            raise EthosError(f"task plugin '{name}' failed to start: {exc.__class__.__name__}: {exc}") from exc
        if not isinstance(task, Task) or task.name != name:
            raise EthosError(f"task plugin '{name}' is not a Task named '{name}' (see evaluation/tasks/base.py)")
        found[name] = task
    return found


def __getattr__(name: str):
    if name == "TASKS":  # the registered tasks, found on first use
        return tasks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_task(name: str) -> Task:
    if name not in tasks():
        raise EthosError(f"unknown task '{name}': choose one of {', '.join(tasks())}")
    return tasks()[name]


def task_of_file(path: Path) -> Task:
    """The task a VITAL file holds, from its name."""
    for task in tasks().values():
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
            raise EthosError(f"no {task.stem}*.json file in {data} (a file named {task.stem}.json or {task.stem}.dev.json, ...)")
        if len(found) > 1:  # which one is meant cannot be guessed: a result must say which file it scored
            raise EthosError(
                f"{data} holds {len(found)} files of {task.name}: {found[0].name} and {found[1].name}: keep one, or give --data the file"
            )
        return found[0]
    shown = str(data) if len(str(data)) <= 200 else str(data)[:200] + "…"
    raise EthosError(f"--data {shown}: not a file or a folder" if data.exists() else f"--data {shown} does not exist")


def load_task(task: Task, path: Path) -> list[tuple[dict, dict]]:
    """Every item of a task file with its graph request; stops at the first malformed item."""
    named = next((t for t in tasks().values() if path.name.startswith(t.stem)), None)
    if named is not None and named.name != task.name:
        raise EthosError(f"{path} holds {named.name} items (by its name), not {task.name}: pass --task {named.name}")
    return checked_items(task, load_items(path), str(path))


def checked_items(task: Task, items: list, source: str) -> list[tuple[dict, dict]]:
    """Every item with its graph request, checked as eval checks them (the schema, the request, the
    task's kind of item, unique ids); the error names `source`, the item and the field."""
    seen: set[str] = set()
    loaded = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise EthosError(f"{source}: item {index}: not a JSON object")
        request = task.request(item, source=source, index=index)  # names the file, item and field itself
        where = f"{source}: item {index} (id {item.get('id')})"
        task.check_item(item, where)
        try:
            request = validate_request(request)
        except EthosError as exc:
            raise EthosError(f"{where}: {exc}") from None
        if not task.fits(request, item):
            raise EthosError(f"{where}: this is not a {task.name} item (it reads as a {request['mode']} item): check --task")
        key = str(item["id"])
        if key in seen:
            raise EthosError(f"{where}: duplicate id {key!r}")
        seen.add(key)
        loaded.append((item, request))
    return loaded


def task_for_item(item: dict, request: dict) -> Task | None:
    """The task an item belongs to (an `--item` run's), by its schema and its mode; None: none."""
    for task in tasks().values():
        try:
            task.check_item(item, "item")
        except EthosError:
            continue
        if task.fits(request, item):
            return task
    return None


SAMPLES = ("spread", "first")


def sample_items(
    loaded: list[tuple[dict, dict]], n: int, *, how: str = "spread", seed: int = 0, question: Callable[[dict], str] = question_key
) -> list[tuple[dict, dict]]:
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
        by_question[question(item)].append(index)
    queues = [list(rng.permutation(indices)) for indices in by_question.values()]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    chosen: list[int] = []
    while len(chosen) < min(n, len(loaded)):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(int(queue.pop()))
    return [loaded[i] for i in sorted(chosen)]
