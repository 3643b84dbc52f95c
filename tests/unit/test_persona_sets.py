import json

import pytest

from ethos.cli import main
from ethos.graph.state import count_fallbacks
from ethos.personas.library import load_library
from ethos.personas.schema import Persona
from ethos.personas.selection import HYBRID_EXTRA, build_persona_set, coverage_gaps, diagnostics, embedding_diversity
from ethos.personas.targets import holds_target, target_persona

LINES = "\n".join(
    [
        "#Alpha: honesty; deontology; right to know; resolve; patient",
        "#Beta: family harmony; ethics of care; duty to protect family; fear; adult child",
        "#Gamma: well-being; principlism; duty of non-maleficence; concern; oncologist",
    ]
)


def personas_of(source, text=LINES, n=3, target=None, attribute=None, attempts=1):
    return build_persona_set(
        source,
        lambda attempt: text,
        n=n,
        attempts=attempts,
        library=load_library(),
        situation="A patient refuses a blood transfusion.",
        target=target,
        attribute=attribute,
    )


def test_hybrid_adds_library_personas_for_missing_stakeholders_and_frameworks():
    personas, report = personas_of("hybrid")
    assert [p.source for p in personas[:3]] == ["parsed"] * 3
    added = personas[3:]
    assert report.library_added == len(added) == 2 and all(p.source == "library" for p in added)
    have = personas[:3]
    for p in added:
        assert p.stakeholder not in {q.stakeholder for q in have} and p.framework not in {q.framework for q in have}


def test_hybrid_with_a_short_generation_tops_up_first_and_counts_it():
    personas, report = personas_of("hybrid", text=LINES.splitlines()[0], n=3)
    assert report.generated == 1 and report.topped_up == 2 and len(personas) == 3 + report.library_added


def test_library_mode_puts_the_targets_group_first():
    personas, report = personas_of("library", n=6, target="RELIG_Muslim")
    assert personas[0].name == "The Muslim Patient" and report.from_library == 6 and report.generated == 0
    assert len({p.key() for p in personas}) == 6


def test_target_aware_generation_adds_a_holder_only_when_none_holds_the_target():
    _, report = personas_of("generated", target="Right to know")
    assert report.target_added == 0  # Alpha holds it
    personas, report = personas_of("generated", target="Right to privacy")
    assert report.target_added == 1 and any(holds_target(p, "Right to privacy") for p in personas)


def test_target_persona_for_a_group_code():
    persona = target_persona("POLPARTY_Democrat")
    assert persona.source == "target" and holds_target(persona, "POLPARTY_Democrat") and "political party" in persona.core_value


def test_holds_target_matches_the_value_not_any_shared_word():
    p = Persona(name="X", core_value="honesty", framework="f", right_or_duty="right to informed consent", emotion="e", stakeholder="s")
    assert holds_target(p, "Right to informed consent") and not holds_target(p, "Right to know")


def test_diagnostics_measure_the_spread():
    same = [
        Persona(name=f"P{i}", core_value="honesty", framework="deontology", right_or_duty="r", emotion="e", stakeholder="patient")
        for i in range(3)
    ]
    spread = diagnostics(same)
    assert spread["frameworks"] == 1 and spread["stakeholders"] == 1 and "diversity" not in spread  # no embedding model by default
    varied = load_library()[:6]
    assert embedding_diversity(same) < 0.2 < embedding_diversity(varied)


def test_a_full_generated_set_never_ranks_the_library(monkeypatch):
    import ethos.personas.selection as selection

    def must_not_rank(*args):
        raise AssertionError("the library was ranked")

    monkeypatch.setattr(selection, "rank_by_relevance", must_not_rank)
    lines = "\n".join(f"#Voice {i}: value {i}; framework {i}; duty {i}; emotion {i}; stakeholder {i}" for i in range(3))
    personas, report = build_persona_set("generated", lambda attempt: lines, n=3, attempts=1, library=load_library(), situation="s")
    assert report.generated == 3 and len(personas) == 3
    with pytest.raises(AssertionError, match="ranked"):  # a short set does need the ranking, for its top-up
        build_persona_set("generated", lambda attempt: lines, n=4, attempts=1, library=load_library(), situation="s")


def test_coverage_gaps_never_repeat_a_stakeholder_or_framework():
    library = load_library()
    gaps = coverage_gaps(library[:3], library[3:], 10)
    assert len({p.stakeholder for p in gaps}) == len(gaps)


def test_weights_shape_the_distributional_average(fake, tmp_path, capsys):
    board = tmp_path / "weighted.toml"
    board.write_text(
        "\n".join(
            f'[[persona]]\nname = "W{i}"\ncore_value = "v{i}"\nframework = "f{i}"\nright_or_duty = "r{i}"\nemotion = "e"\nstakeholder = "s{i}"\nweight = {w}\n'
            for i, w in enumerate([3.0, 1.0])
        )
    )
    spec = fake().spec
    argv = [
        "run",
        "--json",
        "--model",
        spec,
        "--personas",
        "library",
        "--persona-file",
        str(board),
        "--n-personas",
        "2",
        "--mode",
        "distributional",
        "q?",
        "--option",
        "a",
        "--option",
        "b",
    ]
    # Only the two weighted personas: an empty curated library is not possible, so pick them by file.
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["result"]["per_persona"]
    weights = [r["weight"] for r in rows]
    expected = [sum(w * r["probs"][k] for w, r in zip(weights, rows)) / sum(weights) for k in range(2)]
    assert out["result"]["distribution"] == pytest.approx(expected)
    assert out["persona_report"]["diagnostics"]["frameworks"] == 2


