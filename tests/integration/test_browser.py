"""What a browser shows of an `ethos view` page: headless Chromium from Debian, when installed
(`.ci/run` installs it)."""

import json
import shutil
import subprocess

import pytest

from ethos.cli import main

QUESTION = ["Should she be told?", "--mode", "distributional", "--option", "Yes", "--option", "No"]


def run_id(capsys, *argv) -> str:
    assert main(["run", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_a_browser_shows_the_page(fake, runs_dir, capsys, tmp_path):
    from PIL import Image

    rid = run_id(capsys, "--model", fake().spec, "--n-personas", "3", *QUESTION)
    assert main(["view", rid, "--out", str(tmp_path / "run.html")]) == 0
    capsys.readouterr()
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    url = f"file://{tmp_path / 'run.html'}"
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert "The Truth Teller" in dom and "<svg" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1000,2400", url], capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 2400)
    colours = image.getcolors(maxcolors=1_000_000)
    bars = sum(n for n, rgb in colours if rgb == (0x4C, 0x72, 0xB0))  # the first series' bars and the comment rules
    white = sum(n for n, rgb in colours if rgb == (255, 255, 255))
    assert bars > 2000 and white < 0.97 * 1000 * 2400  # drawn, and not a blank page


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_two_model_comparison_page_shows_each_row_in_a_colour_of_its_own(fake, tmp_path, capsys):
    """A screenshot of `ethos view` over two models' folders: each row's colour is drawn, no two
    rows share one, and the chart's labels are text a reader can see (wrapped, not cut)."""
    from PIL import Image
    from tests_paths import FIXTURES

    from ethos.evaluation.presentation import row_colours
    from ethos.evaluation.summary import find_metrics, task_summaries

    first, second = fake(), fake()
    data = ["--task", "distributional-moralchoice", "--data", str(FIXTURES), "--method", "vanilla,ethosagents", "--n-personas", "2"]
    for spec, name in ((first.spec, "a"), (second.spec, "b")):
        assert main(["eval", *data, "--model", spec, "--out", str(tmp_path / name), "--no-progress"]) == 0
    assert main(["view", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "page.html")]) == 0
    capsys.readouterr()
    (summary,) = task_summaries(find_metrics([tmp_path / "a", tmp_path / "b"]))
    colours = row_colours(summary.labels)
    assert len(set(colours)) == 4
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    url = f"file://{tmp_path / 'page.html'}"
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    for label in summary.labels:  # every label whole in the chart's text (wrapped onto lines, never cut)
        assert all(word in dom for word in label.split()), label
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1200,1600", url], capture_output=True, timeout=120)
    drawn = {rgb for _, rgb in Image.open(shot).convert("RGB").getcolors(maxcolors=1_000_000)}
    for colour in colours:  # every row's colour is on the screen
        assert tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)) in drawn, colour
