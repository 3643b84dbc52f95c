"""A deterministic fake chat model for tests and offline demos (`--model fake`).

It replies by role, which the call's metadata names (the `ethos_role` label every agent sets, or a
`role:` tag), never by the prompt's wording; it records every call, and returns
OpenAI-style logprobs, or none at all when built with `logprobs=False`. Like a local model it
honours constraints: a persona grammar gets exactly the lines it asks for, a JSON schema gets
JSON, and a prefilled reply is continued.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from ethos.agents.models.base import Backend
from ethos.agents.models.local import ai_message, stream_pieces, whole_chunk
from ethos.agents.models.recording import call_labels
from ethos.personas.schema import SLOTS

PERSONA_LINES = [
    "#The Truth Teller: honesty; Kantian deontology; right to know; resolve; patient",
    "#The Protective Child: shielding a parent from distress; ethics of care; duty to protect family; fear; adult child",
    "#The Careful Clinician: patient well-being; principlism; duty of non-maleficence; concern; oncologist",
    "#The Cultural Elder: family harmony; communitarianism; duty to honour tradition; respect; community elder",
    "#The Hospital Counsel: legal compliance; legal positivism; duty to obtain consent; caution; hospital lawyer",
    "#The Nurse Advocate: dignity; relational ethics; duty to advocate; compassion; nurse",
    "#The Chaplain: meaning at the end of life; religious ethics; right to spiritual care; hope; chaplain",
    "#The Economist: efficient care; utilitarianism; duty of stewardship; pragmatism; health economist",
]

_OPTION_LINE = re.compile(r"^([A-Z])\. ", re.MULTILINE)
_LETTER = re.compile(r"^[A-Z]\. ")
_COMMENT = re.compile(r"^Comment (\d+): (.*)$", re.MULTILINE)
# This project's selection prompt ("Target: ...") and the reference's ("... best reflect the value of X?").
_TARGET = re.compile(r"^Target: (.*)$|best reflect the (?:value of|people of) (.*)\?$", re.MULTILINE)
_PASSAGE = re.compile(r"^Passage: ([A-Z])\b", re.MULTILINE)
_PERSONA_NAME = re.compile(r"^You speak for (.+?) \(", re.MULTILINE)
_PERSONA_HELD = re.compile(r"core value: ([^;]*);.*key right or duty: ([^;)]*)")


def favoured_label(prompt: str, labels: list[str]) -> str:
    """The label a sensible model would favour: the target's comment, or the passage's own choice."""
    target = _TARGET.search(prompt)
    comments = _COMMENT.findall(prompt)
    if target and comments:
        words = set(re.findall(r"[a-z]+", (target[1] or target[2]).lower()))
        scores = [(len(words & set(re.findall(r"[a-z]+", text.lower()))), label) for label, text in comments]
        best = max(scores, key=lambda s: s[0])
        return best[1] if best[0] else comments[0][0]
    passage = _PASSAGE.search(prompt)
    if passage and passage[1] in labels:
        return passage[1]
    persona = _PERSONA_NAME.search(prompt)  # a persona agent's own choice: stable per persona
    if persona:
        return labels[sum(map(ord, persona[1])) % len(labels)]
    return labels[0]


class UnsupportedParameter(ValueError):
    """Raised for a request field in `FakeChatModel.unsupported` (an endpoint's 400)."""


class FakeChatModel(BaseChatModel):
    persona_lines: int = 6  # how many persona lines an unconstrained generator returns (fewer exercises the top-up)
    logprobs: bool = True  # False: an endpoint without logprobs, so options are estimated by sampling
    unsupported: tuple[str, ...] = ()  # request fields it refuses, as an endpoint without that feature does
    replies: dict[str, Callable[[str], str]] = {}  # role -> reply(prompt), overriding the defaults
    delay: float = 0.0  # seconds per call, as a slow model would take (`fake:SECONDS`; kill and concurrency tests)
    chat_template: bool = True  # False: a base model, which gets raw prompts
    _calls: list = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "fake"

    @property
    def calls(self) -> list[dict]:
        """Every call so far: role, messages as (type, text) pairs and the decoding kwargs."""
        return list(self._calls)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        tags = run_manager.tags if run_manager else []
        role = next((t[5:] for t in tags if t.startswith("role:")), None) or call_labels().get("ethos_role", "unknown")
        prompt = "\n".join(str(m.content) for m in messages)
        with self._lock:
            self._calls.append({"role": role, "messages": [(m.type, m.content) for m in messages], "kwargs": kwargs})
        if self.delay:
            time.sleep(self.delay)
        refused = [k for k in self.unsupported if kwargs.get(k)]
        if refused:
            raise UnsupportedParameter(f"this endpoint does not support {refused[0]}")
        labels = _OPTION_LINE.findall(prompt) or [c[0] for c in _COMMENT.findall(prompt)] or ["A", "B"]
        if kwargs.get("logprobs") and self.logprobs:
            fav = favoured_label(prompt, labels)
            # The favoured label arrives as two token variants ("A" and " A"), which must be summed.
            top = [{"token": fav, "logprob": math.log(0.5)}, {"token": " " + fav, "logprob": math.log(0.2)}]
            top += [{"token": label, "logprob": math.log(0.3 / len(labels))} for label in labels if label != fav]
            top.append({"token": "The", "logprob": math.log(0.05)})
            return _result(fav, prompt, top)
        if role in self.replies:
            return _result(self.replies[role](prompt), prompt)
        if kwargs.get("grammar") or kwargs.get("response_format"):
            return _result(self._constrained_reply(kwargs), prompt)
        reply = self._default_reply(role, prompt, labels, kwargs)
        if kwargs.get("prefix"):  # the reply continues the prefilled choice
            reply = " " + _LETTER.sub("", reply)
        return _result(reply, prompt)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        # Word by word, as a local model streams; option probabilities come whole.
        message = self._generate(messages, stop, run_manager, **kwargs).generations[0].message
        if kwargs.get("logprobs"):
            yield whole_chunk(message)
            return

        def words(on_text):
            for word in re.findall(r"\s*\S+", message.content):
                on_text(word)
            return message

        yield from stream_pieces(words)

    def _constrained_reply(self, kwargs: dict) -> str:
        if kwargs.get("grammar"):
            n = kwargs["grammar"].splitlines()[0].count("line")
            return "\n".join((PERSONA_LINES * 3)[:n]) + "\n"
        schema = kwargs["response_format"].get("json_schema", {}).get("schema") or kwargs["response_format"]["schema"]
        n = schema["properties"]["personas"]["minItems"]
        keys = ("name", *SLOTS)
        rows = [line[1:].replace(":", ";", 1).split("; ") for line in (PERSONA_LINES * 3)[:n]]
        return json.dumps({"personas": [dict(zip(keys, (v.strip() for v in row))) for row in rows]})

    def _default_reply(self, role: str, prompt: str, labels: list[str], kwargs: dict) -> str:
        if role == "persona_generator":
            return "Here are the perspectives:\n" + "\n".join(PERSONA_LINES[: self.persona_lines])
        if role == "persona_agent":
            name_match = _PERSONA_NAME.search(prompt)
            name = name_match[1] if name_match else "someone"
            held = _PERSONA_HELD.search(prompt)
            value, duty = (held[1], held[2]) if held else ("care", "duty of care")
            text = f"As {name}, I say we should weigh {value} and the {duty} carefully; care must come first."
            if _OPTION_LINE.search(prompt):
                letter = labels[sum(map(ord, name)) % len(labels)]
                return f"{letter}. {text}"
            return text
        if kwargs.get("max_tokens", 99) <= 4:  # a sampled option answer
            fav = favoured_label(prompt, labels)
            return fav if (kwargs.get("seed") or 0) % 4 else labels[-1]
        if "Please select one" in prompt:  # the reference protocol's comment selection, generated
            return f"Comment {favoured_label(prompt, labels)}"
        if prompt.rstrip().endswith("Expert:"):  # the reference protocol's MoE router
            return " 2"
        if prompt.rstrip().endswith("Answer:") and kwargs.get("max_tokens", 99) <= 20:  # a generated letter answer
            return f" {favoured_label(prompt, labels)}. That is my answer."
        return f"A balanced answer from the {role.replace('_', ' ')}, drawing on every comment."


def _result(text: str, prompt: str, top: list[dict] | None = None) -> ChatResult:
    message = ai_message(text, prompt_tokens=len(prompt.split()), completion_tokens=len(text.split()), model="fake", top=top)
    return ChatResult(generations=[ChatGeneration(message=message)])


def fake_backend(spec: str = "fake", *, constraints=("grammar",), prefill: bool = True, **options) -> Backend:
    """A fake backend; by default it constrains like llama.cpp (`constraints`, `prefill`)."""
    return Backend(
        spec,
        FakeChatModel(**options),
        top_logprobs=20,
        constraints=constraints,
        prefill=prefill,
        rejects_constraint=lambda exc: isinstance(exc, UnsupportedParameter),
    )
