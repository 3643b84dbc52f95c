"""The layering is kept true: personas <- agents <- graph <- evaluation <- cli, with the root modules
(errors, inputs, redaction, settings, plugins, versions) under all of them. A module never imports a
higher layer, at the top or inside a function."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"personas": 1, "agents": 2, "graph": 3, "evaluation": 4, "cli": 5}
BASE = {"errors", "inputs", "redaction", "settings", "plugins", "versions"}


def layer(module: str) -> int | None:
    """The layer of `ethos.X...` (0: a root module), None for the package itself."""
    parts = module.split(".")
    if parts[0] != "ethos" or len(parts) < 2:
        return None
    return 0 if parts[1] in BASE else LAYERS.get(parts[1])


def project_modules():
    for path in sorted(ROOT.glob("*.py")):
        if path.stem in BASE:
            yield path, 0
    for folder, rank in LAYERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, rank


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def test_no_module_imports_a_higher_layer():
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, rank in project_modules()
        for module, line in imports(path)
        if (layer(module) or 0) > rank
    ]
    assert not found, "\n".join(found)


def test_the_check_finds_an_import_of_a_higher_layer(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from ethos.cli import main\n")
    assert [(m, layer(m)) for m, _ in imports(planted)] == [("ethos.cli", 5)]
