"""The `hf` backend on a real transformers directory (the embedded model, converted at set-up)."""

import pytest
from budgets import SMALL

from ethos.agents.models import load_backend
from ethos.cli import main


def test_overton_run_batches_the_persona_comments(embedded_hf_dir, capsys):
    spec = f"hf:{embedded_hf_dir}"
    assert main(["run", "--json", "--model", spec, *SMALL, "A nurse is asked to hide a medication error."]) == 0
    assert capsys.readouterr().out.count('"response"') == 1
    batches = load_backend(spec).chat.batch_sizes
    assert 3 in batches  # the three persona agents' calls ran as one generate


def test_hf_and_embedded_agree_on_option_probabilities(embedded_hf_dir):
    prompt = [
        ("human", "Question: Should a doctor tell a patient the truth?\nOptions:\nA. Yes\nB. No\nAnswer with the letter only.\nAnswer:")
    ]
    hf = load_backend(f"hf:{embedded_hf_dir}").option_distribution(prompt, ["A", "B"], role="test")
    gguf = load_backend("embedded").option_distribution(prompt, ["A", "B"], role="test")
    assert hf.source == gguf.source == "logprobs"
    # The same weights (dequantised vs. llama.cpp's Q4_1 kernels): the probabilities agree closely.
    assert hf.probs == pytest.approx(gguf.probs, abs=0.1)


def test_hf_streams_a_reply_word_by_word(embedded_hf_dir):
    chat = load_backend(f"hf:{embedded_hf_dir}").chat
    messages = [("system", "You comment on health-care ethics."), ("user", "Should a nurse report a colleague's error?")]
    chunks = [c.content for c in chat.stream(messages, max_tokens=24, temperature=0.0)]
    assert len([c for c in chunks if c]) > 5
    assert "".join(chunks).strip() == chat.invoke(messages, max_tokens=24, temperature=0.0).content.strip()


def test_hf_keeps_the_end_token_as_the_reference_decodes_and_a_batch_adds_no_padding(embedded_hf_dir):
    from langchain_core.messages import HumanMessage

    backend = load_backend(f"hf:{embedded_hf_dir}")
    short = [("human", "Say hello in three words.")]
    settings = {"role": "test", "max_tokens": 40, "temperature": 0.0}
    plain = backend.complete(short, **settings)
    kept = backend.complete(short, **settings, sampler={"special_tokens": True})
    assert kept == plain + "<|im_end|>"
    # One generate over a short and a longer reply, as the micro-batcher runs calls that meet: the
    # shorter is padded after its end token, and the padding is not part of its reply.
    chat = backend.chat
    prompts = [chat._render([HumanMessage(text)]) for text in ("Say hello in three words.", "Describe a nurse's night shift in detail.")]
    batched = chat._generate_batch((40, 0.0, None, None, True), [(prompt, None) for prompt in prompts])
    assert batched[0] == kept and not batched[1].endswith("<|im_end|>")
