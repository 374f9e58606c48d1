"""
---
title: Generative Adversarial Networks
summary: >
  GANs from scratch: the original minimax game and its non-saturating generator loss, the DCGAN
  convolutional architecture, and Wasserstein GANs with weight clipping and with a gradient penalty.
---

# Generative Adversarial Networks

A GAN learns to sample without ever writing down a density.
A *generator* $G$ maps noise $z$ to samples, and a second network, the *discriminator* (or
*critic*) $D$, is trained to tell those samples from real data; the generator is trained to fool it.
Each network's loss is the other's training signal, so the two are trained in turns, and the
difficulty of GANs is keeping that game balanced.

Read in this order:

* [The original GAN](original.html): the minimax game, what the best discriminator is, why the
  generator's loss is changed to the non-saturating one; small MLPs for 2-D toys;
* [DCGAN](dcgan.html): convolutional generator and discriminator, the architecture rules that made
  image GANs train, sized for 8x8 digits;
* [Wasserstein GAN](wasserstein.html): a critic that estimates the earth mover's distance, kept
  Lipschitz by clipping its weights (WGAN) or by a gradient penalty (WGAN-GP).

The [diffusion models](../diffusion/index.html) and the [VAE](../vae/index.html) learn the same
data sets; the experiment compares all three on the 2-D toys with the
[energy distance](../diffusion/energy_distance.html).
"""
