"""
---
title: Normalization Layers
summary: >
  Layers that rescale the activations of a network so that deep stacks train
  stably.
---

# Normalization Layers

Normalization layers keep the scale of a network's activations under control,
so that deep stacks train with larger learning rates and fewer surprises.

* [RMSNorm](rms_norm.html): layer normalization without the mean, the normalization
  of most current language models
"""
