"""The evaluation log: what an evaluation folder holds, as typed records, and the one reader of each
file. A reader bounds what it reads (the project's bounded reader), validates it against its
model, and migrates what earlier releases wrote; a bad results line is skipped and counted, a
metrics field of the wrong shape is left out, never fatal.

    config.json     EvalConfig   what makes the results comparable (evaluation/identity.py)
    results.jsonl   ResultLine   one line per finished item, appended as each ends (store.py)
    predictions.json             the items in VITAL's schema with their predictions
    scores.json     StoredScores every item's value of every per-item metric (scoring.py)
    metrics.json    Metrics      the task's figures, the row of every table
    study.json      StudyFile    a study's cells and tables (`ethos study`)

Every file is read where it was written, never through a link, and a value no scorer could have
written (a JSD of -7.5, an accuracy of 3, a count below 0) refuses the file with one line naming it
and the field: a table never shows an impossible figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError, ValidationInfo, model_validator

from ethos.errors import EthosError
from ethos.evaluation.tasks import LEGACY_PROTOCOL, metric_bounds, tasks
from ethos.graph.records import read_json_object
from ethos.graph.setting import shown
from ethos.inputs import read_text, stored_number

COUNTS = ("n", "missing", "n_items", "n_questions", "failed")  # a metrics file's counts: whole numbers, never below 0
MAX_STUDY_BYTES = 8 * 2**20  # a study of the largest grid it accepts writes about 1 MB
MAX_STUDY_CELLS, MAX_STUDY_ENTRIES = 10_000, 1000  # what `ethos study` accepts: its cells, and models or methods per table


def _finite(value: float) -> float:
    if not stored_number(value):
        raise ValueError("not a finite number")
    return value


Finite = Annotated[int | float, AfterValidator(_finite)]


class ResultLine(BaseModel):
    """One finished item. A succeeded one holds its prediction: its text (`output`) or, for a task
    whose predictions are distributions, a distribution of positive sum (`distributions` in the
    validation context)."""

    model_config = ConfigDict(extra="allow", strict=True)

    id: StrictInt | StrictStr
    status: StrictStr
    method: StrictStr | None = None
    run_id: StrictStr | None = None
    error: StrictStr | None = None
    output: StrictStr | None = None
    distribution: list[Finite] | None = None
    fallbacks: dict[StrictStr, Finite] = {}
    seconds: Finite | None = None
    usage: dict[StrictStr, Finite] = {}  # calls, cached_calls, input_tokens, output_tokens, cost_usd (items.item_usage)

    @model_validator(mode="after")
    def _a_success_holds_its_prediction(self, info: ValidationInfo) -> ResultLine:
        if self.status != "ok":
            return self
        if not {"output", "distribution", "seconds", "fallbacks"} <= self.model_fields_set or self.seconds is None:
            raise ValueError("a succeeded item without its prediction")
        if (info.context or {}).get("distributions"):
            if not self.distribution or min(self.distribution) < 0 or not sum(self.distribution) > 0:
                raise ValueError("a succeeded item without a usable distribution")
        return self


def read_result_lines(data: bytes, *, distributions: bool) -> tuple[dict[str, dict], int]:
    """The last readable line of each item id ({id: record}) and how many lines were not readable."""
    records, unreadable = {}, 0
    for line in data.splitlines():
        try:
            record = ResultLine.model_validate(json.loads(line), context={"distributions": distributions}).model_dump()
        except (ValueError, RecursionError, ValidationError):  # not JSON, not UTF-8, 5,000 digits, deep nesting, a wrong shape
            unreadable += 1
            continue
        records[str(record["id"])] = record
    return records, unreadable


class EvalConfig(BaseModel):
    """What an evaluation folder's results were made with. Migrated: a data path recorded before
    paths were resolved is resolved; a context without a protocol ran this project's."""

    model_config = ConfigDict(extra="allow")

    task: StrictStr
    method: StrictStr
    data: StrictStr = ""
    context: dict[str, Any] = {}

    @model_validator(mode="after")
    def _migrate(self) -> EvalConfig:
        if self.data:
            self.data = str(Path(self.data).resolve())
        self.context = {"protocol": LEGACY_PROTOCOL, **self.context}
        return self


