"""`ethos view`: a run or an evaluation as one self-contained page, checked as markup (what a
browser shows: tests/integration/test_browser.py)."""

import json
import re

from tests_paths import FIXTURES

from ethos.cli import main

QUESTION = ["Should she be told?", "--mode", "distributional", "--option", "Yes", "--option", "No"]


def run_id(capsys, *argv) -> str:
    assert main(["run", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


def offline(page: str) -> bool:
    """No script, and nothing that would make a browser fetch anything (a link to a file beside the
    page fetches nothing until followed, and reaches no network)."""
    page = re.sub(r"<a href=[\"'](?![a-z]+:|//)[^\"'<>]*[\"']>", "<a>", page)
    return not re.search(r"<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import", page, re.IGNORECASE)


def test_a_run_page_holds_personas_comments_and_charts(fake, runs_dir, capsys):
    rid = run_id(capsys, "--model", fake().spec, "--n-personas", "3", *QUESTION)
    assert main(["view", rid]) == 0
    path = capsys.readouterr().out.strip()
    page = open(path, encoding="utf-8").read()
    record = json.loads((runs_dir / "runs" / rid / "record.json").read_text())
    assert path.endswith(f"{rid}/view.html") and offline(page)
    for persona, comment in zip(record["personas"], record["comments"]):
        assert persona["name"] in page and persona["framework"] in page and comment["text"] in page
    assert page.count("<svg") == 2 and "combined" in page  # combined, then per persona
    assert "The Truth Teller: " in page  # each bar carries its value as a tooltip


def test_an_evaluation_page_holds_each_method_with_its_interval_and_the_gold(fake, tmp_path, capsys):
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                "--task",
                "distributional-globalopinionqa",
                "--method",
                "vanilla,ethosagents",
                "--data",
                str(FIXTURES),
                "--model",
                fake().spec,
                "--n-personas",
                "2",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["view", str(out), "--out", str(tmp_path / "page.html")]) == 0
    page = (tmp_path / "page.html").read_text()
    assert offline(page) and "distributional-globalopinionqa" in page and "JS distance (lower is better)" in page
    assert ">vanilla<" in page and ">ethosagents<" in page and "gold" in page  # the gold beside each method
    assert "How important is it that everyone has access to affordable health care?" in page
    # each linked run is a page beside this one, linked relatively (the folder can be shared), and
    # every item's score of every row is in a CSV beside it
    links = re.findall(r'<a href="(page-runs/[0-9a-z-]+\.html)">', page)
    assert links and all((tmp_path / link).is_file() for link in links) and "file://" not in page
    rows = (tmp_path / "page-items.csv").read_text().splitlines()
    assert rows[0] == "task,item,row,metric,value" and len(rows) == 1 + 2 * len(
        json.loads((out / "vanilla" / "predictions.json").read_text())
    )
    assert "JS distance of this item: vanilla" in page
