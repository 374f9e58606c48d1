r"""
---
title: Activation Functions
summary: >
  Smooth activation functions (Swish/SiLU and GELU in its exact and tanh forms) and the fuzzy tiling
  activation, which gives sparse representations.
---

# Activation Functions

The non-linearity between two linear layers decides which functions a network can represent and
how gradients flow through it.
ReLU, $\max(0, x)$, is cheap and does not saturate for positive inputs, but its gradient is zero
for every negative input and jumps at zero.
The pages of this chapter replace it:

* [Swish and SiLU](swish.html) multiply the input by a sigmoid gate, $x \sigma(\beta x)$;
* [GELU](gelu.html) multiplies the input by the Gaussian distribution function, $x \Phi(x)$,
  the activation of BERT and GPT; with its tanh approximation;
* [Fuzzy tiling activation](fta.html) turns each value into a sparse vector of tiles, an idea
  from reinforcement learning where sparse features reduce interference between what is learned for
  different states.

Swish and GELU are smooth versions of ReLU that are tested against `torch.nn.functional.silu` and
`gelu`; the fuzzy tiling activation is tested against its definition.
"""
