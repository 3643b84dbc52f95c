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
