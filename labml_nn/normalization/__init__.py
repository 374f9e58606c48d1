r"""
---
title: Normalization Layers
summary: >
  Batch, layer, instance and group normalization, weight standardization, batch-channel
  normalization and DeepNorm: what each one normalizes over, and how they compare on a small image classifier.
---

# Normalization Layers

A deep network trains faster and more reliably when the inputs of its layers have a steady scale.
Every page of this chapter fixes the mean and the variance of *something* and then lets the network
learn a scale and a shift of its own; they differ in what the statistics are taken over.
For images, a tensor `[batch, channels, height, width]`:

| layer | statistics over | depends on the batch |
|---|---|---|
| [Batch normalization](batch_norm.html) | batch and positions, per channel | yes (running averages at inference) |
| [Layer normalization](layer_norm.html) | all features of one example | no |
| [Instance normalization](instance_norm.html) | positions, per example and channel | no |
| [Group normalization](group_norm.html) | a group of channels and positions, per example | no |
| [Weight standardization](weight_standardization.html) | a convolution's weights, per output channel | no |
| [Batch-channel normalization](batch_channel_norm.html) | running batch statistics, then groups | through running averages |

Read batch normalization first: it introduces the running statistics and the difference between
training and evaluation mode.
Layer, instance and group normalization are the same computation over other dimensions, and need
no running statistics.
Weight standardization normalizes the weights instead of the activations and is meant to be paired
with group or batch-channel normalization for training with micro-batches.
For transformers, [RMSNorm](rms_norm.html) simplifies layer normalization, and
[DeepNorm](deep_norm.html) changes where it sits in the residual stream so that very deep models
train.

Each layer is tested against `torch.nn`'s module where one exists (values, gradients, and for batch
normalization the running statistics and evaluation mode).
"""
