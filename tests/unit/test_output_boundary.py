"""Every sink a text leaves the program through, walked with the hostile payloads: a key the
environment holds (as an endpoint reflecting its request headers would echo it), escape sequences,
bidi and zero-width characters, a lone surrogate, a live Markdown link and an HTML tag. Each sink
must give out no secret and no raw control character, in the form its medium needs."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ethos.redaction import MASK, NeutralStream, outward

SECRET = "sk-reflected-0123456789abcdef"
PAYLOADS = {
    "key": f"Authorization: Bearer {SECRET}",
    "env key": f"the key is {SECRET}!",
    "hidden text": "\x1b[8mhidden",
    "hyperlink": "\x1b]8;;http://x.example/\x1b\\link\x1b]8;;\x1b\\",
    "title": "\x1b]0;owned\x07",
    "bidi": "a\u202eb\u2066c",
    "zero width": "z\u200bw\u200dj\u200fr\u061cl",
    "surrogate": "lone \ud800 half",
    "carriage return": "shown\rhidden",
    "markdown link": "[click](javascript:alert(1)) ![x](http://beacon.example/p.png)",
    "html": "<img src=x onerror=alert(1)>",
}
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


@pytest.fixture(autouse=True)
def secret_in_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def _terminal_stream(text, tmp_path):
    stream = NeutralStream(io.StringIO())
    print(text, file=stream)
    return stream.raw.getvalue()


def _table(text, tmp_path):
    import ethos.cli.render as render

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "raw", lambda _: out)
        patch.setattr(render, "_coloured", lambda: True)  # a colour terminal: Rich's own codes, the cell's text as escapes
        render.print_table(["input"], [[text]], ["{}"])
    return re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())


def _live_view(text, tmp_path):
    from rich.console import Console

    from ethos.cli.live import LiveView

    view = LiveView(total=1, console=Console(file=io.StringIO(), force_terminal=True, width=200))
    view.token(text, {"ethos_role": "persona_agent", "ethos_persona_index": 0, "ethos_persona": text})
    return "".join(line.plain for line in view.render().renderables)


def _file(text, tmp_path):
    from ethos.inputs import write_json

    write_json(tmp_path / "f.json", {"text": text})
    return (tmp_path / "f.json").read_bytes().decode("utf-8")


def _appended_line(text, tmp_path):  # results lines and traces
    from ethos.inputs import append_text, json_line

    append_text(tmp_path / "r.jsonl", json_line({"text": text}))
    return (tmp_path / "r.jsonl").read_bytes().decode("utf-8")


def _record(text, tmp_path):
    from ethos.inputs import write_json

    write_json(tmp_path / "record.json", {"result": {"response": text}})
    return (tmp_path / "record.json").read_bytes().decode("utf-8")


def _cache_row(text, tmp_path):
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration

    from ethos.agents.models.cache import SqliteCallCache

    cache = SqliteCallCache(tmp_path / "cache.sqlite", "test")
    cache.update("prompt", "llm", [ChatGeneration(message=AIMessage(content=text))])
    (replayed,) = cache.lookup("prompt", "llm")
    assert SECRET not in replayed.message.content
    (row,) = sqlite3.connect(tmp_path / "cache.sqlite").execute("SELECT value FROM calls").fetchone()
    return row


def _telemetry(text, tmp_path):
    from ethos.agents.models.recording import Exchange
    from ethos.graph.telemetry import llm_attributes

    attributes = llm_attributes(Exchange(role="persona_agent", model="fake", messages=[("human", text)], reply=text))
    return json.dumps(attributes, ensure_ascii=False)


def _markdown(text, tmp_path):
    from ethos.evaluation.report import _md

    return _md(text)


def _svg(text, tmp_path):
    from ethos.evaluation.charts import bars

    svg = bars([text], {text: [0.5]})
    ET.fromstring(svg)  # valid XML, whatever the label held
    return svg


def _html(text, tmp_path):
    from ethos.cli.run_page import templates

    return templates().from_string("<p>{{ value }}</p>").render(value=text)


def _csv(text, tmp_path):
    from ethos.cli.view import _csv

    return _csv([[text, "=HYPERLINK(1)"]])


SINKS = {
    "terminal": _terminal_stream,
    "table": _table,
    "live view": _live_view,
    "file": _file,
    "appended line": _appended_line,
    "record": _record,
    "cache row": _cache_row,
    "telemetry": _telemetry,
    "markdown": _markdown,
    "svg": _svg,
    "html": _html,
    "csv": _csv,
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("sink", SINKS.values(), ids=SINKS.keys())
def test_every_sink_gives_out_no_secret_and_no_raw_control_character(sink, payload, tmp_path):
    out = sink(payload, tmp_path)
    assert SECRET not in out
    assert not RAW.search(out), RAW.findall(out)
    if payload.startswith(("Authorization", "the key")):
        assert MASK in out.replace("\\[", "[").replace("\\]", "]")


def _strings(data) -> list[str]:
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return [data] if isinstance(data, str) else []


@pytest.mark.parametrize("sink", [_file, _appended_line, _record, _cache_row], ids=["file", "line", "record", "cache"])
def test_json_sinks_keep_the_text_a_reader_gets_back(sink, tmp_path):
    """Escaped as JSON escapes them: the file holds no raw control character, a reader the same text."""
    text = "tab\tline\nesc\x1b[8m bidi\u202e"
    out = sink(text, tmp_path)
    assert not RAW.search(out.replace("\n", "")) and text in _strings(json.loads(out))


def test_markdown_html_and_csv_take_outside_text_as_text(tmp_path):
    markdown = _markdown(PAYLOADS["markdown link"] + " " + PAYLOADS["html"] + " a|b `code`", tmp_path)
    assert "](" not in markdown.replace("\\](", "") and "<img" not in markdown and "\\|" in markdown and "\\`" in markdown
    assert "<img" not in _html(PAYLOADS["html"], tmp_path) and "&lt;img" in _html(PAYLOADS["html"], tmp_path)
    assert "<img" not in _svg(PAYLOADS["html"], tmp_path)
    assert _csv("=1+1", tmp_path).splitlines()[0] == "'=1+1,'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    assert outward("-3.5", "csv") == "'-3.5" and outward("plain", "csv") == "plain"
    with pytest.raises(ValueError, match="unknown medium"):
        outward("x", "pdf")


def test_a_run_prints_and_writes_a_reflected_key_nowhere(fake, runs_dir, capsys, tmp_path):
    """The whole path: an endpoint's reply echoing the key, through `ethos run` to the terminal, --json, the trace and every file."""
    from ethos.cli import main

    backend = fake(replies={"main_model": lambda prompt: f"B. Echoed: Authorization: Bearer {SECRET} \x1b]0;owned\x07 \u202e"})
    for extra in ([], ["--json"], ["--trace"]):
        assert main(["run", "--model", backend.spec, "--n-personas", "2", "A situation.", *extra]) == 0
        printed = "".join(capsys.readouterr())
        assert SECRET not in printed and not RAW.search(printed.replace("\n", "")), extra
    written = [p for p in Path(runs_dir).rglob("*") if p.is_file()]
    assert written and not [p for p in written if SECRET.encode() in p.read_bytes()]
    assert not [p for p in written if p.suffix in (".json", ".jsonl") and RAW.search(p.read_text("utf-8").replace("\n", ""))]


