"""
---
title: Diffusion models
summary: >
  Denoising diffusion models from scratch: DDPM's forward process, loss and sampler, DDIM's
  faster deterministic sampler, and classifier-free guidance, trained on 8x8 digits and 2-D toys.
---

# Diffusion models

A diffusion model generates data by removing noise.
Training is simple: take a data point, add a known amount of Gaussian noise, and teach a network to
predict that noise (a regression, no adversary, no bound to juggle).
Sampling starts from pure noise and applies the network many times, each time removing a little.

Read in this order:

* [DDPM](ddpm/index.html): the forward process in closed form, the posterior of one step, the
  simplified loss and the step-by-step sampler; the noise predictors are a
  [small U-Net](../unet/index.html) for images and an [MLP](ddpm/mlp.html) for 2-D points;
* [DDIM](ddim.html): the same trained model sampled in a few (possibly deterministic) steps,
  because the loss never fixed the individual steps of the forward chain;
* [Classifier-free guidance](guidance.html): one network trained with and without labels,
  combined at sampling time to make class-conditional samples more distinct.

The [VAE](../vae/index.html) and the [GANs](../gan/index.html) learn the same data sets in other
ways, and [the energy distance](energy_distance.html) compares the three on the 2-D toys.
"""
