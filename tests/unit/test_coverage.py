import numpy as np
import pytest
import torch

from ethos.errors import EthosError
from ethos.evaluation.coverage import NLIScorer, split_sentences

WORDS = "the a patient doctor must should tell truth protect family health public vaccine risk care right duty".split()


def tiny_nli(path, labels=("contradiction", "neutral", "entailment")):
    """A randomly initialised NLI classifier with a word-level vocabulary, saved like a real one."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = path / "vocab.txt"
    path.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *WORDS]))
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    config = BertConfig(
        vocab_size=len(WORDS) + 6,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_split_sentences():
    # sentence-splitter (English), as the reference: "x" stays with its sentence, empty pieces go.
    assert split_sentences("One. Two!\nThree? x") == ["One.", "Two!", "Three? x"]
    assert split_sentences("Dr. Smith agrees. The patient does not.") == ["Dr. Smith agrees.", "The patient does not."]
    assert split_sentences("") == []
    # The reference scores every piece: a blank line between paragraphs leaves an empty one.
    assert split_sentences("One.\n\nTwo.") == ["One.", "Two."]
    assert split_sentences("One.\n\nTwo.", keep_empty=True) == ["One.", "", "Two."]
    assert split_sentences("  ", keep_empty=True) == [""] and split_sentences("", keep_empty=True) == []


def test_nli_coverage_is_the_mean_over_values_of_the_best_entailing_sentence(tmp_path):
    scorer = NLIScorer(tiny_nli(tmp_path / "nli"))
    explanations = ["the doctor must tell the truth.", "protect public health."]
    response = "the family should care. the patient has a right. vaccine risk is a duty."
    sentences = split_sentences(response)
    # The reference: premise = explanation, hypothesis = sentence, entailment probability.
    expected = []
    for e in explanations:
        batch = scorer.tokenizer([e] * len(sentences), sentences, return_tensors="pt", padding=True)
        with torch.no_grad():
            probs = scorer.model(**batch).logits.softmax(-1)[:, 2]
        expected.append(float(probs.max()))
    assert scorer.entail_index == 2
    assert scorer.coverage(explanations, response) == pytest.approx(np.mean(expected), abs=1e-6)
    assert scorer.coverage(explanations, "") == 0.0


def test_the_reference_scores_the_empty_piece_between_paragraphs(tmp_path):
    scorer = NLIScorer(tiny_nli(tmp_path / "nli"))
    explanations = ["the doctor must tell the truth.", "protect public health."]
    response = "the family should care.\n\nvaccine risk is a duty."
    kept = scorer.entailment(explanations, ["", ""])
    pieces = [scorer.entailment(explanations, [s] * 2) for s in ("the family should care.", "vaccine risk is a duty.")]
    expected = np.mean(np.max([*pieces, kept], axis=0))
    assert scorer.coverage(explanations, response, keep_empty=True) == pytest.approx(expected, abs=1e-6)
    assert scorer.coverage(explanations, response) == pytest.approx(np.mean(np.max(pieces, axis=0)), abs=1e-6)
    assert expected != pytest.approx(np.mean(np.max(pieces, axis=0)))  # this tiny model entails the empty piece most
    assert scorer.coverage(explanations, " ", empty=-1.0, keep_empty=True) == pytest.approx(float(np.mean(kept)))


def test_nli_model_without_an_entailment_label_is_refused(tmp_path):
    with pytest.raises(EthosError, match="no 'entailment' label"):
        NLIScorer(tiny_nli(tmp_path / "nli", labels=("yes", "no", "maybe")))
    with pytest.raises(EthosError, match="not a model directory"):
        NLIScorer(tmp_path / "nowhere")


def test_nli_runs_on_the_gpu_when_there_is_one(tmp_path, monkeypatch):
    from ethos.evaluation import coverage

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert coverage.best_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert coverage.best_device() in ("cpu", "mps")
    scorer = NLIScorer(tiny_nli(tmp_path / "nli"), device="cpu")  # on a machine with a GPU, "cuda" puts model and batches there
    assert next(scorer.model.parameters()).device.type == "cpu" and scorer.coverage(["a b."], "a b.") > 0