def read_config(path: Path) -> dict:
    try:
        data = read_json_object(path, "configuration", ": move it away, or use another --out", follow=False)
        return EvalConfig.model_validate(data).model_dump()
    except ValidationError as exc:
        raise EthosError(f"{path}: not an evaluation configuration ({_first(exc)}): move it away, or use another --out") from None


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(map(str, error['loc'])) or 'the file'}: {error['msg'][:80]}"


def _shaped(key: str, value) -> tuple[bool, Any]:
    """Whether a metrics field has its shape, and the value kept (a spoilt file keeps its good fields)."""
    if key in ("task", "method", "note", "model", "protocol", "parser"):
        return isinstance(value, str), value[:200] if isinstance(value, str) else value
    if key == "ablations":
        return isinstance(value, list) and all(isinstance(a, str) for a in value), value
    if key.endswith("_ci"):
        return isinstance(value, list) and len(value) == 2 and all(v is None or stored_number(v) for v in value), value
    if key == "fallbacks":
        return isinstance(value, dict), {k: v for k, v in value.items() if stored_number(v)} if isinstance(value, dict) else value
    if key in ("categories", "groups"):
        ok = isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
        return ok, {k: {m: x for m, x in v.items() if stored_number(x)} for k, v in value.items()} if ok else value
    if isinstance(value, dict):
        return True, value
    return value is None or stored_number(value), value


class Metrics(BaseModel):
    """A task's figures for one method: the row of every table. Fields of another shape are left out
    (the rest still reports); a file without a protocol was made under this project's."""

    model_config = ConfigDict(extra="allow")

    task: StrictStr
    method: StrictStr
    protocol: StrictStr = LEGACY_PROTOCOL
    ablations: list[StrictStr] = []
    fallbacks: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _in_shape(cls, data):
        if not isinstance(data, dict):
            return data
        kept = {}
        for key, value in data.items():
            ok, value = _shaped(key, value)
            if ok:
                kept[key] = value
        return kept


def read_metrics(path: Path) -> dict | None:
    """A metrics file's row; None for a JSON object that is no metrics file (no task or method)."""
    data = read_json_object(path, "metrics file", ": rerun `ethos eval`, or remove it", follow=False)
    if "task" not in data or "method" not in data:
        return None
    for key in COUNTS:  # checked as read: a count of another shape is no figure to leave out quietly
        value = data.get(key)
        if value is not None and not (stored_number(value) and value >= 0 and value == int(value)):
            raise _impossible(path, key, shown(value), "a count of 0 or more")
    try:
        row = Metrics.model_validate(data).model_dump()
    except ValidationError:
        raise EthosError(f"{path}: unknown task {str(data['task'])[:40]!r} or method {str(data['method'])[:40]!r}") from None
    bounds = _bounds_of(row["task"])
    for key, value in row.items():
        limits = bounds(key.removesuffix("_ci"))
        values = value if key.endswith("_ci") else [value]
        numbers = [v for v in values if stored_number(v)] if isinstance(values, list) else []
        if limits and not all(_within(v, limits) for v in numbers):
            raise _impossible(path, key, value, f"within [{limits[0]:g}, {limits[1]:.4g}]")
    return row


def _bounds_of(task_name: str):
    """The task's own bounds where it is registered, else the project's by metric name."""
    task = tasks().get(task_name)
    return task.bounds if task is not None else metric_bounds


def _within(value: float, limits: tuple[float, float]) -> bool:
    return limits[0] - 1e-9 <= value <= limits[1] + 1e-9  # rounding at the bounds (a JSD of sqrt(ln 2))


def _impossible(path: Path, field: str, value, rule: str) -> EthosError:
    return EthosError(f"{path}: field '{field}' is {str(value)[:40]}, not {rule}: no scorer writes that (rerun `ethos eval`, or remove it)")


