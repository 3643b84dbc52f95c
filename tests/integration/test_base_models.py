"""Base models (no chat template) get raw prompts on every local backend, and every prompt carries
one BOS token where the model has one: a GGUF made from the embedded model without its template,
and a tiny Llama-style transformers model whose tokenizer adds a BOS token."""

import subprocess
import sys
from pathlib import Path

import pytest

from ethos.agents.models import load_backend
from ethos.agents.models.embedded import embedded_gguf_path
from ethos.graph.builder import graph
from ethos.graph.context import Context

REQUESTS = {
    "overton": {"situation": "A patient declines a blood transfusion.", "mode": "overton"},
    "steerable": {"situation": "Should she be told?", "mode": "steerable", "target": "Right to know", "options": ["Yes", "No"]},
    "distributional": {"situation": "Should she be told?", "mode": "distributional", "options": ["Yes", "No"], "attribute": "Japan"},
}
SMALL = {"n_personas": 2, "persona_tokens": 120, "comment_tokens": 16, "moderator_tokens": 16, "persona_attempts": 1}


@pytest.fixture(scope="module")
def base_gguf(tmp_path_factory) -> Path:
    """The embedded model with its chat template removed: a base model as far as this project can tell."""
    out = tmp_path_factory.mktemp("base") / "base.gguf"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gguf.scripts.gguf_new_metadata",
            "--remove-metadata",
            "tokenizer.chat_template",
            "--force",
            str(embedded_gguf_path()),
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


def test_a_gguf_base_model_runs_every_mode_with_raw_prompts(base_gguf):
    spec = f"gguf:{base_gguf}"
    assert load_backend(spec).chat_template is False
    for protocol in ("ethos", "reference"):
        for mode, request in REQUESTS.items():
            ctx = Context(
                generator_model=spec, agent_model=spec, moderator_model=spec, protocol=protocol, conversation_in_state=True, **SMALL
            )
            state = graph.invoke(request, context=ctx)
            assert state["result"]["mode"] == mode and len(state["comments"]) == 2
            assert state["conversation"] and all(e["params"].get("raw") is True for e in state["conversation"])
            if mode == "distributional":
                assert sum(state["result"]["distribution"]) == pytest.approx(1)


def test_the_embedded_model_gets_the_reference_prompts_raw_and_its_chat_prompts_templated():
    backend = load_backend("embedded")
    raw = backend.chat._tokens([{"role": "user", "content": "Question: Is it fair?\nAnswer:"}], raw=True)
    templated = backend.chat._tokens([{"role": "user", "content": "Question: Is it fair?\nAnswer:"}])
    assert raw == backend.chat._llm.tokenize(b"Question: Is it fair?\nAnswer:", add_bos=True, special=False)
    assert len(templated) > len(raw) and backend.chat._llm.detokenize(templated[:3], special=True).startswith(b"<|im_start|>")


@pytest.fixture(scope="module")
def llama_style_dir(tmp_path_factory) -> Path:
    """A tiny random Llama whose tokenizer adds a BOS token, as Llama's does; `template` adds a chat
    template that writes the BOS token itself, as Llama 3's does."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<unk>", "<s>", "</s>", "user", "assistant", ":", "Question", "Is", "it", "fair", "?", "Answer", "A", "B", "yes", "no", "."]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    out = tmp_path_factory.mktemp("llama-style")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tokenizer.save_pretrained(out / "base")
    tokenizer.chat_template = "{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}assistant :"
    tokenizer.save_pretrained(out / "chat")
    config = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    model = LlamaForCausalLM(config)
    for name in ("base", "chat"):
        model.save_pretrained(out / name)
    return out


@pytest.mark.parametrize("kind", ["base", "chat"])
def test_one_bos_token_in_every_hf_prompt(llama_style_dir, kind):
    backend = load_backend(f"hf:{llama_style_dir / kind}")
    assert backend.chat_template is (kind == "chat")
    model = backend.chat._llm.pipeline.model
    seen = []
    generate = model.generate
    model.generate = lambda *args, **kwargs: seen.append(kwargs.get("input_ids", args[0] if args else None)) or generate(*args, **kwargs)
    forward = model.forward
    model.forward = lambda *args, **kwargs: seen.append(kwargs.get("input_ids")) or forward(*args, **kwargs)
    try:
        backend.complete("Question : Is it fair ?\nAnswer :", role="main_model", max_tokens=2, temperature=0.0)  # raw in auto
        backend.complete([("human", "Is it fair ?")], role="main_model", max_tokens=2, temperature=0.0)  # templated where there is one
        backend.option_distribution("Question : Is it fair ?\nAnswer :", ["A", "B"], role="main_model")
    finally:
        model.generate, model.forward = generate, forward
    prompts = [ids[0].tolist() for ids in seen if ids is not None and ids.shape[1] > 1]
    assert prompts and all(ids.count(1) == 1 and ids[0] == 1 for ids in prompts), prompts
