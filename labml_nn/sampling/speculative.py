r"""
---
title: Speculative Decoding
summary: >
  A small draft model proposes a few tokens, the large target model checks them
  all in one forward pass, and a rejection rule keeps exactly the target's
  distribution: the same text, fewer slow steps.
---

# Speculative Decoding

Decoding with a [KV cache](../transformers/kv_cache.html) runs the model once per
token, and for a large model each of those runs is slow mostly because every
weight has to be read from memory, however few positions it processes. Running
the model on $\gamma + 1$ positions costs about as much as on one.
[Fast Inference from Transformers via Speculative Decoding](https://arxiv.org/abs/2211.17192)
(Yaniv Leviathan, Matan Kalman and Yossi Matias, 2023) and
[Accelerating Large Language Model Decoding with Speculative Sampling](https://arxiv.org/abs/2302.01318)
(Charlie Chen et al., 2023) use that spare capacity:

* a small, fast **draft** model $q$ proposes $\gamma$ tokens
  $x_1, \dots, x_\gamma$ one by one, drawing $x_i \sim q_i = q(\cdot \mid \text{prefix}, x_{<i})$;
* the **target** model $p$ runs once on all of them and gives
  $p_1, \dots, p_{\gamma + 1}$, its distributions after each prefix;
* the drafted tokens are checked in order; the first rejected one is replaced,
  and everything after it is discarded.

### The rejection rule

Token $x_i$ is accepted with probability

\begin{align}
\min\Bigl(1, \frac{p_i(x_i)}{q_i(x_i)}\Bigr).
\end{align}

If it is rejected, we draw the replacement from the *residual* distribution

\begin{align}
r_i(x) &= \frac{\max\bigl(0, p_i(x) - q_i(x)\bigr)}{\sum_{x'} \max\bigl(0, p_i(x') - q_i(x')\bigr)}
\end{align}

and stop. If all $\gamma$ are accepted, we draw one more token from $p_{\gamma + 1}$
for free. Each round therefore emits between $1$ and $\gamma + 1$ tokens for one
run of the target.

Why the emitted token has exactly the target's distribution $p_i$: a token $x$ comes
out either by being drafted and accepted, with probability
$q_i(x) \min(1, p_i(x) / q_i(x)) = \min(q_i(x), p_i(x))$, or by a rejection followed
by drawing $x$ from $r_i$. The total rejection probability is
$\beta = 1 - \sum_x \min(q_i(x), p_i(x)) = \sum_x \max(0, p_i(x) - q_i(x))$, which is
the normaliser of $r_i$, so the second path gives $\max(0, p_i(x) - q_i(x))$, and
$\min(q, p) + \max(0, p - q) = p$. The draft only changes the speed, never the
text's distribution: a good draft is accepted often, a bad one rarely.

With greedy decoding the rule becomes: accept $x_i$ if it is the target's
$\arg\max$, otherwise emit the target's $\arg\max$ and stop, so the output is
exactly the target's greedy output. Our tests check this, and check with a
chi-square test that the first emitted token follows $p_1$.

### The caches

Both models keep a [KV cache](../transformers/kv_cache.html). After a round, the
entries of rejected tokens are dropped with `truncate`; the next round
starts by feeding the last emitted token, which neither model has seen yet.

### Code

Neither paper released code. The closest reference implementation is the
assisted generation of
[huggingface/transformers](https://github.com/huggingface/transformers), whose
`_speculative_sampling` (in `generation/utils.py`) applies the same rejection
rule.
"""

from typing import Callable, Optional

import torch
from torch import nn

from labml_nn.transformers.kv_cache import KVCache

# Turns logits `[..., n_vocab]` into the probabilities we sample from
ProbsFn = Callable[[torch.Tensor], torch.Tensor]


def verify(p: torch.Tensor, q: torch.Tensor, drafts: torch.Tensor,
           generator: Optional[torch.Generator] = None) -> torch.Tensor:
    r"""
    ## Check the drafted tokens

    * `p` holds the target's probabilities $p_1, \dots, p_{\gamma + 1}$, `[gamma + 1, n_vocab]`
    * `q` holds the draft's probabilities $q_1, \dots, q_\gamma$, `[gamma, n_vocab]`
    * `drafts` holds $x_1, \dots, x_\gamma$, `[gamma]`
    * `generator` is a `torch.Generator` for the random draws

    Returns the emitted tokens: the accepted drafts and one more, `[n_accepted + 1]`.
    """
    gamma = drafts.shape[0]
    for i in range(gamma):
        x = drafts[i]
        # Accept $x_i$ with probability $\min(1, p_i(x_i) / q_i(x_i))$
        u = torch.rand((), generator=generator, device=p.device)
        if u * q[i, x] <= p[i, x]:
            continue
        # Rejected: draw from the residual $\max(0, p_i - q_i)$, normalised
        residual = (p[i] - q[i]).clamp(min=0)
        y = torch.multinomial(residual / residual.sum(), 1, generator=generator)
        return torch.cat([drafts[:i], y])
    # All accepted: one more token from $p_{\gamma + 1}$
    y = torch.multinomial(p[gamma], 1, generator=generator)
    return torch.cat([drafts, y])


