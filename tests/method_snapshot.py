"""Each method's predictions on the fake model, for every fixture task: the reference that
`tests/unit/test_methods_as_graph.py` compares against. Regenerated only when a method is meant to
change (last: the reference protocol's letter reading and community messages; its entries end in
"reference").

    cd tests && python method_snapshot.py > fixtures/method_predictions.json
"""

from __future__ import annotations

import json

from tests_paths import FIXTURES

from ethos.agents.models import register_backend
from ethos.agents.models.fake import fake_backend
from ethos.evaluation.predictions import predict
from ethos.evaluation.tasks import METHODS, TASKS, load_task, task_file
from ethos.graph.context import Context

SPECS = ("fake", "fake-nolp")  # with logprobs, and sampled (an endpoint that gives none)


def _rounded(value):
    return [round(v, 9) for v in value] if isinstance(value, list) else value


def snapshot() -> dict:
    register_backend("fake-nolp", fake_backend("fake-nolp", logprobs=False))
    out = {}
    for spec, protocol in ((spec, protocol) for protocol in ("ethos", "reference") for spec in SPECS):
        ctx = Context(generator_model=spec, agent_model=spec, moderator_model=spec, protocol=protocol, samples=4)
        for task in TASKS.values():
            for method in METHODS:
                for item, request in load_task(task, task_file(task, FIXTURES))[:3]:
                    p = predict(method, task, request, ctx)
                    key = f"{spec} {task.name} {method} {item['id']}" + (" reference" if protocol == "reference" else "")
                    out[key] = {
                        "output": p.output,
                        "distribution": _rounded(p.distribution),
                        "fallbacks": {k: v for k, v in sorted(p.fallbacks.items()) if v},
                    }
    return out


if __name__ == "__main__":
    print(json.dumps(snapshot(), indent=1, sort_keys=True))
