"""Steerable ValueKaleidoscope: does a value, right or duty support, oppose or either support or
oppose a situation (A, B, C). Answers are generated and read by the reference parser (or the strict
one), and scored by accuracy, balanced accuracy and F1 as the reference does."""

from __future__ import annotations

from ethos.errors import EthosError
from ethos.evaluation.groups import vrd_type
from ethos.evaluation.metrics import UNPARSEABLE, VK_PARSERS, steerable_vk_scores
from ethos.evaluation.tasks.base import Task

LABELS = ("A", "B", "C")


class SteerableValueKaleidoscope(Task):
    name, stem, mode = "steerable-vk", "vital_steerable_valuekaleidoscope", "steerable"
    item_kind = "steerable_vk"

    def check_fields(self, item, where):
        if not isinstance(item.get("vrd"), str):
            raise EthosError(f"{where}: field 'vrd' must be a string")
        if item.get("label") not in LABELS:
            raise EthosError(f"{where}: field 'label' must be A, B or C")

    def groups(self, item):
        return item["vrd"], vrd_type(item["vrd"])  # the kind (right, duty, value), not each unique text

    def read_prediction(self, state):
        result = state["result"]
        if "distribution" not in result:  # generated (the reference protocol): the scorer parses it
            return self.prediction(state, output=result["answer"])
        # read from letter probabilities: a uniform fallback carries no answer, so it counts as unparseable, hence wrong
        return self.prediction(state, output=None if result["distribution"]["source"] == "uniform_fallback" else result["choice"])

    def score(self, items, *, nli_model, embedding, parser, protocol):
        answers = [VK_PARSERS[parser](i["output"]) for i in items]
        metrics = {
            "parser": parser,
            **steerable_vk_scores([i["label"] for i in items], answers),
            "unparseable_answers": answers.count(UNPARSEABLE),
        }
        # the mean of the per-item values equals scikit-learn's accuracy
        return {"accuracy": ([float(a == i["label"]) for a, i in zip(answers, items)], items)}, metrics

    def primary(self, metrics):
        return "accuracy", True

    def columns(self, rows):
        return [
            ("accuracy ↑", "accuracy"),
            ("balanced acc. ↑", "balanced_accuracy"),
            ("macro F1 ↑", "macro_f1"),
            ("micro F1 ↑", "micro_f1"),
            ("binary acc. ↑", "binary_accuracy"),
            ("binary macro F1 ↑", "binary_macro_f1"),
        ]

    def notes(self, rows, metric):
        parser = next((r["parser"] for r in rows if r.get("parser")), None)
        return [f"answers read with the {parser} parser"] if parser else []

    def item_score(self, item, state):
        try:
            output = self.read_prediction(state).output
        except (KeyError, TypeError):
            return None
        answer = VK_PARSERS["reference"](output) if output is not None else None
        return {"gold_label": item["label"], "answer": answer, "correct": float(answer == item["label"])}

    def item_view(self, item, predicted):
        return super().item_view(item, predicted) | {"gold": str(item["label"])}

    def describe_score(self, score, options):
        return [f"Gold label: {score['gold_label']}; answer read as {score['answer']}: {'correct' if score['correct'] else 'wrong'}"]
