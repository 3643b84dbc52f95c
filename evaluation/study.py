"""A study: the paper's experiment as one unit of work. Every cell (model × task × method × seed)
is an `ethos eval` into its own configuration folder (`RUNS/eval/MODEL/CONFIG-ID/TASK/METHOD`), so
a cell already done is reused, a stopped study resumes, and a cell is the same folder whether the
study or a hand-run eval made it. Cells of different models run at the same time, each model within
its own concurrency and rate limit.

A study file (TOML) names the grid (`models`, `methods`, `tasks`, `seeds`, `against`) and any of
eval's settings, keys named as eval's flags (`data`, `limit`, ...): see docs/evaluation.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ethos.agents.models import spec_name
from ethos.agents.reference import GENERATED_KINDS
from ethos.errors import EthosError
from ethos.evaluation.evaluate import protocol_only
from ethos.evaluation.identity import model_name
from ethos.evaluation.spec import EvalSpec
from ethos.evaluation.tasks import get_task, tasks
from ethos.graph.ablations import check_ablations
from ethos.graph.context import Context
from ethos.graph.methods import METHODS
from ethos.inputs import beside, read_text

GRID = ("models", "methods", "tasks", "seeds")
MAX_CELLS = 10_000  # a grid larger than this is refused with its count before anything is parsed
STUDY_OWN = (*GRID, "against")  # the study's own keys; every other key is one of eval's settings
MODEL_KEYS = {"spec", "base_url", "api_key_env", "rps", "max_concurrency", "prices"}  # what a model table may set
EVAL_OWN = {"task", "method", "model", "seed", "json", "config", "out", "no_progress", "server"}  # set per cell by the study


@dataclass(frozen=True)
class StudyModel:
    spec: str
    options: tuple[tuple[str, object], ...] = ()  # this model's own eval options (its endpoint, rate, concurrency, prices)

    @property
    def name(self) -> str:

        return spec_name(self.spec)


@dataclass(frozen=True)
class Cell:
    model: StudyModel
    task: str
    method: str
    seed: int

    def __str__(self) -> str:
        return f"{self.model.name} · {self.task} · {self.method} · seed {self.seed}"


@dataclass
class Study:
    models: list[StudyModel]
    methods: list[str]
    tasks: list[str]
    seeds: list[int]
    against: str | None
    options: dict = field(default_factory=dict)  # eval settings every cell shares (data, limit, protocol, budgets, ...)
    source: str = "the command line"
    model_specs: dict = field(default_factory=dict)  # each model's evaluation spec, built once (`read_study`)

    def cells(self) -> list[Cell]:
        return [Cell(m, t, method, s) for m in self.models for t in self.tasks for method in self.methods for s in self.seeds]

    def built(self, model: StudyModel) -> EvalSpec:
        """A model's evaluation spec (quiet: the study says its own progress), its options checked as
        eval's are: a bad key or value is named with the study's source."""
        options = self.options | dict(model.options) | {"progress": False}
        try:
            return EvalSpec.build(task=self.tasks[0], method=self.methods[0], model=model.spec, **options)
        except (EthosError, TypeError) as exc:
            raise EthosError(f"{self.source}: {exc}") from None

    def spec(self, cell: Cell) -> EvalSpec:
        """A cell's evaluation: its model's spec, for its task, method and seed, with the ablations that apply to its method."""
        return self.model_specs[cell.model].cell(
            task=cell.task, method=cell.method, seed=cell.seed, ablations=self.rows_per_cell(cell.method)[1:]
        )

    def seed_independent(self, model: StudyModel, task_name: str, method: str) -> bool:
        """Whether every seed of these cells gives the same predictions. A method without voices
        (vanilla, prompting) under the reference protocol reads its answer's letters greedily from
        the model's top 10, so for a task whose predictions are those letters' distribution the seed
        changes nothing; a cell with ablation rows is not counted as such."""
        if self.rows_per_cell(method) != [""] or METHODS[method].voices is not None:
            return False
        task = get_task(task_name)
        if self.model_specs[model].context.protocol != "reference" or not task.distribution:
            return False
        return task.item_kind is not None and task.item_kind not in GENERATED_KINDS  # the reference generates those: sampled

    def stand_in(self, cell: Cell) -> Cell | None:
        """The cell whose run stands for `cell`: its first seed's, where the seed changes nothing."""
        if cell.seed == self.seeds[0] or not self.seed_independent(cell.model, cell.task, cell.method):
            return None
        return Cell(cell.model, cell.task, cell.method, self.seeds[0])

    def seeds_run(self, model: StudyModel, task: str, method: str) -> int:
        """How many of its seeds a method's cells run (one, where the first seed's stands for the rest)."""
        return 1 if self.seed_independent(model, task, method) else len(self.seeds)

    def rows_per_cell(self, method: str) -> list[str]:
        """The rows one cell of `method` makes: the method's own, then one per ablation that applies to it."""
        ablations = self.options.get("ablation") or []
        return [""] + [a for a in ablations if protocol_only(a) or method == "ethosagents"]


