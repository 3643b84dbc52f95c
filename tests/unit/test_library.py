import pytest

from ethos.errors import EthosError
from ethos.personas.library import default_library, load_persona_file, top_up
from ethos.personas.schema import Persona


def test_default_library_is_valid_and_distinct():
    library = default_library()
    assert len(library) >= 12
    assert len({p.key() for p in library}) == len(library)
    assert library and all(p.source == "library" for p in library)


def test_top_up_prefers_uncovered_stakeholders_and_frameworks():
    have = [Persona(name="X", core_value="v", framework="utilitarianism", right_or_duty="r", emotion="e", stakeholder="patient")]
    library = [
        Persona(name="Same", core_value="v", framework="utilitarianism", right_or_duty="r", emotion="e", stakeholder="patient"),
        Persona(name="New", core_value="v", framework="virtue ethics", right_or_duty="r", emotion="e", stakeholder="nurse"),
    ]
    assert [p.name for p in top_up(have, library, 1)] == ["New"]
    assert [p.name for p in top_up(have, library, 5)] == ["New", "Same"]  # never more than the library has


def test_a_bad_persona_file_names_the_file_entry_and_field(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text(
        '[[persona]]\nname = "Ethicist"\ncore_value = "justice"\nframework = ""\nright_or_duty = "r"\nemotion = "e"\nstakeholder = "s"\n'
    )
    with pytest.raises(EthosError, match=r"board\.toml: persona 1 \(Ethicist\): field 'framework'"):
        load_persona_file(path)


def test_a_persona_file_that_is_not_toml_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[[persona]\nname=")
    with pytest.raises(EthosError, match="bad.toml: not valid TOML"):
        load_persona_file(path)
