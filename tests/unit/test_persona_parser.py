import pytest

from ethos.personas.generation import generate_personas, parse_persona_line
from ethos.personas.library import default_library
from ethos.personas.seed_prompt import EXAMPLE


@pytest.mark.parametrize(
    "line",
    [
        "#The Truth Teller: honesty; Kantian deontology; right to know; resolve; patient",
        "1. **The Truth Teller**: honesty; Kantian deontology; right to know; resolve; patient",
        "- The Truth Teller: honesty | Kantian deontology | right to know | resolve | patient",
        "# The Truth Teller: honesty, Kantian deontology, right to know, resolve, patient.",
        "#The Truth Teller: honesty; Kantian deontology; right to know; resolve; patient;",
        "The Truth Teller - core value: honesty; framework: Kantian deontology; right: right to know; emotion: resolve; stakeholder: patient",
    ],
)
def test_parses_decorated_lines(line):
    persona = parse_persona_line(line)
    assert persona is not None
    assert persona.name == "The Truth Teller"
    assert (persona.core_value, persona.framework, persona.right_or_duty, persona.emotion, persona.stakeholder) == (
        "honesty",
        "Kantian deontology",
        "right to know",
        "resolve",
        "patient",
    )


@pytest.mark.parametrize(
    "line",
    [
        "Here are six perspectives:",
        "#The Truth Teller: honesty; Kantian deontology; right to know; resolve",  # four slots
        "#The Truth Teller: honesty, trust, deontology, right to know, resolve, patient",  # six: ambiguous
        "#The Truth Teller: honesty; ; right to know; resolve; patient",  # an empty slot
        ": honesty; deontology; right; resolve; patient",  # no name
    ],
)
def test_rejects_lines_without_five_slots(line):
    assert parse_persona_line(line) is None


def test_short_output_is_topped_up_from_the_library_and_counted():
    outputs = ["#A: v1; f1; r1; e1; s1\nchatter", "#B: v2; f2; r2; e2; s2\n#A: v1; f1; r1; e1; s1"]
    calls = []

    def complete(ask):
        calls.append((ask.attempt, ask.missing, [p.name for p in ask.taken]))
        return outputs[ask.attempt]

    personas, report = generate_personas(complete, n=6, attempts=2, library=list(default_library()))
    # bounded: exactly `attempts` tries; the second asks only for the 5 missing, naming the one taken
    assert calls == [(0, 6, []), (1, 5, ["A"])]
    assert [p.name for p in personas[:2]] == ["A", "B"]
    assert len(personas) == 6 and all(p.source == "library" for p in personas[2:])
    assert report.as_dict() == {
        "requested": 6,
        "attempts": 2,
        "rejected_lines": 1,
        "example_copies": 0,
        "valid_lines": 3,
        "duplicates": 1,
        "generated": 2,
        "constrained": 0,
        "parsed": 2,
        "topped_up": 4,
        "from_library": 0,
        "library_added": 0,
        "target_added": 0,
        "notes": [],
        "diagnostics": {},
    }
    assert [p.source for p in personas[:2]] == ["parsed", "parsed"]


def test_stops_asking_once_enough_personas_parse():
    lines = "\n".join(f"#P{i}: v{i}; f{i}; r{i}; e{i}; s{i}" for i in range(8))
    calls = []
    personas, report = generate_personas(lambda a: calls.append(a.attempt) or lines, n=6, attempts=3, library=[])
    assert calls == [0] and len(personas) == 6 and report.topped_up == 0


def test_same_stance_under_another_name_is_a_duplicate():
    text = "#A: honesty; deontology; r1; e1; patient\n#B: Honesty; Deontology; r2; e2; Patient"
    personas, report = generate_personas(lambda a: text, n=2, attempts=1, library=list(default_library()))
    assert report.duplicates == 1 and report.topped_up == 1


def test_copies_of_the_prompt_example_are_rejected():
    personas, report = generate_personas(lambda a: EXAMPLE, n=1, attempts=1, library=list(default_library()))
    assert report.generated == 0 and report.example_copies == 1 and report.rejected_lines == 0 and personas[0].source == "library"
