"""Run-scoped settings of the persona graph (LangGraph runtime context).

Model fields take a backend spec: `embedded`, `gguf:FILE`, `hf:DIR`, `openai:MODEL` or `fake`,
or the name of a backend registered with `ethos.agents.models.register_backend`.
The defaults are the published method's budgets.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace

# Parts of the method that can be switched off, each measured as its own evaluation row.
ABLATIONS = {
    "no-target-persona": "no persona holding the steering target is added when none of the set holds it",
    "no-author-voice": "distributional answers are not asked 'as the passage's author would'",
    "no-top-up": "no library personas fill a short generation (the set may be smaller)",
    "personas-N": "N personas instead of the default number",
}


def _env(name: str, default: str | None) -> str | None:
    return os.environ.get(name) or default


@dataclass(kw_only=True)
class Context:
    generator_model: str = field(default_factory=lambda: _env("ETHOS_MODEL", "embedded"))
    agent_model: str = field(default_factory=lambda: _env("ETHOS_MODEL", "embedded"))
    moderator_model: str = field(default_factory=lambda: _env("ETHOS_MODEL", "embedded"))
    base_url: str | None = field(default_factory=lambda: _env("ETHOS_BASE_URL", None))
    # Remote endpoints: a request rate shared by every role and item, retries with backoff on
    # 429/5xx/timeouts (the OpenAI client's), and a per-request timeout in seconds.
    requests_per_second: float | None = None
    max_retries: int = 4
    timeout: float = 120.0
    personas: str = "generated"  # "generated" (the published method), "library" or "hybrid"
    persona_files: list[str] = field(default_factory=list)  # extra persona TOML files or folders
    agent_variant: str = "default"  # a registered persona-agent variant (entry point)
    n_personas: int = 6
    persona_attempts: int = 2  # bounded retries of the persona generator before library top-up
    persona_tokens: int = 480
    comment_tokens: int = 200
    moderator_tokens: int = 200  # Overton response, or a free-text steerable answer
    persona_temperature: float = 1.0
    comment_temperature: float = 1.0
    moderator_temperature: float = 0.1
    samples: int = 10  # sampled answers per estimate when an endpoint returns no logprobs
    seed: int = 0
    ablations: list[str] = field(default_factory=list)  # see ABLATIONS; set with `with_ablation`

    def with_ablation(self, spec: str) -> "Context":
        """This context with the ablations of `spec` (comma-separated names from ABLATIONS)."""
        from ethos.errors import EthosError

        names = [name.strip() for name in spec.split(",") if name.strip()]
        changes: dict = {"ablations": sorted(set(self.ablations) | set(names))}
        for name in names:
            count = re.fullmatch(r"personas-(\d+)", name)
            if count:
                if not 1 <= int(count[1]) <= 24:
                    raise EthosError(f"--ablation {name}: the number of personas must be between 1 and 24")
                changes["n_personas"] = int(count[1])
            elif name not in ABLATIONS:
                choices = ", ".join(ABLATIONS)
                raise EthosError(f"unknown --ablation '{name}': choose from {choices}")
        return replace(self, **changes)

    def ablated(self, name: str) -> bool:
        return name in self.ablations

    def model(self, spec: str):
        """The backend a role's spec names, with this run's endpoint settings."""
        from ethos.agents.models import load_backend

        return load_backend(spec, self.base_url, rps=self.requests_per_second, max_retries=self.max_retries, timeout=self.timeout)

    def __post_init__(self) -> None:
        from ethos.errors import EthosError

        # The CLI checks its flags; these checks hold for contexts from the API and LangGraph servers too.
        for name in ("n_personas", "persona_attempts", "persona_tokens", "comment_tokens", "moderator_tokens", "samples", "max_retries", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name in ("max_retries", "seed") else 1):
                bound = "at least 0" if name in ("max_retries", "seed") else "at least 1"
                raise EthosError(f"{name.replace('_', '-')} must be an integer {bound}, got {value!r}")
        for name in ("requests_per_second", "timeout", "persona_temperature", "comment_temperature", "moderator_temperature"):
            value = getattr(self, name)
            if value is None and name == "requests_per_second":
                continue
            positive = name in ("requests_per_second", "timeout")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0 or (positive and value == 0):
                raise EthosError(f"{name.replace('_', '-')} must be a finite number {'above' if positive else 'of at least'} 0, got {value!r}")
        if self.n_personas > 24:  # room for hybrid additions within the 26 comment labels
            raise EthosError(f"at most 24 personas are supported, got {self.n_personas}")
        from ethos.personas.selection import SOURCES

        if self.personas not in SOURCES:
            raise EthosError(f"unknown persona source '{self.personas}': choose one of {', '.join(SOURCES)}")
