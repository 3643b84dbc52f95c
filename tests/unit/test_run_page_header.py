"""A run's page names what made it: its model and the settings a reader needs to place it."""

from ethos.cli import main


def test_a_run_page_names_its_model_and_settings(runs_dir, tmp_path, fake):
    backend = fake()
    assert main(["run", "--model", backend.spec, "--n-personas", "2", "--seed", "3", "Should she be told?", "-q"]) == 0
    assert main(["view", "last", "--out", str(tmp_path / "v.html")]) == 0
    page = (tmp_path / "v.html").read_text()
    assert f"model {backend.spec} · method ethosagents · protocol ethos · personas 2" in page and "seed 3" in page


def test_an_overton_run_page_charts_how_much_of_each_comment_the_response_carries():
    from ethos.cli.run_page import run_page

    record = {
        "run_id": "r1",
        "request": {"mode": "overton", "situation": "Should she be told?"},
        "comments": [
            {"index": 0, "persona": "The Truth Teller", "text": "Honesty matters: tell her the truth today."},
            {"index": 1, "persona": "The Guardian", "text": "Protect fragile patients from shock."},
        ],
        "result": {"mode": "overton", "response": "Honesty matters, so tell her the truth, gently."},
    }
    page = run_page(record)
    assert "How much of each comment the response carries" in page and ">words carried<" in page
    # the first comment's content words (honesty, matters, tell, truth, today): 4 of 5 in the response; the second's: 0 of 5
    assert "The Truth Teller" in page and ">0.80<" in page and ">0.00<" in page
