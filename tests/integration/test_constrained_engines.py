"""Constrained personas and choices on the real local engines (llama.cpp and transformers + xgrammar)."""

import pytest

from ethos.agents.models import load_backend
from ethos.cli import main
from ethos.personas.format import persona_grammar, persona_json_schema
from ethos.personas.generation import parse_persona_line
from ethos.personas.seed_prompt import persona_messages

SITUATION = "A patient refuses a blood transfusion for religious reasons."


def constrained_lines(spec: str, n: int, seed: int) -> list[str]:
    text, note = load_backend(spec).complete_constrained(
        persona_messages(SITUATION, n),
        grammar=persona_grammar(n),
        json_schema=persona_json_schema(n),
        role="persona_generator",
        max_tokens=n * 80,
        temperature=1.0,
        seed=seed,
    )
    assert note is None  # constrained, not parsed
    return text.splitlines()


@pytest.mark.parametrize("seed", [0, 1])
def test_embedded_grammar_gives_exactly_n_schema_valid_personas(seed):
    lines = constrained_lines("embedded", 3, seed)
    assert len(lines) == 3 and all(parse_persona_line(line) is not None for line in lines)


def test_hf_grammar_gives_exactly_n_schema_valid_personas(embedded_hf_dir):
    spec = f"hf:{embedded_hf_dir}"
    assert load_backend(spec).constraints == ("grammar",)  # xgrammar is installed with the dev extra
    lines = constrained_lines(spec, 2, 0)
    assert len(lines) == 2 and all(parse_persona_line(line) is not None for line in lines)


def test_embedded_run_generates_its_personas_and_every_comment_chooses(capsys):
    import json

    argv = [
        "run",
        "--json",
        "--no-cache",
        "--n-personas",
        "3",
        "--persona-tokens",
        "240",
        "--comment-tokens",
        "16",
        "--mode",
        "distributional",
        SITUATION,
        "--option",
        "Respect the refusal",
        "--option",
        "Transfuse anyway",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    report = out["persona_report"]
    assert report["constrained"] == report["generated"] >= 1 and report["parsed"] == 0 and report["rejected_lines"] == 0
    assert all(p["source"] in ("constrained", "library") for p in out["personas"])
    assert all(c["choice"] in ("A", "B") and c["text"].startswith(c["choice"] + ". ") for c in out["comments"])
    assert all(c["choice_source"] == "logprobs" for c in out["comments"])
    assert out["fallbacks"]["comments_without_choice"] == 0