def verify_greedy(p_logits: torch.Tensor, drafts: torch.Tensor) -> torch.Tensor:
    r"""
    ## Greedy check

    Accept drafts while they equal the target's $\arg\max$; then emit the target's
    choice. `p_logits` is `[gamma + 1, n_vocab]`, `drafts` is `[gamma]`.
    """
    best = p_logits.argmax(dim=-1)
    # Number of leading drafts that match, $n$
    matches = (best[:-1] == drafts).long().cumprod(dim=0)
    n = int(matches.sum())
    # The matched drafts, then the target's own next token
    return torch.cat([drafts[:n], best[n:n + 1]])


@torch.no_grad()
def speculative_generate(target: nn.Module, draft: nn.Module, prompt: torch.Tensor, max_new_tokens: int, *,
                         target_cache: KVCache, draft_cache: KVCache, gamma: int = 4,
                         temperature: float = 1.0,
                         generator: Optional[torch.Generator] = None) -> torch.Tensor:
    r"""
    ## The decoding loop

    * `target` and `draft` map `[1, seq]` token ids to `[1, seq, n_vocab]` logits and accept `cache=`
    * `prompt` has shape `[1, seq_prompt]` (one sequence)
    * `max_new_tokens` is the number of tokens to add
    * `target_cache` and `draft_cache` are empty [KV caches](../transformers/kv_cache.html)
      for `seq_prompt + max_new_tokens + gamma` positions
    * `gamma` is the number of drafted tokens per round, $\gamma$
    * `temperature` divides the logits of both models; `0` means greedy
    * `generator` is a `torch.Generator` for the random draws

    Returns `[1, seq_prompt + max_new_tokens]`.
    """
    if prompt.shape[0] != 1:
        raise ValueError(f"speculative_generate decodes one sequence at a time, got a batch of {prompt.shape[0]}")
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    if target_cache.length != 0 or draft_cache.length != 0:
        raise ValueError("speculative_generate needs empty KV caches")
    greedy = temperature == 0
    probs: ProbsFn = lambda logits: (logits / temperature).softmax(dim=-1)
    tokens = prompt[0]
    # Both models read the prompt except its last token, which starts the first round
    if len(tokens) > 1:
        target(tokens[None, :-1], cache=target_cache)
        draft(tokens[None, :-1], cache=draft_cache)
    last = tokens[-1:]
    n_new = 0
    while n_new < max_new_tokens:
        start = target_cache.length
        # The draft proposes $\gamma$ tokens, one forward pass each
        drafts, q = [], []
        x = last
        for _ in range(gamma):
            logits = draft(x[None], cache=draft_cache)[0, -1]
            if greedy:
                x = logits.argmax(dim=-1, keepdim=True)
            else:
                q.append(probs(logits))
                x = torch.multinomial(q[-1], 1, generator=generator)
            drafts.append(x)
        drafts = torch.cat(drafts)
        # The target reads the last token and all drafts at once: $\gamma + 1$ distributions
        p_logits = target(torch.cat([last, drafts])[None], cache=target_cache)[0]
        if greedy:
            emitted = verify_greedy(p_logits, drafts)
        else:
            emitted = verify(probs(p_logits), torch.stack(q), drafts, generator)
        n_accepted = len(emitted) - 1
        # Keep the cache entries of `last` and the accepted drafts, drop the rest
        target_cache.truncate(start + 1 + n_accepted)
        draft_cache.truncate(min(draft_cache.length, start + 1 + n_accepted))
        # When all drafts were accepted the draft has not read the last one yet
        if draft_cache.length < start + 1 + n_accepted:
            draft(drafts[-1:][None], cache=draft_cache)
        tokens = torch.cat([tokens, emitted])
        n_new += len(emitted)
        last = emitted[-1:]
    # The last round may overshoot
    return tokens[:prompt.shape[1] + max_new_tokens][None]
