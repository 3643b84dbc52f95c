"""What a task is: one object that owns its items' schema, how a prediction is read from the graph's
final state, how its items are scored, its primary metric, its columns and its groups. Nothing
outside a task's own module decides any of these (the shape of inspect_ai's Task and
lm-evaluation-harness's registered tasks); `evaluation/scoring.py` only aggregates what a task scores.

A new task is a subclass in a module of its own, registered under the `ethosagents.tasks` entry
point group (as the built-in ones are, in pyproject.toml).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ethos.errors import EthosError
from ethos.evaluation.groups import question_key
from ethos.evaluation.vital import item_request
from ethos.graph.state import count_fallbacks
from ethos.inputs import real_number


@dataclass
class Prediction:
    output: str | None = None  # an Overton text, or a steerable-VK answer (None: none could be read)
    distribution: list[float] | None = None  # option probabilities, for tasks whose predictions are distributions
    fallbacks: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)


# What a missing `protocol` in a record means: results recorded before the setting existed ran this project's.
LEGACY_PROTOCOL = "ethos"


def protocol_of(record: dict) -> str:
    protocol = record.get("protocol")
    return protocol if isinstance(protocol, str) else LEGACY_PROTOCOL


# Per-item values of each metric a task scores: {metric: (values, the items they belong to)}.
PerItem = dict[str, tuple[list[float], list[dict]]]


class Task:
    name: str = ""  # the CLI name
    stem: str = ""  # the VITAL file name without `.json`: `vital_..._moralchoice` matches `vital_..._moralchoice.dev.json`
    mode: str = ""  # the graph's mode its items run in
    distribution: bool = False  # predictions are option distributions (else text)
    item_kind: str | None = (
        None  # the VITAL task whose reference prompts its items get (graph/state.py ITEM_KINDS); None: as the fields read
    )

    # ---- items ------------------------------------------------------------------------------

    def check_item(self, item: dict, where: str, *, prediction: bool = False) -> None:
        """Schema checks beyond what a request needs; the error names the item and the field. With
        `prediction`, the item's prediction is checked too."""
        if "id" not in item or not isinstance(item["id"], (int, str)) or isinstance(item["id"], bool):
            raise EthosError(f"{where}: field 'id' must be an integer or a string")
        self.check_fields(item, where)
        if prediction:
            self.check_prediction(item, where)

    def request(self, item: dict, *, source: str, index: int) -> dict:
        """The graph request an item of this task becomes (its situation, options, target and this
        task's mode); a missing or malformed field is named with the item. A task whose items are
        not VITAL-shaped says how its own become requests."""
        request = item_request(item, source=source, index=index, mode=self.mode)
        return request | ({"item_kind": self.item_kind} if self.item_kind else {})

    def check_fields(self, item: dict, where: str) -> None:
        raise NotImplementedError

    def check_prediction(self, item: dict, where: str) -> None:
        if item.get("output") is not None and not isinstance(item["output"], str):
            raise EthosError(f"{where}: field 'output' must be text, got {type(item['output']).__name__}")

    def fits(self, request: dict, item: dict) -> bool:
        """Whether an item (read as `request`) is one of this task's: by default, its mode."""
        return request["mode"] == self.mode

    def question(self, item: dict) -> str:
        """The question an item asks: items of one question (a question across countries or groups)
        are resampled together by the bootstrap and spread over by `--limit`."""
        return question_key(item)

    def text(self, item: dict) -> str:
        """The item's text as pages show it."""
        return str(item.get("question") or item.get("situation") or "")

    def groups(self, item: dict) -> tuple[str, str] | None:
        """(exact group, category) of an item for per-group breakdowns; None: the task has none."""
        return None

    # ---- predictions ------------------------------------------------------------------------

    def read_prediction(self, state: dict) -> Prediction:
        """The item's prediction from the graph's final state, whichever method ran."""
        raise NotImplementedError

    @staticmethod
    def prediction(state: dict, **read) -> Prediction:
        """A prediction from the final state: what a task `read` from its result, with the run's
        fallbacks and the detail a run record keeps (personas, their report, comments, the router)."""
        detail = {k: state[k] for k in ("personas", "persona_report", "comments", "router") if state.get(k)}
        return Prediction(**read, fallbacks=count_fallbacks(state), detail=detail)

    def has_prediction(self, item: dict) -> bool:
        return item.get("output") is not None

    def with_prediction(self, item: dict, output: str | None, distribution: list[float] | None) -> dict:
        """The item as a predictions file holds it (VITAL's schema with its prediction field)."""
        return {**item, "output": output if output is not None else ""}

    # ---- scores -----------------------------------------------------------------------------

    def score(self, items: list[dict], *, nli_model: str | None, embedding: bool, parser: str, protocol: str) -> tuple[PerItem, dict]:
        """Every item's value of every per-item metric, and the metrics that are no mean of item
        values (F1, counts). `items` all carry a prediction."""
        raise NotImplementedError

    def primary(self, metrics: dict) -> tuple[str, bool]:
        """The metric the task's table is ranked by, and whether higher is better."""
        raise NotImplementedError

    def columns(self, rows: list[dict]) -> list[tuple[str, str]]:
        """The metrics a table shows, as (heading, key), the primary one first."""
        raise NotImplementedError

    def notes(self, rows: list[dict], metric: str) -> list[str]:
        """What a reader of the table must know (how answers were read, what a metric stands for)."""
        return []

    def bounds(self, metric: str) -> tuple[float, float] | None:
        """The values `metric` can take (None: any finite number): a stored value outside them was
        not written by a scorer, and the readers refuse it. A task with metrics of its own says."""
        return metric_bounds(metric)

    def item_score(self, item: dict, state: dict) -> dict | None:
        """An `--item` run's gold beside its prediction, scored as eval scores it; None where this
        cannot be shown without eval's scorers."""
        return None

    def item_view(self, item: dict, predicted: list[tuple[dict, str]]) -> dict:
        """What a page shows of an item beside each row's prediction (`predicted`: the row's copy of
        the item, its label): {"gold": text or None, "answers": [{label, text}]}, or for a task whose
        predictions are distributions {"options": [...], "series": {"gold": [...], label: [...]}}."""
        answers = [{"label": label, "text": str(p["output"])[:1500]} for p, label in predicted if p.get("output")]
        return {"gold": None, "answers": answers}

    def describe_score(self, score: dict, options: list[str]) -> list[str]:
        """`item_score`'s result as lines for the terminal."""
        return [f"{key}: {value}" for key, value in score.items() if key != "task"]

    def __repr__(self) -> str:
        return f"<task {self.name}>"