def read_study(path: Path | None, overrides: dict) -> Study:
    """The study a file describes, with `overrides` (the command line's) winning; every cell's eval
    arguments are checked before anything runs."""
    source = f"study {path}" if path else "ethos study"
    values: dict = {}
    if path is not None:
        import tomllib

        try:
            values = tomllib.loads(read_text(path))
        except RecursionError:
            raise EthosError(f"{source}: nested too deeply to be a study file") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
            raise EthosError(f"{source}: cannot read it ({exc.__class__.__name__}: {str(exc)[:200]})") from None
        values = {key: beside(path, key, value) for key, value in values.items()}  # paths in the file are read from its folder
        if isinstance(values.get("models"), list):
            values["models"] = [m | {"prices": beside(path, "prices", m["prices"])} if isinstance(m, dict) and "prices" in m else m
                                for m in values["models"]]  # fmt: skip
    values |= {k: v for k, v in overrides.items() if v is not None}
    if values.get("seeds") == []:
        raise EthosError(f"{source}: `seeds` is empty: give at least one seed (e.g. seeds = [0])")
    for key in GRID[:3]:
        if not values.get(key):
            raise EthosError(f'{source}: needs `{key}` (a list; e.g. models = ["fake"])')
    for key in EVAL_OWN & set(values):
        raise EthosError(f"{source}: `{key}` is set per cell by the study: use `{'models' if key == 'model' else key + 's'}`")
    study = Study(
        models=[_model(source, m) for m in _listed(source, "models", values["models"], (str, dict))],
        methods=_listed(source, "methods", values["methods"], (str,)),
        tasks=_listed(source, "tasks", values["tasks"], (str,)),
        seeds=_listed(source, "seeds", values.get("seeds", [0]), (int,)),
        against=values.get("against"),
        options={k: v for k, v in values.items() if k not in STUDY_OWN},
        source=source,
    )
    if "rps" in study.options:  # the flag's name, as in a model's table
        study.options["requests_per_second"] = study.options.pop("rps")
    if "ablations" in study.options:  # the study file's plural, as the grid's keys
        study.options["ablation"] = study.options.pop("ablations")
    known = EvalSpec.option_names() - EVAL_OWN
    for key in study.options:
        if key not in known:
            raise EthosError(
                f"{source}: unknown setting '{key}' (a study's keys are {', '.join(STUDY_OWN)} and eval's flags, e.g. data, limit, n_personas)"
            )
    _check_grid(study)
    # each model's spec, built and checked now: a typo never waits for the first cells to finish
    study.model_specs = {model: study.built(model) for model in study.models}
    return study


def _check_grid(study: Study) -> None:
    """A grid whose cells are each one result: no entry twice, no two models in one folder (their
    columns would merge, averaged as if seeds), names that exist, an `against` among the rows, and
    a size stated before anything is parsed."""
    source = study.source
    if not study.options.get("data"):
        raise EthosError(f'{source}: needs `data` (the folder of VITAL files, e.g. data = "vital")')
    count = len(study.models) * len(study.tasks) * len(study.methods) * len(study.seeds)
    if count > MAX_CELLS:
        raise EthosError(f"{source}: {count:,} cells (models × tasks × methods × seeds): at most {MAX_CELLS:,} in one study")
    for key, values in (("methods", study.methods), ("tasks", study.tasks), ("seeds", study.seeds)):
        twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
        if twice is not None:
            raise EthosError(f"{source}: `{key}` lists {str(twice)[:40]!r} twice")
    folders: dict[str, str] = {}
    for model in study.models:
        folder = model_name(Context(model=model.spec))
        if folder in folders:
            raise EthosError(
                f"{source}: models {folders[folder][:60]!r} and {model.spec[:60]!r} share the folder name {folder!r} (their columns would "
                "merge): study them with separate --runs-dir folders"
            )
        folders[folder] = model.spec
    unknown = [m for m in study.methods if m not in METHODS] + [t for t in study.tasks if t not in tasks()]
    if unknown:
        raise EthosError(
            f"{source}: unknown method or task {unknown[0][:40]!r} (methods: {', '.join(METHODS)}; tasks: {', '.join(tasks())})"
        )
    if study.against is not None and study.against not in study.methods:
        raise EthosError(f"{source}: against = {str(study.against)[:40]!r} is not one of the methods ({', '.join(study.methods)})")
    ablations = study.options.get("ablation") or []
    if not isinstance(ablations, list) or not all(isinstance(a, str) for a in ablations):
        raise EthosError(f"{source}: `ablations` must be a list of names")
    try:
        check_ablations([name.strip() for a in ablations for name in a.split(",") if name.strip()])
    except ValueError as exc:
        raise EthosError(f"{source}: {exc}") from None


def _listed(source: str, key: str, value, kinds: tuple) -> list:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, kinds) and not isinstance(v, bool) for v in items):
        kind = " or ".join("a table" if k is dict else {str: "text", int: "a whole number"}[k] for k in kinds)
        raise EthosError(f"{source}: `{key}` must be a list, each entry {kind}")
    if len(items) > 1000:
        raise EthosError(f"{source}: `{key}` lists {len(items)} entries: at most 1000")
    return items


def _model(source: str, entry) -> StudyModel:
    if isinstance(entry, str):
        return StudyModel(entry)
    unknown = set(entry) - MODEL_KEYS
    if unknown or not isinstance(entry.get("spec"), str):
        raise EthosError(
            f"{source}: a model table needs `spec` and may set {', '.join(sorted(MODEL_KEYS - {'spec'}))}; got {sorted(entry)}"
        )
    if isinstance(entry.get("base_url"), list):  # replicas of the model: requests are spread over them
        entry = entry | {"base_url": ",".join(map(str, entry["base_url"]))}
    return StudyModel(entry["spec"], tuple(sorted((k, v) for k, v in entry.items() if k != "spec")))
