r"""
---
title: Data for the experiments
summary: >
  The data sets the experiments train on: a character corpus, small images
  that need no download, and 2-D toy distributions, with download-once loaders
  and resumable batches.
---

# Data for the experiments

Every experiment in this project runs without a network by default: its data
is either bundled with a library, generated, or a file already on disk.

* [A character corpus](char_corpus.html): Tiny Shakespeare, a character tokenizer
  and random windows for next-character prediction.
* [Small images](digits.html): scikit-learn's bundled $8 \times 8$ digits with a
  fixed, seeded split; MNIST and CIFAR-10 for those with a network.
* [Two-dimensional toy distributions](toy_2d.html): two moons, a Swiss roll and
  a ring of Gaussians, for generative models.
* [Shuffled batches that resume](sampler.html): epochs of random batches whose
  position is part of the checkpoint.
* [Download once, with a checksum](download.html): how the few downloads are
  made safe.
"""