def test_a_broken_persona_file_is_one_line_naming_path_and_field(tmp_path, capsys):
    bad = tmp_path / "board.toml"
    bad.write_text(
        '[[persona]]\nname = "Ethicist"\ncore_value = "justice"\nframework = "f"\nright_or_duty = "r"\nemotion = "e"\nstakeholder = "s"\nweight = -1\n'
    )
    assert main(["run", "--model", "fake", "--persona-file", str(bad), "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad}: persona 1 (Ethicist): field 'weight'" in err[0]


def test_personas_in_the_user_folder_join_the_library(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ETHOS_PERSONA_DIR", str(tmp_path))
    (tmp_path / "mine.toml").write_text(
        '[[persona]]\nname = "The Night Porter"\ncore_value = "v"\nframework = "f"\nright_or_duty = "r"\nemotion = "e"\nstakeholder = "porter"\n'
    )
    extra = tmp_path / "extra.toml"
    extra.write_text((tmp_path / "mine.toml").read_text().replace("The Night Porter", "The Day Clerk"))
    assert main(["personas", "list", "--json", "--persona-file", str(extra)]) == 0
    sources = {p["name"]: p["source"] for p in json.loads(capsys.readouterr().out)}
    assert sources["The Night Porter"] == "user" and sources["The Day Clerk"] == "file"  # where each came from
    assert list(sources.values()).count("library") >= 30  # the curated ones


def test_unknown_agent_variant_is_rejected(capsys):
    assert main(["run", "--model", "fake", "--agent-variant", "chatty", "x"]) == 2
    assert "unknown --agent-variant 'chatty'" in capsys.readouterr().err


def test_target_added_counts_as_a_fallback(fake, run_graph):
    backend = fake()
    out = run_graph({"situation": "q", "mode": "steerable", "target": "Right to privacy", "options": ["a", "b"]}, backend)
    assert count_fallbacks(out)["target_personas_added"] == 1
    assert out["result"]["selected_persona"].startswith("The Advocate of Right to privacy")


def _persona(name, stakeholder="patient", **slots):
    base = dict(core_value="honesty", framework="deontology", right_or_duty="duty to inform", emotion="calm")
    return Persona(name=name, stakeholder=stakeholder, **{**base, **slots})


@pytest.mark.parametrize(
    "persona_name, stakeholder, target, held",
    [
        ("A Female Nurse", "nurse", "SEX_Male", False),
        ("A Female Nurse", "nurse", "SEX_Female", True),
        ("The Caucasian Elder", "elder", "RACE_Asian", False),
        ("An Asian Daughter", "adult child", "RACE_Asian", True),
        ("The Southeastern Farmer", "farmer", "CREGION_South", False),
        ("A Voice of the South", "farmer", "CREGION_South", True),
        ("The Non-Jewishness Critic", "critic", "RELIG_Jewish", False),
        ("Social Democratic Planner", "planner", "POLPARTY_Democrat", False),
        ("A Democrat Organiser", "organiser", "POLPARTY_Democrat", True),
    ],
)
def test_groups_match_whole_words_never_substrings(persona_name, stakeholder, target, held):
    assert holds_target(_persona(persona_name, stakeholder), target) is held


def test_values_match_whole_words_never_substrings():
    p = _persona("X", right_or_duty="duty of beneficence")
    assert not holds_target(p, "Right to benefit") and not holds_target(p, "Duty of bene")
    assert holds_target(p, "duty of beneficence")


@pytest.mark.parametrize("source", ["generated", "library", "hybrid"])
def test_a_steerable_set_stays_at_n(source):
    six = "\n".join(f"#P{i}: value {i}; framework {i}; duty {i}; emotion {i}; role {i}" for i in range(6))
    personas, report = personas_of(source, text=six, n=6, target="RELIG_Hindu")
    assert len(personas) == (6 + HYBRID_EXTRA if source == "hybrid" else 6) and report.target_added == 1
    assert sum(holds_target(p, "RELIG_Hindu") for p in personas) >= 1 and personas.count(personas[0]) == 1
    # the counters still add up to what the set holds
    counted = report.generated + report.topped_up + report.from_library + report.library_added + report.target_added
    assert counted == len(personas)


def test_the_target_holder_replaces_a_top_up_before_a_generated_persona():
    personas, report = personas_of("generated", text=LINES.splitlines()[0], n=3, target="Right to privacy")
    assert [p.source for p in personas].count("parsed") == 1 and report.topped_up == 1 and report.target_added == 1
    assert len(personas) == 3


def test_the_target_holder_replaces_the_least_relevant_generated_persona():
    lines = "\n".join(
        [
            "#Alpha: bodily autonomy; deontology; duty to inform; resolve; patient",
            "#Beta: family harmony; ethics of care; duty to protect family; fear; adult child",
            "#Gamma: well-being; principlism; duty of non-maleficence; concern; oncologist",
        ]
    )
    personas, _ = personas_of("generated", text=lines, n=3, target="Right to informed bodily consent")
    assert [p.name for p in personas[:2]] == ["Alpha", "Beta"] and personas[2].source == "target"


def test_the_generator_and_the_answer_name_a_population_alike():
    from ethos.agents.prompts import conditioning_block
    from ethos.personas.seed_prompt import persona_messages

    for attribute, people in (
        ("Japan", "people from Japan"),
        ("POLPARTY_Democrat", "people who are, in terms of political party, Democrat"),
    ):
        generator = persona_messages("Should she be told?", 3, attribute=attribute)[1][1]
        assert f"The question is put to {people}." in generator  # before: "people from in terms of political party, ..."
        assert f"The people answering this question are {people}." in conditioning_block(attribute=attribute)
    assert "put to" not in persona_messages("Should she be told?", 3, attribute="high_ambiguity")[1][1]
