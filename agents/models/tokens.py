"""Token counts for OpenAI models with tiktoken, offline.

tiktoken downloads its BPE files on first use; the `bpe-openai` package ships the same files
(identical SHA-256), so they are placed in tiktoken's cache under its own file names.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
from functools import cache
from pathlib import Path

from ethos import settings
from ethos.inputs import write_file

_SOURCE = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


def _cache_dir() -> Path:
    base = settings.tiktoken_dir()
    os.environ["TIKTOKEN_CACHE_DIR"] = str(base)  # where tiktoken itself looks
    return base


def _install(name: str) -> None:
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        return
    packed = Path(list(spec.submodule_search_locations)[0]) / "data" / f"{name}.tiktoken.gz"
    target = _cache_dir() / hashlib.sha1(_SOURCE.format(name=name).encode()).hexdigest()
    if packed.is_file() and not target.is_file():
        write_file(target, gzip.decompress(packed.read_bytes()))  # bytes: the packaged tables, as they are


@cache
def encoding_for(model: str):
    import tiktoken

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        name = "o200k_base"  # current OpenAI models; a fair estimate for compatible servers
    if name not in ("o200k_base", "cl100k_base"):
        name = "cl100k_base"
    _install(name)
    return tiktoken.get_encoding(name)


def openai_token_counter(model: str):
    return lambda text: len(encoding_for(model).encode(text, disallowed_special=()))
