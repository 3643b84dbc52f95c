"""EthosAgents: role-driven pluralistic alignment for health care.

The Python API (`cli/api.py`) takes the command line's options, with its defaults:
`ethos.evaluate(task, method, data=..., **options)`, `ethos.run(situation, **options)`,
`ethos.study(FILE, **overrides)` and `ethos.load(PATH)` (a pandas DataFrame, one row per item).
"""

__version__ = "0.1.0"
__all__ = ["evaluate", "load", "run", "study"]


def __getattr__(name: str):
    # Loaded on first use: `import ethos` stays light, and the API sits above every folder.
    if name in __all__:
        from ethos.cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'ethos' has no attribute {name!r}")
