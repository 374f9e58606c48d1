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

## A comparison on digits

The [experiment](experiment.html) trains one small convolutional network on scikit-learn's
$8 \times 8$ digits with each layer, under the same protocol (same seeds, data order, optimizer,
learning rate and 400 steps of 32 images), three seeds each:
`python -m labml_nn.normalization.experiment --norm all` (seeds 0, 1 and 2; 21 runs in 13.6
minutes on a 2-core CPU container shared with other jobs).
Accuracy is on the 270 test images, so one image is 0.37 points:

| normalization | test accuracy (mean) | min | max | final validation loss (mean) |
|---|---|---|---|---|
| none | 0.958 | 0.948 | 0.967 | 0.127 |
| batch | 0.991 | 0.989 | 0.996 | 0.028 |
| layer | 0.989 | 0.985 | 0.993 | 0.041 |
| instance | 0.984 | 0.981 | 0.989 | 0.483 |
| group | 0.985 | 0.981 | 0.989 | 0.076 |
| weight standardization + group | 0.989 | 0.985 | 0.993 | 0.038 |
| batch-channel (with weight standardization) | 0.984 | 0.981 | 0.985 | 0.038 |

Every normalization trains much faster than none, and with the same learning rate reaches a
higher accuracy in the budget.
Between the normalizations the accuracies differ by one to three test images, which is within the
spread over seeds: on a problem this small the comparison does not rank them.
The validation losses separate them more: batch normalization (with batches of 32, where its
statistics are good) ends lowest, weight standardization brings group normalization down to the
level of layer normalization, and instance normalization, which throws away each channel's
contrast, learns the slowest by far.

![Validation loss against steps, the mean over three seeds of each variant](comparison.png)
"""
