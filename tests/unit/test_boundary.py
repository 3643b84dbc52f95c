"""What leaves the program and what it reads, at their edges: escapes never reach a terminal (live
view, tables), Markdown and SVG take outside text as text, databases are never opened through a
planted link, an ablation is a name, and every bad number, nesting or character is one named line."""

import io
import json
import xml.etree.ElementTree as ET

import pytest
from tests_paths import FIXTURES

from ethos.cli import main
from ethos.errors import EthosError
from ethos.graph.context import Context

PAYLOADS = [
    "\x1b[8mhidden",
    "\x1b]8;;http://x.example/\x1b\\link\x1b]8;;\x1b\\",
    "a\u202eb",
    "z\u200bw\u200dj\u200fr\u061cl",
    "\x1b]0;title\x07",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_live_view_shows_escapes_never_obeys_them(payload):
    from rich.console import Console

    from ethos.cli.live import LiveView

    out = io.StringIO()
    view = LiveView(total=1, console=Console(file=out, force_terminal=True, width=200))
    view.token(f"text {payload}", {"ethos_role": "persona_agent", "ethos_persona_index": 0, "ethos_persona": f"Name {payload}"})
    rendered = "".join(line.plain for line in view.render().renderables)
    assert not any(c in rendered for c in "\x1b\x07\u202e\u200b\u200d\u200f\u061c") and "\\u" in rendered


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tables_on_a_colour_terminal_show_escapes_never_obey_them(monkeypatch, capsys, payload):
    import ethos.cli.render as render

    monkeypatch.setattr(render, "_coloured", lambda: True)
    render.print_table(["input"], [[f"q {payload}"]], ["{}"])
    out = capsys.readouterr().out
    shown = out.replace("\x1b[", "")  # Rich's own colour codes; what the cell held is shown as \u escapes
    assert not any(c in shown for c in "\x1b\u202e\u200b\u200d\u200f\u061c\x07") and "\\u" in out


def test_a_report_takes_a_shared_folders_names_as_text(fake, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["eval", "--task", "distributional-moralchoice", "--data", str(FIXTURES), "--method", "vanilla", "--model", fake().spec,
                 "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    metrics = json.loads((out / "vanilla" / "metrics.json").read_text())
    metrics |= {"model": "[click](javascript:alert(1)) ![x](http://beacon.example/p.png)",
                "fallbacks": {"<img src=x onerror=alert(1)>": 1}, "parser": "<script>x</script>"}  # fmt: skip
    (out / "vanilla" / "metrics.json").write_text(json.dumps(metrics))
    assert main(["report", str(out), "--out", str(tmp_path / "r")]) == 0
    report = (tmp_path / "r" / "report.md").read_text()
    # brackets escaped: Markdown shows `[click](javascript:...)` as text, never as a link or an image
    assert "\\[click\\](javascript:" in report and "[click](" not in report and "![x](" not in report
    assert "<img" not in report and "<script" not in report


def test_an_svg_holds_control_characters_as_valid_xml():
    from ethos.evaluation.charts import bars

    svg = bars(["a\x01b\x1b[2J", "Japan\u202e"], {"row\x07": [0.5, 0.2]})
    ET.fromstring(svg)  # valid XML: no control character in it


@pytest.mark.parametrize("name", ["cache.sqlite", "checkpoints.sqlite"])
def test_a_database_link_planted_in_the_runs_folder_is_refused(fake, runs_dir, tmp_path, capsys, name):
    runs_dir.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside.sqlite"
    (runs_dir / name).symlink_to(outside)
    assert main(["run", "--model", fake().spec, "--method", "vanilla", "q?"]) == 2
    assert f"{name}: the " in capsys.readouterr().err and not outside.exists()


@pytest.mark.parametrize("ablations", [["../../etc/passwd"], ["personas-1000"], ["no-top-up"] * 40, ["x" * 1_000_000]])
def test_an_ablation_is_a_known_name_wherever_a_context_comes_from(ablations):
    with pytest.raises(EthosError, match="ablations: ") as caught:
        Context(ablations=ablations)
    assert len(str(caught.value)) < 600


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--n-personas", "9" * 400, "--n-personas: must be between 1 and 24, got a number of 400 digits"), ("--seed", "9" * 30, "--seed: must be between 0 and 4294967295"),
     ("--limit", "9" * 30, "must be at most 2147483647")],
)  # fmt: skip
def test_a_number_of_any_size_gets_one_short_line(capsys, flag, value, message):
    command = ["eval", "--task", "distributional-moralchoice", "--data", str(FIXTURES), flag, value]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert message in err and len(err) < 400 and "Traceback" not in err


@pytest.mark.parametrize("text", ["a = " + "[" * 5000 + "]" * 5000, "n_personas = " + "9" * 5000])
def test_a_settings_file_nested_deep_or_with_a_huge_number_is_one_line(tmp_path, capsys, text):
    (tmp_path / "c.toml").write_text(text)
    assert main(["eval", "--config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ethos: error: --config") and len(err) < 400


@pytest.mark.parametrize(
    "table", ['{"m": {"input": 1.7e308, "output": 1}}', '{"m": ' * 3000 + "1" + "}" * 3000, '{"m": {"input": 1' + "0" * 5000 + "}}"]
)
def test_a_price_table_out_of_bounds_is_refused_by_name(fake, tmp_path, capsys, table):
    (tmp_path / "prices.json").write_text(table)
    assert main(["run", "--model", fake().spec, "--method", "vanilla", "--prices", str(tmp_path / "prices.json"), "q?"]) == 2
    assert "prices.json" in capsys.readouterr().err


def test_a_lone_surrogate_in_an_item_is_written_as_its_escape(fake, tmp_path, capsys, runs_dir):
    items = json.loads((FIXTURES / "vital_distributional_moralchoice.sample.json").read_text())
    text = json.dumps(items).replace("Below is", "Below \\ud800 is", 1)
    (tmp_path / "vital_distributional_moralchoice.odd.json").write_text(text)
    assert main(["eval", "--task", "distributional-moralchoice", "--data", str(tmp_path), "--method", "vanilla", "--model", fake().spec,
                 "--no-progress", "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    assert "\\ud800" in (tmp_path / "o" / "vanilla" / "predictions.json").read_text()


def test_data_and_score_say_what_a_named_pipe_is(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "pipe")
    assert main(["eval", "--task", "distributional-moralchoice", "--data", str(tmp_path / "pipe")]) == 2
    assert "not a file or a folder" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "pipe")]) == 2
    assert "not a regular file (a named pipe or a device)" in capsys.readouterr().err
