"""A run's page names what made it: its model and the settings a reader needs to place it."""

from ethos.cli import main


def test_a_run_page_names_its_model_and_settings(runs_dir, tmp_path, fake):
    backend = fake()
    assert main(["run", "--model", backend.spec, "--n-personas", "2", "--seed", "3", "Should she be told?", "-q"]) == 0
    assert main(["view", "last", "--out", str(tmp_path / "v.html")]) == 0
    page = (tmp_path / "v.html").read_text()
    assert f"model {backend.spec} · method ethosagents · protocol ethos · personas 2" in page and "seed 3" in page
