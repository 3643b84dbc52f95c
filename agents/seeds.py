"""Seeds of sampled calls and draws, derived from what identifies each one.

A run has one seed (`--seed`). Every sampled call or draw gets its own seed, hashed from the run's
seed and the call's identity: the request (the item), the role, the persona index, the attempt.
So the same command repeats exactly, while two items, two personas or two attempts never share a
random stream (`seed + index` gave slot i the same draw on every item).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

# llama.cpp reads the seed 0xFFFFFFFF as "pick a random seed", so derived seeds stay below it.
SEED_SPACE = 2**32 - 1


def derive_seed(seed: int, *parts) -> int:
    """A seed in [0, 2**32 - 2] for the call that `parts` identify, under the run's `seed`."""
    data = json.dumps([seed, *parts], default=str, ensure_ascii=False).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") % SEED_SPACE


def request_key(request: dict) -> str:
    """What identifies a request (an eval item, an `ethos run` question) for seeding its calls."""
    fields = {k: request.get(k) for k in ("situation", "options", "target", "attribute")}
    return hashlib.blake2b(json.dumps(fields, sort_keys=True, default=str).encode("utf-8"), digest_size=8).hexdigest()


def seeded_argmax(probs: Sequence[float], seed: int) -> int:
    """The index of the largest value; a tie is broken by a draw from `seed`, never by position."""
    values = np.asarray(probs, dtype=float)
    best = np.flatnonzero(values >= values.max() - 1e-12 * max(1.0, abs(values.max())))
    if len(best) == 1:
        return int(best[0])
    return int(best[np.random.default_rng(seed).integers(len(best))])
