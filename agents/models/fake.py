"""A deterministic fake chat model for tests and offline demos (`--backend fake`).

It replies by role (read from the call's `role:` tag), records every call, and returns
OpenAI-style logprobs, or none at all when built with `logprobs=False`.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from ethos.agents.models.base import Backend, ai_message

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
_COMMENT = re.compile(r"^Comment ([A-Z]) \(([^)]*)\): (.*)$", re.MULTILINE)
_TARGET = re.compile(r"^Target: (.*)$", re.MULTILINE)
_PASSAGE = re.compile(r"^Passage: ([A-Z])\b", re.MULTILINE)
_PERSONA_NAME = re.compile(r"^You speak for (.+?) \(", re.MULTILINE)


def favoured_label(prompt: str, labels: list[str]) -> str:
    """The label a sensible model would favour: the target's comment, or the passage's own choice."""
    target = _TARGET.search(prompt)
    comments = _COMMENT.findall(prompt)
    if target and comments:
        words = set(re.findall(r"[a-z]+", target[1].lower()))
        scores = [(len(words & set(re.findall(r"[a-z]+", (who + " " + text).lower()))), label) for label, who, text in comments]
        best = max(scores, key=lambda s: s[0])
        return best[1] if best[0] else comments[0][0]
    passage = _PASSAGE.search(prompt)
    if passage and passage[1] in labels:
        return passage[1]
    return labels[0]


class FakeChatModel(BaseChatModel):
    persona_lines: int = 6  # how many persona lines the generator returns (fewer exercises the top-up)
    logprobs: bool = True  # False: an endpoint without logprobs, so options are estimated by sampling
    replies: dict[str, Callable[[str], str]] = {}  # role -> reply(prompt), overriding the defaults
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
        role = next((t[5:] for t in tags if t.startswith("role:")), "unknown")
        prompt = "\n".join(str(m.content) for m in messages)
        with self._lock:
            self._calls.append({"role": role, "messages": [(m.type, m.content) for m in messages], "kwargs": kwargs})
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
        return _result(self._default_reply(role, prompt, labels, kwargs), prompt)

    def _default_reply(self, role: str, prompt: str, labels: list[str], kwargs: dict) -> str:
        if role == "persona_generator":
            return "Here are the perspectives:\n" + "\n".join(PERSONA_LINES[: self.persona_lines])
        if role == "persona_agent":
            name_match = _PERSONA_NAME.search(prompt)
            name = name_match[1] if name_match else "someone"
            text = f"As {name}, I say we should weigh {name.lower()}'s duties carefully; care must come first."
            if _OPTION_LINE.search(prompt):
                letter = labels[sum(map(ord, name)) % len(labels)]
                return f"{letter}. {text}"
            return text
        if kwargs.get("max_tokens", 99) <= 4:  # a sampled option answer
            fav = favoured_label(prompt, labels)
            return fav if (kwargs.get("seed") or 0) % 4 else labels[-1]
        return f"A balanced answer from the {role.replace('_', ' ')}, drawing on every comment."


def _result(text: str, prompt: str, top: list[dict] | None = None) -> ChatResult:
    message = ai_message(text, prompt_tokens=len(prompt.split()), completion_tokens=len(text.split()), model="fake", top=top)
    return ChatResult(generations=[ChatGeneration(message=message)])


def fake_backend(spec: str = "fake", **options) -> Backend:
    return Backend(spec, FakeChatModel(**options), top_logprobs=20)
