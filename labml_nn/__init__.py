"""
---
title: Annotated deep learning paper implementations
summary: >
  Papers explained through their code: PyTorch implementations with side-by-side notes,
  typeset math and experiments you can run on a laptop.
---

# Annotated deep learning paper implementations

Each page here is one Python module. The notes on the left explain the paper in plain words and
equations; the code on the right is the implementation they describe, line by line. Every module
imports only PyTorch, so you can copy one into a notebook and run it.

## Optimizers

* [Optimizers](optimizers/index.html): how PyTorch optimizers work, and a small base class for
  adaptive optimizers
* [Adam](optimizers/adam.html) and AdamW, with bias correction explained
* [Sophia-G](optimizers/sophia.html), a light-weight second-order optimizer that clips a
  Hessian-pre-conditioned step

## Transformers

* [Transformers](transformers/index.html): multi-head attention, feed-forward layers and
  positional encodings
* [Training a small transformer with Sophia-G](transformers/basic/with_sophia.html) on Tiny
  Shakespeare, with a comparison against AdamW
"""
