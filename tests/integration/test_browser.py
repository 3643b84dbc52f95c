"""What a browser shows of an `ethos view` page: headless Chromium from Debian, when installed
(`.ci/run` installs it)."""

import colorsys
import html
import json
import re
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

    from ethos.evaluation.summary import find_metrics, task_summaries

    first, second = fake(), fake()
    data = ["--task", "distributional-moralchoice", "--data", str(FIXTURES), "--method", "vanilla,ethosagents", "--n-personas", "2"]
    for spec, name in ((first.spec, "a"), (second.spec, "b")):
        assert main(["eval", *data, "--model", spec, "--out", str(tmp_path / name), "--no-progress"]) == 0
    assert main(["view", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "page.html")]) == 0
    capsys.readouterr()
    (summary,) = task_summaries(find_metrics([tmp_path / "a", tmp_path / "b"]))
    colours = summary.colours
    assert len(set(colours)) == 4
    hues = {}  # one hue family per model, its rows told apart by shade
    for colour, row in zip(colours, summary.rows):
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        hues.setdefault(row["model"], set()).add(round(colorsys.rgb_to_hls(*rgb)[0], 2))
    assert all(len(h) == 1 for h in hues.values()) and len(set.union(*hues.values())) == 2
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


# Injected into a copy of a page (the pages themselves carry no script): every text's box against
# every whisker, and the axis titles, written into the DOM that --dump-dom prints.
GEOMETRY = """<script>
addEventListener("load", () => {
  const boxes = el => el.getBoundingClientRect();
  const whiskers = [...document.querySelectorAll("line.whisker")].map(boxes);
  const struck = [...document.querySelectorAll("svg text")].filter(t => whiskers.some(w => {
    const b = boxes(t);
    return w.left >= b.left && w.left <= b.right && w.bottom > b.top + 1 && w.top < b.bottom - 1;
  })).map(t => t.textContent);
  const titles = [...document.querySelectorAll("text.axis-title")].map(t => t.textContent);
  const out = document.createElement("pre");
  out.id = "geometry";
  out.textContent = JSON.stringify({struck, titles, whiskers: whiskers.length});
  document.body.appendChild(out);
});
</script>"""


def _geometry(page, tmp_path) -> dict:
    probe = page.with_name(page.stem + "-probe.html")
    probe.write_text(page.read_text().replace("</body>", GEOMETRY + "</body>"))
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*browser, "--window-size=1400,1400", "--virtual-time-budget=5000", "--dump-dom", f"file://{probe}"],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="geometry">(.*?)</pre>', dom, re.S)
    assert found, dom[-500:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_study_page_of_two_models_and_three_methods_has_axis_titles_no_struck_label_and_links_that_resolve(fake, tmp_path, capsys):
    from PIL import Image

    from ethos.evaluation.presentation import model_colour

    data = tmp_path / "data"
    data.mkdir()
    items = [
        {"id": i, "question": f"Scenario {i}: a nurse is asked to keep a secret from the doctor. Tell or keep it?",
         "options": ["Tell the doctor", "Keep it"], "attribute": ["low_ambiguity", "high_ambiguity"][i % 2],
         "gold_distribution": [0.1 + 0.1 * i, 0.9 - 0.1 * i]}
        for i in range(8)
    ]  # fmt: skip
    (data / "vital_distributional_moralchoice.json").write_text(json.dumps(items))
    study = tmp_path / "study.toml"
    study.write_text(
        f'models = ["{fake().spec}", "{fake().spec}"]\nmethods = ["vanilla", "modplural", "ethosagents"]\n'
        'tasks = ["distributional-moralchoice"]\nseeds = [0, 1]\nagainst = "vanilla"\ndata = "data"\nn_personas = 2\n'
    )
    assert main(["study", str(study), "--out", str(tmp_path / "st"), "--runs-dir", str(tmp_path / "runs")]) == 0
    assert main(["view", str(tmp_path / "st"), "--runs-dir", str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    page = tmp_path / "st" / "view.html"
    found = _geometry(page, tmp_path)
    assert found["titles"] == ["JS distance ↓", "Δ JS distance vs vanilla"]  # the means and the paired differences
    assert found["whiskers"] >= 2 * 3 + 2 * 2 and found["struck"] == []
    links = re.findall(r'href="([^"]+)"', page.read_text())
    assert len(links) == 2 * 3 * 2  # each model's cell of each method: a link per seed
    assert all((page.parent / link).is_file() for link in links)
    cell = page.parent / links[0]
    linked = _geometry(cell, tmp_path)  # the cell's own page: a value on each bar, none struck through
    assert "JS distance ↓" in linked["titles"] and linked["struck"] == []
    shot = tmp_path / "shot.png"
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1400,1400", f"file://{page}"], capture_output=True, timeout=120)
    drawn = {rgb for _, rgb in Image.open(shot).convert("RGB").getcolors(maxcolors=1_000_000)}
    for index in (0, 1):  # each model's colour is on the screen
        colour = model_colour(index)
        assert tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)) in drawn, colour
