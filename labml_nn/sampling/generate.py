r"""
---
title: Generating Text, With and Without a KV Cache
summary: >
  The generation loop of a language model: recompute the whole prefix at every
  step, or prefill a KV cache once and feed one token per step. Both produce the
  same tokens; the cache makes each step's cost almost independent of the
  prefix length.
---

# Generating Text, With and Without a KV Cache

A language model here is any module called as `model(x, cache=None)` with token
ids `x` of shape `[batch, seq]` that returns logits `[batch, seq, n_vocab]`: the
[basic transformer](../transformers/basic/autoregressive_experiment.html), the
[GPT](../transformers/gpt/index.html) and the
[LLaMA-style model](../transformers/llama/index.html) all are.
Generation repeats: take the logits of the last position, pick a token with one
of the [sampling rules](samplers.html), append it.

Without a cache every step runs the model over the whole sequence so far.
With a [KV cache](../transformers/kv_cache.html), the first step (*prefill*) runs
the prompt and fills the cache; every later step (*decode*) runs only the newest
token. With the same random generator, both loops draw the same tokens; our
tests check this for greedy decoding and for sampling, token for token.
"""

from typing import Callable, Optional

import torch
from torch import nn

from labml_nn.transformers.kv_cache import KVCache
from labml_nn.sampling.samplers import sample

# A rule that maps the logits `[batch, n_vocab]` of the last position to tokens `[batch]`
Sampler = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def generate(model: nn.Module, prompt: torch.Tensor, max_new_tokens: int, *,
             sampler: Optional[Sampler] = None,
             cache: Optional[KVCache] = None) -> torch.Tensor:
    """
    ## The generation loop

    * `model` maps `[batch, seq]` token ids to `[batch, seq, n_vocab]` logits and
      accepts `cache=`
    * `prompt` has shape `[batch, seq_prompt]`
    * `max_new_tokens` is the number of tokens to add
    * `sampler` picks the next tokens from the last logits; `None` means greedy
    * `cache` is an empty [`KVCache`](../transformers/kv_cache.html) to decode
      incrementally, or `None` to recompute the prefix at every step

    Returns `[batch, seq_prompt + max_new_tokens]`: the prompt and the new tokens.
    """
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be non-negative, got {max_new_tokens}")
    if cache is not None and cache.length != 0:
        raise ValueError("generate needs an empty KV cache")
    if sampler is None:
        sampler = lambda logits: sample(logits, temperature=0)
    tokens = prompt
    # What the model reads at the first step: the whole prompt
    x = prompt
    for _ in range(max_new_tokens):
        if cache is None:
            # Without a cache: the whole sequence so far, `[batch, seq, n_vocab]`
            logits = model(tokens)
        else:
            # With a cache: only the tokens it has not seen yet (the prompt at
            # the first step, then one token)
            logits = model(x, cache=cache)
        # The next token from the logits of the last position, `[batch, 1]`
        nxt = sampler(logits[:, -1]).unsqueeze(-1)
        tokens = torch.cat([tokens, nxt], dim=-1)
        x = nxt
    return tokens
