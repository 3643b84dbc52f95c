"""The page of one run (`ethos view RUN_ID`): its input, personas, comments with what each chose
and any sign that it says little, the moderator's result with its charts, and its fallbacks."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from ethos.evaluation.charts import bars
from ethos.graph.context import RENAMED
from ethos.graph.quality import loops, truncated
from ethos.personas.schema import GENERATED, SLOT_LABELS, SLOTS, WRITTEN
from ethos.redaction import outward


@cache
def templates():
    import jinja2
    import markupsafe

    def shown(value):  # every value a page prints passes the output boundary; markup this program made (charts) is its own
        return value if isinstance(value, markupsafe.Markup) else outward(value)

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True, trim_blocks=True, finalize=shown
    )


def run_page(record: dict) -> str:
    """One run record as a page."""
    from ethos.evaluation.presentation import counted

    request, result = record.get("request") or {}, record.get("result") or {}
    options = request.get("options") or []
    personas = []
    for p in record.get("personas") or []:
        source = p.get("source", "")
        kind = "generated" if source in GENERATED else "library" if source in WRITTEN else source
        personas.append({"cells": [p.get(k) or "" for k in ("name", *SLOTS)], "source": source, "kind": kind})
    comments = [
        {
            "persona": c.get("persona", ""),
            "choice": _choice(c, options),
            "text": c.get("text", ""),
            "signs": [sign for sign, found in (("loops", loops), ("stops mid-sentence", truncated)) if found(str(c.get("text", "")))],
        }
        for c in sorted(record.get("comments") or [], key=lambda c: c.get("index", 0) if isinstance(c.get("index"), int) else 0)
    ]
    return (
        templates()
        .get_template("run.html.j2")
        .render(
            title=f"EthosAgents run {record.get('run_id')}",
            record={k: record.get(k) for k in ("run_id", "kind", "status", "error")}
            | {"seconds": round(record["seconds"], 1) if isinstance(record.get("seconds"), (int, float)) else None},
            request={k: request.get(k) for k in ("mode", "situation", "target", "attribute")},
            options=options,
            tokens=(record.get("tokens") or {}).get("output_tokens"),
            settings=_settings(record),
            personas=personas,
            slot_labels=list(SLOT_LABELS.values()),
            comments=comments,
            result=_result_parts(result, options, comments),
            fallbacks=counted(record).replace("_", " "),  # "looping texts 2", as a reader words it
        )
    )


def _settings(record: dict) -> str:
    """The models and the settings a reader needs to place the run: each role's model, the method,
    the protocol, the persona count and source, the seed."""
    context = ((record.get("config") or {}).get("context") or {}) if isinstance(record.get("config"), dict) else {}
    if not isinstance(context, dict):
        return ""
    context = {RENAMED.get(k, k): v for k, v in context.items()}  # a record saved before a rename
    models = dict.fromkeys(str(context[r]) for r in ("generator_model", "agent_model", "moderator_model") if context.get(r))
    named = [f"model {', '.join(models)}"] if models else []
    for key, label in (
        ("method", "method"),
        ("protocol", "protocol"),
        ("n_personas", "personas"),
        ("persona_source", "persona source"),
        ("seed", "seed"),
    ):
        if isinstance(context.get(key), (str, int)) and not isinstance(context.get(key), bool):
            named.append(f"{label} {context[key]}")
    return " · ".join(named)


def _choice(comment: dict, options: list[str]) -> str | None:
    """What a comment's choice means: the option its agent opened the comment with (it is read from
    the agent's own next-token probabilities; the moderator's answer is read apart)."""
    choice = comment.get("choice")
    if not isinstance(choice, str) or not choice:
        return None
    index = ord(choice) - 65 if len(choice) == 1 else -1
    text = f"{choice}: {options[index]}" if 0 <= index < len(options) else choice
    return text + (" (drawn at random: no choice could be read)" if comment.get("choice_source") == "uniform_fallback" else "")


def _carried(comment: str, response: str) -> float:
    """The share of a comment's content words (four letters or more) that the response uses: a
    quick, model-free sign of which voices the summary carries (eval's coverage uses NLI)."""
    words = set(re.findall(r"[a-z]{4,}", comment.lower()))
    return len(words & set(re.findall(r"[a-z]{4,}", response.lower()))) / len(words) if words else 0.0


def _result_parts(result: dict, options: list[str], comments: list[dict]) -> list[dict]:
    """The moderator's result as paragraphs and charts."""
    mode, labels = result.get("mode"), [chr(65 + i) for i in range(len(options))]
    parts: list[dict] = []
    if mode == "overton":
        response = str(result.get("response") or "")
        parts.append({"lead": "Overton response.", "text": response})
        if comments and response:
            carried = [_carried(str(c["text"]), response) for c in comments]
            parts.append({"meta": True, "text": "How much of each comment the response carries (share of its content words it uses):"})
            parts.append({"chart": bars([str(c["persona"]) for c in comments], {"carried": carried}, top=1.0, y_title="words carried")})
    elif mode == "steerable":
        selection = result.get("selection") or {}
        parts.append(
            {
                "text": f"Target {result.get('target')}: selected comment {(result.get('selected') or 0) + 1} ({result.get('selected_persona')})."
            }
        )
        if selection.get("probs"):
            parts.append(
                {"chart": bars([f"comment {i + 1}" for i in range(len(selection["probs"]))], {"P(selected)": selection["probs"]}, top=1.0)}
            )
        elif "reply" in selection:  # a generated selection (the reference protocol)
            parts.append({"meta": True, "text": f"The moderator replied {selection['reply']} [{selection.get('source')}]."})
        if "distribution" in result:
            parts.append({"chart": bars(labels, {"answer": result["distribution"].get("probs") or []}, top=1.0)})
        elif result.get("answer"):
            parts.append({"text": result["answer"]})
    elif mode == "distributional":
        parts.append({"chart": bars(labels, {"combined": result.get("distribution") or []}, top=1.0)})
        series = {row["persona"]: row["probs"] for row in result.get("per_persona") or []}
        if series:
            parts += [{"meta": True, "text": "Per persona:"}, {"chart": bars(labels, series, top=1.0)}]
    elif "pred_distribution" in result or "output" in result:  # an eval item of a baseline
        if result.get("pred_distribution"):
            parts.append({"chart": bars(labels, {"predicted": result["pred_distribution"]}, top=1.0)})
        if result.get("output"):
            parts.append({"text": result["output"]})
    else:
        parts.append({"text": json.dumps(result, indent=1, ensure_ascii=False)})
    return parts
