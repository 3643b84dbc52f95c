"""What an evaluation is, as one typed object: its tasks, methods, data, the selection of items, the
run context and where its results go. The command line, `--config`, `ethos.evaluate(...)` and each
cell of a study build one and call `evaluation.evaluate.evaluate(spec)`; nothing below this reads a
command line.

`EvalSpec.build(**options)` takes the options by the names the command line's flags have
(`task`, `method`, `data`, `limit`, `model`, `n_personas`, `ablation`, `no_cache`, ...) as Python
values: an unknown name is a `TypeError`, a bad value an `EthosError` naming the option.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, field_validator

from ethos import settings
from ethos.errors import EthosError
from ethos.evaluation.metrics import VK_PARSERS
from ethos.evaluation.tasks import METHODS, SAMPLES, tasks
from ethos.graph.context import EVAL_DEFAULTS, MODEL_ROLES, RENAMED, Context
from ethos.graph.setting import SEED_MAX, shown

# Items in flight in `ethos eval` unless --max-concurrency says otherwise. Measured
# (bench/bench_concurrency.py, bench_eval_concurrency.py): 4 items are x1.1 faster than 1 on the
# embedded model (its agents already share batches within an item) and x2.8 faster on an endpoint
# that waits 0.25 s per request; 8 add little more, and hold more memory and rate-limit budget.
EVAL_CONCURRENCY = 4
PARSERS = tuple(VK_PARSERS)  # how steerable ValueKaleidoscope answers are read, the reference's first
# Flag names that are not the spec's own field names (the flag is singular, or says "no").
_ALIASES = {"task": "tasks", "method": "methods", "ablation": "ablations", "rps": "requests_per_second"}
_NEGATED = {"no_cache": "cache", "no_progress": "progress"}


class EvalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    tasks: list[StrictStr] = Field(min_length=1)
    methods: list[StrictStr] = Field(default=["ethosagents"], min_length=1)
    data: Path
    context: Context
    ablations: list[StrictStr] = []  # each a row of its own beside the full method
    limit: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    sample: StrictStr = SAMPLES[0]
    sample_seed: StrictInt = Field(default=0, ge=0, le=SEED_MAX)
    out: Path | None = None
    runs_dir: Path = Field(default_factory=settings.runs_dir)
    max_concurrency: StrictInt | None = Field(default=None, ge=1, le=1024)
    prices: Path | None = None
    server: StrictStr | None = None
    ray: StrictStr | None = None  # "" for a local cluster
    ray_actors: StrictInt | None = Field(default=None, ge=1, le=1024)
    ray_cpus: StrictFloat | StrictInt = Field(default=1.0, gt=0)
    ray_gpus: StrictFloat | StrictInt = Field(default=0.0, ge=0)
    nli_model: StrictStr | None = None
    otel: StrictStr | None = None  # traces to an OpenTelemetry receiver, from the Ray actors too
    parser: StrictStr = PARSERS[0]
    cache: StrictBool = True
    progress: StrictBool = True

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in tasks()]
        if unknown:
            raise ValueError(f"unknown {shown(unknown[0])}: choose from {', '.join(tasks())}")
        return list(dict.fromkeys(names))

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, names: list[str]) -> list[str]:
        names = list(METHODS) if "all" in names else names
        unknown = [n for n in names if n not in METHODS]
        if unknown:
            raise ValueError(f"unknown {shown(unknown[0])}: choose from {', '.join(METHODS)} or all")
        return list(dict.fromkeys(names))

    @field_validator("sample", "parser")
    @classmethod
    def _one_of(cls, value: str, info) -> str:
        choices = SAMPLES if info.field_name == "sample" else PARSERS
        if value not in choices:
            raise ValueError(f"unknown {shown(value)}: choose one of {', '.join(choices)}")
        return value

    @classmethod
    def build(cls, **options) -> EvalSpec:
        """A spec from options named as eval's flags, as Python values (see the module's docstring).
        The run settings go to the context (`model` sets every role not given its own), with eval's
        defaults; the rest are the spec's own."""
        own, context = {}, dict(EVAL_DEFAULTS)
        for name, value in options.items():
            if value is None:
                continue
            name = RENAMED.get(name, _ALIASES.get(name, name))
            if name in _NEGATED:
                name, value = _NEGATED[name], not value
            if name in cls.model_fields and name != "context":
                own[name] = [value] if name in ("tasks", "methods", "ablations") and isinstance(value, str) else value
            elif name in Context.model_fields or name == "model":
                context[name] = value
            else:
                raise TypeError(
                    f"unknown option {shown(name)}: eval's options are its flags' names (task, method, data, limit, model, ...)"
                )
        for key in ("tasks", "methods"):  # a comma list, as the flags take them
            if key in own and isinstance(own[key], list):
                own[key] = [n.strip() for v in own[key] for n in str(v).split(",") if n.strip()]
        if "persona_files" in context:
            context["persona_files"] = [str(Path(f).resolve()) for f in context["persona_files"]]
        try:
            return cls(context=Context(**context), **own)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error.get("loc") else "option"
            flag = {"tasks": "task", "methods": "method", "ablations": "ablation"}.get(name, name).replace("_", "-")
            raise EthosError(f"--{flag}: {error['msg'].removeprefix('Value error, ')}") from None

    @classmethod
    def option_names(cls) -> set[str]:
        """Every name `build` takes: the flags' names of the spec's fields and of the run settings."""
        own = (set(cls.model_fields) - {"context", *_ALIASES.values(), *_NEGATED.values()}) | set(_ALIASES) | set(_NEGATED)
        return own | {"cache", "progress"} | set(Context.model_fields) | {"model"} | set(RENAMED)

    def cell(self, *, task: str, method: str, seed: int, ablations: list[str]) -> EvalSpec:
        """This spec for one task, method and seed (a study's cell)."""
        return self.model_copy(
            update={"tasks": [task], "methods": [method], "ablations": ablations, "context": self.context.replace(seed=seed)}
        )

    def planned(self) -> EvalSpec:
        """This spec with the fake model in every role and no endpoint: a call plan that calls nothing."""
        return self.model_copy(update={"context": self.context.replace(model="fake", **dict.fromkeys(MODEL_ROLES, "fake"), base_url=None)})
