"""An evaluation folder's identity: what makes its results comparable, where it lives by default,
and the check that refuses to mix results of another configuration into it.

Which settings belong to the identity is declared once, on `Context`'s fields (`results`): an
endpoint's URL, its rate, retries and timeout change how a run is carried out, not what it
computes, so changing them never refuses a folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ethos.agents.models import spec_name
from ethos.errors import EthosError
from ethos.evaluation.log import read_config
from ethos.evaluation.tasks import Task
from ethos.graph.context import RENAMED, Context
from ethos.inputs import write_json
from ethos.redaction import redacted
from ethos.versions import file_sha256, package_version, prompts_version


def run_config(task: Task, method: str, data: Path, ctx: Context) -> dict:
    """What makes results comparable: the task, the method, the data file (resolved path and
    content hash), every setting, and the versions of the code and of the prompts."""
    return {
        "task": task.name,
        "method": method,
        "data": str(data.resolve()),
        "data_sha256": file_sha256(data),
        "version": package_version(),
        "prompts": prompts_version(),
        "context": ctx.model_dump(),
    }


def run_name(method: str, ctx: Context) -> str:
    """The folder of one evaluated configuration: the method, `protocol-ethos` when it is not the
    reference protocol, and its ablations."""
    return "+".join([method, *([f"protocol-{ctx.protocol}"] if ctx.protocol != "reference" else []), *ctx.ablations])


def _results_settings() -> set[str]:
    return set(Context.declared("results"))


def model_name(ctx: Context) -> str:
    """The models of a run as a folder name: a file or endpoint model by its own name
    (`gguf:/m/x.gguf` -> x.gguf), the fake by its spec (`fake:0` -> fake-0)."""
    return "+".join(re.sub(r"[^A-Za-z0-9._-]+", "-", spec_name(spec)).strip("-") for spec in ctx.models())[:80] or "model"


def config_folder(ctx: Context) -> str:
    """The default folder of an evaluation: the model and a short identity of the other settings, as
    lm-evaluation-harness names its output, so an eval with other settings never meets this one's
    results, and the same settings resume them. For example `embedded/3f2a9c01`. The method and
    ablations name the folder inside."""
    named = _results_settings() - {"method", "ablations"}
    old = {new: old for old, new in RENAMED.items()}  # a renamed setting keeps its old name here: folders stay where they were
    identity = {old.get(k, k): v for k, v in sorted(ctx.model_dump().items()) if k in named}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{model_name(ctx)}/{digest}"


def _flat(config: dict) -> dict:
    """The configuration as one level (`context.seed`), without the settings that do not decide results."""
    results = _results_settings()
    flat = {}
    for key, value in config.items():
        if key == "context" and isinstance(value, dict):
            value = {RENAMED.get(k, k): v for k, v in value.items()}  # a folder recorded before a rename
            flat |= {f"context.{k}": v for k, v in value.items() if k in results or k not in Context.model_fields}
        else:
            flat[key] = value
    return flat


def check_config(out_dir: Path, config: dict) -> None:
    """Record `config` in a new folder, or refuse a folder that holds results of another one, naming
    the settings that differ."""
    path = out_dir / "config.json"
    config = redacted(config)  # compared as it is stored
    if path.exists():
        old, new = _flat(read_config(path)), _flat(config)  # the log's reader migrates what earlier releases wrote
        # A setting the earlier run did not record did not exist yet: it is not a difference.
        changed = sorted(k for k in old if old[k] != new.get(k))
        if changed:
            raise EthosError(f"{out_dir} holds results of another configuration (differs in {', '.join(changed)}): use another --out")
    else:
        write_json(path, config)