class StoredScores(BaseModel):
    """`scores.json`: every item's value of every per-item metric, and each item's question."""

    model_config = ConfigDict(extra="ignore")

    metrics: dict[StrictStr, dict[StrictStr, Finite | None]]
    questions: dict[StrictStr, StrictStr] = {}

    def values(self, metric: str) -> dict[str, tuple[float, str]]:
        """{item id: (value, question)} of one metric, the items without a value left out."""
        return {i: (float(v), self.questions.get(i, i)) for i, v in (self.metrics.get(metric) or {}).items() if v is not None}


def read_scores(path: Path, task_name: str) -> StoredScores | None:
    """A folder's per-item scores; None where the file is missing (a folder written before it
    existed). Unreadable, or holding a value outside its metric's bounds: one line naming it."""
    if not path.exists() and not path.is_symlink():
        return None
    data = read_json_object(path, "scores file", ": rerun `ethos eval`, or remove it", follow=False)
    try:
        stored = StoredScores.model_validate(data)
    except ValidationError as exc:
        raise EthosError(f"{path}: not a scores file ({_first(exc)}): rerun `ethos eval`, or remove it") from None
    bounds = _bounds_of(task_name)
    for metric, by_item in stored.metrics.items():
        limits = bounds(metric)
        for item, value in by_item.items():
            if limits and value is not None and not _within(value, limits):
                raise _impossible(path, f"{metric}' of item '{item[:40]}", value, f"within [{limits[0]:g}, {limits[1]:.4g}]")
    return stored


def read_predictions(path: Path) -> list[dict]:
    """`predictions.json`: the items with their predictions (entries that are no object left out)."""
    try:
        data = json.loads(read_text(path, follow=False))
    except (OSError, ValueError, RecursionError) as exc:
        raise EthosError(f"{path}: not readable predictions ({exc.__class__.__name__})") from None
    if not isinstance(data, list):
        raise EthosError(f"{path}: not a list of items")
    return [item for item in data if isinstance(item, dict)]


def read_results(path: Path, *, distributions: bool) -> tuple[dict[str, dict], int]:
    """`results.jsonl` read where it is: the last readable line of each item, and the unreadable lines."""
    try:
        data = read_text(path, follow=False).encode("utf-8")
    except FileNotFoundError:
        return {}, 0
    except (OSError, UnicodeDecodeError):
        return {}, 1
    return read_result_lines(data, distributions=distributions)


class StudyCell(BaseModel):
    model: StrictStr
    task: StrictStr
    method: StrictStr
    seed: StrictInt
    folders: list[StrictStr] = []


class StudyFile(BaseModel):
    """`study.json`: the cells a study ran and its tables (`evaluation/study_table.py`)."""

    model_config = ConfigDict(extra="allow")

    cells: list[StudyCell]
    tables: list[dict[str, Any]]

    @model_validator(mode="after")
    def _a_study_this_version_runs(self) -> StudyFile:
        """No larger than a study can be (a page of 20,000 model names would take minutes to draw)."""
        if len(self.cells) > MAX_STUDY_CELLS:
            raise ValueError(f"{len(self.cells):,} cells: a study has at most {MAX_STUDY_CELLS:,}")
        for table in self.tables:
            for key in ("models", "rows"):
                if not isinstance(table.get(key), list) or len(table[key]) > MAX_STUDY_ENTRIES:
                    raise ValueError(f"a table's {key}: a list of at most {MAX_STUDY_ENTRIES:,}")
        return self


def read_study_file(path: Path) -> StudyFile:
    """A study's record, bounded in size (a page of 200,000 model names would stall the viewer)."""
    try:
        data = json.loads(read_text(path, limit=MAX_STUDY_BYTES, follow=False))
        return StudyFile.model_validate(data)
    except (OSError, ValueError, RecursionError) as exc:  # ValidationError is a ValueError
        why = _first(exc) if isinstance(exc, ValidationError) else exc.__class__.__name__
        raise EthosError(f"{path}: not a study this version wrote ({why}): run `ethos study` again") from None
