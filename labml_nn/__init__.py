"""
---
title: Annotated deep learning paper implementations
summary: >
  Papers explained through their code: PyTorch implementations with side-by-side notes,
  typeset math and experiments you can run on a laptop.
---

# Annotated deep learning paper implementations

Each page here is one Python module. The notes on the left explain the paper in plain words and
equations; the code on the right is the implementation they describe, line by line. Model and
optimizer modules import only PyTorch, so you can copy one into a notebook and run it.

A good place to start is the [Sophia-G optimizer](optimizers/sophia.html), a second-order method
that divides the momentum by an estimate of the diagonal Hessian, and then
[the experiment](transformers/basic/with_sophia.html) that trains a small transformer with it on
Tiny Shakespeare and compares it with AdamW. Every page of the site is listed below, with its summary.
"""