# Where text may leave the process: only the boundary's own modules write files or touch the raw streams.
WRITERS = re.compile(r"\.write_text\(|\.write_bytes\(|open\([^)]*[\"'][wa]b?\+?[\"']|os\.write\(|raw\(sys\.")
ALLOWED = {
    "inputs.py": "write_file and append_text: text as its writer escaped it, no raw control character",
    "evaluation/store.py": "the lock file holds the process id",
    "cli/run.py": "stdout to os.devnull once the reader of a pipe is gone",
    "cli/render.py": "Rich tables: cells through outward",
    "cli/live.py": "the live view: texts through outward",
    "evaluation/runner.py": "the progress bar: counts only",
}


def test_only_the_boundary_writes_files_or_raw_terminal_output():
    root = Path(__file__).resolve().parents[2]
    found = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not {"tests", "scripts", "bench", "build", "examples"} & set(path.relative_to(root).parts)
        and not any(part.startswith(".") for part in path.relative_to(root).parts)  # virtual environments (.venv, .venv-phoenix)
        and WRITERS.search(path.read_text())
    }
    assert found <= set(ALLOWED), found - set(ALLOWED)


def test_the_fast_check_passes_every_text_the_patterns_may_match():
    """`_may_match` skips the patterns only where the case-blind trigger regex finds nothing: random
    texts over the triggers' letters in every case, the separators, and the non-ASCII letters a
    case-blind match also takes (dotless i, long s, Kelvin sign, dotted capital I)."""
    import random

    from ethos.redaction import _MAY_MATCH, _may_match

    alphabet = "bearsickhfgtupojnBEARSICKHFGTUPOJN_=:/- \u0131\u017f\u212a\u0130\u00e9"  # ı ſ K(elvin) İ é
    rng = random.Random(0)
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(200_000)]
    texts += ["BEARER x", "Basic y", "SK-1", "HF_1", "GHP_1", "GitHub_PAT_1", "baſic", "bearer ıſ", "baſİc", "plain words"]
    disagree = [t for t in texts if bool(_MAY_MATCH.search(t)) != _may_match(t)]
    assert not disagree, disagree[:5]
    assert sum(map(_may_match, texts)) > 1000  # the alphabet does make matches


def test_a_line_serialised_at_once_is_the_line_redacted_first(monkeypatch):
    """`json_text` skips the walk only where the walk would change nothing: the same text for lines
    with and without secrets (one with a quote and a backslash, which JSON escapes), triggers, NaN,
    tuples, non-text keys and objects JSON does not know, at every depth."""
    import json as json_module
    import random

    from ethos.redaction import json_text, neutral, redacted

    monkeypatch.setenv("ODD_SECRET", 'pa"ss\\word\u00e9!')
    pieces = [
        "plain",
        SECRET,
        'pa"ss\\word\u00e9!',
        "x=1",
        "http://u:p@h/",
        "Bearer abcdefghij",
        "caf\u00e9",
        "\x1b[2J",
        "",
        "ghp_abcdefghij",
    ]
    rng = random.Random(1)

    def value(depth=0):
        kind = rng.randrange(7 if depth < 4 else 4)
        if kind == 0:
            return " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))
        if kind == 1:
            return rng.choice([1, 2.5, float("nan"), True, None])
        if kind == 2:
            return rng.choice([Path("/tmp/key=1"), 3])
        if kind == 3:
            return rng.choice(pieces)
        if kind == 4:
            return {rng.choice([*pieces, 7]): value(depth + 1) for _ in range(rng.randint(0, 3))}
        if kind == 5:
            return tuple(value(depth + 1) for _ in range(rng.randint(0, 3)))
        return [value(depth + 1) for _ in range(rng.randint(0, 3))]

    for _ in range(3000):
        data = value()
        for indent in (None, 1):
            assert json_text(data, indent=indent) == neutral(json_module.dumps(redacted(data), ensure_ascii=False, indent=indent)), data
    assert SECRET not in json_text({"reply": f"the key {SECRET}"}) and "word" not in json_text(['pa"ss\\word\u00e9!'])
