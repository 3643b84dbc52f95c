"""Run-scoped settings of the persona graph (LangGraph runtime context).

Model fields take a backend spec: `embedded`, `gguf:FILE`, `hf:DIR`, `openai:MODEL` or `fake`,
or the name of a backend registered with `ethos.agents.models.register_backend`.
The defaults are the published method's budgets.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, ValidationError, model_validator

from ethos import settings
from ethos.agents.models import PROMPT_FORMATS, load_backend, use_cache
from ethos.errors import EthosError
from ethos.graph.ablations import ETHOS_CHOICES, ablation_changes, check_ablations, choices_in_effect
from ethos.graph.methods import METHODS
from ethos.graph.setting import CLI, INT_MAX, SEED_MAX, Declared, describe_schema, message, setting
from ethos.personas.selection import SOURCES
from ethos.redaction import secret_variable


def _env(name: str, default: str | None) -> str | None:
    return settings.env(name) or default


def _model(flag: str, role: str):
    return setting(
        help=f"model {role} (a spec; default: embedded, or $ETHOS_MODEL)",
        flag=flag,
        metavar="SPEC",
        factory=lambda: _env("ETHOS_MODEL", "embedded"),
        group="models",
        label=False,
    )


MODEL_ROLES = ("generator_model", "agent_model", "moderator_model")
# A setting's old name, still read from saved contexts, --config and study files, the Python API
# and served requests (`personas` named the source while the state's `personas` is the list).
RENAMED = {"personas": "persona_source"}
EVAL_DEFAULTS = {"protocol": "reference"}  # what `ethos eval` sets otherwise: a table that can stand beside the published ones


class Context(Declared):
    """Every run setting; a context is checked whole when it is made, wherever it comes from (the
    CLI, `--config`, a LangGraph server's client, Python)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra=describe_schema)

    generator_model: str = _model("--generator-model", "that generates the personas")
    agent_model: str = _model("--agent-model", "the persona agents use")
    moderator_model: str = _model("--moderator-model", "the moderator uses (the main model of the baselines)")
    base_url: str | None = setting(
        help="OpenAI-compatible endpoint for openai:MODEL, or its replicas comma-separated, calls spread over them "
        "(key from $" + settings.API_KEY_ENV + "; default $ETHOS_BASE_URL)",
        flag="--base-url",
        metavar="URL",
        factory=lambda: _env("ETHOS_BASE_URL", None),
        group="models",
        results=False,
    )
    api_key_env: str = setting(
        settings.API_KEY_ENV,
        help="the environment variable that holds the endpoint's key (a study gives each endpoint its own)",
        flag="--api-key-env",
        metavar="NAME",
        group="models",
        results=False,
    )
    requests_per_second: float | None = setting(
        help="at most this many requests per second to the endpoint, shared by all roles and items",
        flag="--rps",
        positive=True,
        group="models",
        results=False,
    )
    max_retries: int = setting(
        4,
        help="retries with backoff on 429/5xx/timeouts and malformed replies",
        flag="--max-retries",
        low=0,
        high=100,
        group="models",
        results=False,
    )
    timeout: float = setting(120.0, help="seconds per request", flag="--timeout", positive=True, group="models", results=False)
    method: str = setting(
        "ethosagents",
        help="ethosagents (the published method) or a baseline run as a configuration of the same graph: " + ", ".join(METHODS),
        choices=tuple(METHODS),
        client=True,
        label=False,
    )
    persona_source: str = setting(
        "generated",
        help="generated (the published method), library only, or generated plus library personas for coverage",
        flag="--personas",
        choices=SOURCES,
        client=True,
    )
    persona_files: list[str] = setting(
        help="add personas from a TOML file or folder (repeatable)", flag="--persona-file", metavar="FILE", factory=list, label=False
    )
    agent_variant: str = setting(
        "default", help="a registered persona-agent variant (see `ethos personas list --roles`)", flag="--agent-variant", client=True
    )
    n_personas: int = setting(
        6,
        help="personas per run (room for hybrid additions within the 26 comment labels)",
        flag="--n-personas",
        low=1,
        high=24,
        client=True,
    )
    persona_attempts: int = setting(
        4,
        help="generator requests before library top-up (see --persona-followup)",
        flag="--persona-attempts",
        low=1,
        high=100,
        client=True,
        client_high=10,
    )
    persona_followup: str = setting(
        "full",
        help="what a follow-up request for personas asks: full, the whole set again (the "
        "distinct personas of every reply are pooled), or missing, only the missing ones, naming those taken",
        flag="--persona-followup",
        choices=("full", "missing"),
        client=True,
    )
    persona_repeat_penalty: float = setting(
        1.1,
        help="llama.cpp's repetition penalty on the persona generator's last 64 tokens "
        "(1: none; measured with 2 requests: 60 of 60 slots generated at 1.1, 45 of 60 at 1)",
        flag="--persona-repeat-penalty",
        low=1,
        high=3,
        client=True,
    )
    persona_tokens: int = setting(
        480, help="token budget of the persona generator", flag="--persona-tokens", low=1, high=INT_MAX, client=True, client_high=4096
    )
    comment_tokens: int = setting(
        200,
        help="token budget of each persona agent's comment",
        flag="--comment-tokens",
        low=1,
        high=INT_MAX,
        client=True,
        client_high=2048,
    )
    moderator_tokens: int = setting(
        200,
        help="token budget of the Overton response or a free-text steerable answer",
        flag="--moderator-tokens",
        low=1,
        high=INT_MAX,
        client=True,
        client_high=2048,
    )
    persona_temperature: float = setting(
        1.0, help="sampling temperature of the persona generator", flag="--persona-temperature", low=0, high=5, client=True
    )
    comment_temperature: float = setting(
        1.0, help="sampling temperature of the persona agents", flag="--comment-temperature", low=0, high=5, client=True
    )
    moderator_temperature: float = setting(
        0.1, help="sampling temperature of the moderator", flag="--moderator-temperature", low=0, high=5, client=True
    )
    samples: int = setting(
        10,
        help="samples per estimate when an endpoint gives no logprobs",
        flag="--samples",
        low=1,
        high=10_000,
        client=True,
        client_high=100,
    )
    seed: int = setting(0, help="seed of every sampled choice and reply", flag="--seed", low=0, high=SEED_MAX, client=True)
    protocol: str = setting(
        "ethos",
        help="reference: the baselines and the moderator run as Modular Pluralism's code runs them "
        "(its prompts, generated answers read by its rules, letters read from its top 10, a plain mean); "
        f"ethos: this project's choices ({', '.join(ETHOS_CHOICES)}: each also an --ablation ethos-NAME row)",
        flag="--protocol",
        choices=("reference", "ethos"),
        client=True,
        label=False,
    )
    prompt_format: str = setting(
        "auto",
        help="auto: completion prompts (the reference protocol's) go without a chat template, chat "
        "messages with it; chat or raw: every prompt one way. A model without a chat template always gets raw prompts",
        flag="--prompt-format",
        choices=PROMPT_FORMATS,
        group="models",
    )
    decoding: str = setting(
        "exact",
        help="llama.cpp models (embedded, gguf:): exact, every reply as the same call would give alone "
        "on a fresh context, or fast (batched on one shared cache; log-probabilities move by up to 0.35 nats)",
        flag="--decoding",
        choices=("exact", "fast"),
        group="models",
    )
    ablations: list[str] = setting(
        help="parts of the method switched off (see ABLATIONS; `ethos eval --ablation`)", factory=list, client=True, label=False
    )
    conversation_in_state: bool = setting(
        False,
        help="keep every model exchange in the graph state too (LangGraph Studio shows it; "
        "every checkpoint then holds every prompt and reply). The run's record and trace have it either way",
        results=False,
        client=True,
    )

    def with_ablation(self, spec: str) -> Context:
        """This context with the ablations of `spec` (comma-separated names from ABLATIONS)."""
        limits = self.settings()["n_personas"]
        return self.replace(**ablation_changes(spec, self.protocol, self.ablations, (limits["low"], limits["high"])))

    def ablated(self, name: str) -> bool:
        return name in self.ablations

    def ethos_choices(self) -> list[str]:
        """This project's choices in effect (see `ablations.ETHOS_CHOICES`)."""
        return choices_in_effect(self.protocol, self.ablations)

    def load_models(self, cache: Path | None = None) -> None:
        """Load every role's model once per process, each serving repeated calls from the call cache
        at `cache` (None: no cache): a bad spec or a missing model fails here, before any work."""

        for spec in self.models():
            use_cache(self.model(spec), cache, self.base_url, self.decoding)

    def models(self) -> list[str]:
        """The run's model specs, each once, in role order (generator, agents, moderator)."""
        return list(dict.fromkeys(getattr(self, role) for role in MODEL_ROLES))

    def model(self, spec: str):
        """The backend a role's spec names, with this run's endpoint settings."""

        return load_backend(
            spec,
            self.base_url,
            rps=self.requests_per_second,
            max_retries=self.max_retries,
            timeout=self.timeout,
            decoding=self.decoding,
            key_env=self.api_key_env,
        ).formatted(self.prompt_format)

    def __init__(self, **values):
        try:
            super().__init__(**values)
        except ValidationError as exc:  # one line that names the flag and the rule
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error.get("loc") else ""
            raise EthosError(message(error, type(self).settings().get(name, {}), name)) from None

    @model_validator(mode="before")
    @classmethod
    def _one_model(cls, values):
        """`model=SPEC`: every role's model, where a role's own is not given (the one place --model
        reaches the roles); a setting's old name read as its new one."""
        if isinstance(values, dict) and ("model" in values or RENAMED.keys() & values.keys()):
            values = {RENAMED.get(k, k): v for k, v in values.items() if RENAMED.get(k) not in values}  # the new name wins
            spec = values.pop("model", None)
            for role in MODEL_ROLES if spec is not None else ():
                values.setdefault(role, spec)
        return values

    @model_validator(mode="after")
    def _known_choices(self) -> Context:
        for name, f in type(self).model_fields.items():
            cli = (f.json_schema_extra or {}).get(CLI, {})
            value = getattr(self, name)
            if cli.get("choices") and value not in cli["choices"]:
                raise ValueError(f"{cli['flag'] or name}: unknown value {value!r}: choose one of {', '.join(cli['choices'])}")
        check_ablations(self.ablations)

        if not secret_variable(self.api_key_env):
            raise ValueError(
                f"--api-key-env {self.api_key_env[:80]!r}: name a variable whose name says it holds a secret (KEY, TOKEN, ...), "
                "so that its value is redacted wherever it could appear"
            )
        from ethos.agents.persona_agent import persona_agents  # the registered variants, plugins' included

        if self.agent_variant not in persona_agents():
            raise ValueError(f"unknown --agent-variant '{self.agent_variant}': choose one of {', '.join(persona_agents())}")
        return self

    def replace(self, **changes) -> Context:
        """This context with `changes`, checked as any context is."""
        return type(self)(**(self.model_dump() | changes))
