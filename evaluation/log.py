"""The evaluation log: what an evaluation folder holds, as typed records, and the one reader of each
file. A reader bounds what it reads (the project's bounded reader), validates it against its
model, and migrates what earlier releases wrote; a bad results line is skipped and counted, a
metrics field of the wrong shape is left out, never fatal.

    config.json     EvalConfig   what makes the results comparable (evaluation/identity.py)
    results.jsonl   ResultLine   one line per finished item, appended as each ends (store.py)
    predictions.json             the items in VITAL's schema with their predictions
    scores.json     Scores       every item's value of every per-item metric (scoring.py)
    metrics.json    Metrics      the task's figures, the row of every table
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError, ValidationInfo, model_validator

from ethos.errors import EthosError
from ethos.evaluation.tasks import LEGACY_PROTOCOL
from ethos.graph.records import read_json_object
from ethos.inputs import stored_number


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
        return EvalConfig.model_validate(read_json_object(path, "configuration", ": move it away, or use another --out")).model_dump()
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
    data = read_json_object(path, "metrics file", ": rerun `ethos eval`, or remove it")
    if "task" not in data or "method" not in data:
        return None
    try:
        return Metrics.model_validate(data).model_dump()
    except ValidationError:
        raise EthosError(f"{path}: unknown task {str(data['task'])[:40]!r} or method {str(data['method'])[:40]!r}") from None