JSD_MAX = math.sqrt(math.log(2))  # scipy's Jensen-Shannon distance in natural log: at most sqrt(ln 2), 0.8326
_RATES = ("accuracy", "f1", "correct", "acc@")


def metric_bounds(metric: str) -> tuple[float, float] | None:
    """The range of the project's metrics by name: a distance, a rate, a coverage (a similarity, or
    -1 for a response with no sentence under the reference protocol)."""
    if metric == "jsd":
        return 0.0, JSD_MAX
    if any(word in metric for word in _RATES):
        return 0.0, 1.0
    if metric.endswith("coverage"):
        return -1.0, 1.0
    return None


def primary_first(columns: list[tuple[str, str]], primary: str) -> list[tuple[str, str]]:
    return sorted(columns, key=lambda column: column[1] != primary)


def is_number_list(value) -> bool:
    return isinstance(value, list) and all(real_number(v, math.inf) for v in value)


def finite_values(task: Task, metric: str, score: Callable[[dict], float], items: list[dict]) -> list[float]:
    """`score(item)` for every item. A value that is not a finite number stops the scoring with the
    item's name: one `nan` would otherwise turn the task's mean into nothing."""
    values = []
    for item in items:
        try:
            value = score(item)
        except ValueError as exc:
            value, why = float("nan"), str(exc)
        else:
            why = f"the {metric} is {value}"
        if not np.isfinite(value):
            raise EthosError(f"{task.name} item {item.get('id', '?')}: {why}: check its gold and predicted distributions")
        values.append(float(value))
    return values
