r"""
---
title: Sampling and Decoding
summary: >
  Turning a language model into a text generator: sampling rules, the generation
  loop with and without a KV cache, and speculative decoding.
---

# Sampling and Decoding

A trained language model gives a probability distribution over the next token.
This chapter is about what happens next: which token to take, how to run the
model again as cheaply as possible, and how to let a small model do most of the
work without changing what the large one would have written.

Read in this order:

* [Sampling rules](samplers.html): greedy, temperature, top-k, nucleus and min-p
* [The generation loop](generate.html): recomputing the prefix, or decoding
  incrementally with a [KV cache](../transformers/kv_cache.html)
* [Speculative decoding](speculative.html): a small draft model proposes, the
  large target model verifies, and a rejection rule keeps the target's
  distribution exactly

The models they run are in the [transformers chapter](../transformers/index.html):
the [GPT](../transformers/gpt/index.html) and the
[LLaMA-style model](../transformers/llama/index.html).
"""
