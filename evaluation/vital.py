"""Reading items in the VITAL schema and turning one into a persona-graph request.

The five task files differ in their fields; an item's mode is its task's (`Task.request`), or, for
an item run on its own, what its fields say; a file's name never decides it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ethos.errors import EthosError
from ethos.inputs import read_text
from ethos.personas.targets import AMBIGUITY_LEVELS, group_of

STEERABLE_VK_OPTIONS = ["supports the action", "opposes the action", "either, it depends"]
_OPTIONS_TAIL = re.compile(r"\n\s*(?:Options:|A\.\s).*\Z", re.DOTALL)


def load_items(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        data = json.loads(read_text(path))
    except FileNotFoundError:
        raise EthosError(f"item file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EthosError(f"cannot read item file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise EthosError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(data, list) or not data:
        raise EthosError(f"{path}: expected a non-empty JSON list of VITAL items")
    return data


def question_stem(question: str) -> str:
    """The question without its lettered options and trailing 'Answer:' (options are re-rendered)."""
    stem = _OPTIONS_TAIL.sub("", question.strip()).strip()
    stem = stem.removeprefix("Question:").strip()
    return stem.removesuffix("Answer:").strip() or question.strip()


def is_group_code(attribute: str | None) -> bool:
    return group_of(attribute or "") is not None


def item_request(item: dict, *, source: str, index: int, mode: str | None = None) -> dict:
    """A graph request for one VITAL item; a missing or malformed field is named with the item.
    `mode` is the item's task's (eval knows it); without one (an `--item` run) the item's fields
    say it: a VITAL group code as its attribute is a steerable item. Never the file's name."""
    where = f"{source}: item {index}" + (f" (id {item['id']})" if isinstance(item, dict) and "id" in item else "")
    if not isinstance(item, dict):
        raise EthosError(f"{where}: not a JSON object")

    def field(name: str, kind: type | tuple[type, ...]):
        if name not in item or item[name] is None:
            raise EthosError(f"{where}: missing field '{name}'")
        if not isinstance(item[name], kind):
            raise EthosError(f"{where}: field '{name}' has the wrong type ({type(item[name]).__name__})")
        if isinstance(item[name], str) and not item[name].strip():
            raise EthosError(f"{where}: field '{name}' is empty")
        return item[name]

    if item.get("attribute") is not None and not isinstance(item["attribute"], str):
        raise EthosError(f"{where}: field 'attribute' has the wrong type ({type(item['attribute']).__name__})")

    if "situation" in item:  # ValueKaleidoscope
        situation = field("situation", str)
        vrd = field("vrd", (str, list))
        own = {"item_text": field("input", str)} if item.get("input") is not None else {}  # what the reference protocol sends
        if isinstance(vrd, list):
            return {"situation": situation, "mode": "overton", **own}
        question = f'Does the value, right or duty "{vrd}" support or oppose this action: {situation}?'
        return {"situation": question, "mode": "steerable", "target": vrd, "options": STEERABLE_VK_OPTIONS, **own}
    question = field("question", str)
    options = field("options", list)
    if not options or not all(isinstance(o, str) and o.strip() for o in options):
        raise EthosError(f"{where}: field 'options' must be a non-empty list of strings")
    if len(options) > 26:
        raise EthosError(f"{where}: field 'options' has {len(options)} options; at most 26 are supported (labels A-Z)")
    attribute = item.get("attribute")
    steerable = mode == "steerable" if mode else is_group_code(attribute)
    request = {"situation": question_stem(question), "options": options, "item_text": question}
    if steerable:
        if not attribute:
            raise EthosError(f"{where}: missing field 'attribute' (the group to steer to)")
        return request | {"mode": "steerable", "target": attribute}
    # MoralChoice's attribute is an ambiguity level: kept out of the prompts.
    return request | {"mode": "distributional", "attribute": None if attribute in AMBIGUITY_LEVELS else attribute}
