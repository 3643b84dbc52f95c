"""`ethos --help` and `ethos personas list` start without LangChain, LangGraph or torch (speed lives in bench/)."""

import subprocess
import sys

HEAVY = ("langchain_core", "langgraph", "torch", "transformers", "llama_cpp")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_parser_and_the_persona_list_load_no_heavy_module():
    assert loaded_after("from ethos.cli import build_parser; build_parser()") == set()
    listing = (
        "import contextlib, io\nfrom ethos.cli import main\nwith contextlib.redirect_stdout(io.StringIO()): main(['personas', 'list'])"
    )
    assert loaded_after(listing) == set()


def test_the_probe_does_see_a_heavy_import():
    assert "langchain_core" in loaded_after("import ethos.agents.models.base")
