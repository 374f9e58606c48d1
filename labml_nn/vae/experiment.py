r"""
---
title: Training a VAE on 8x8 digits and 2-D toys
summary: >
  The VAE experiment on the shared harness: a digits VAE with a 2-D latent space, plotted as the
  codes of the validation digits and as a grid of decoded codes, and a VAE on 2-D toy data.
---

# Training a VAE on 8x8 digits and 2-D toys

This trains the [VAE](index.html) on the shared [experiment harness](../experiments/index.html).

* `--data digits` (the default): the 64 pixels of each digit, in $[0, 1]$, with the Bernoulli decoder
  and a 2-D latent space. Validation is $-\mathcal{L}$ on the validation digits (one sample of $z$,
  seeded). `latent.png` shows where the encoder puts the validation digits ($\mu_\phi(x)$, one
  colour per class) and the decoder's images of a grid of codes over $[-2.5, 2.5]^2$.
* `--data moons|swiss_roll|ring`: a Gaussian decoder on fresh points at every step; validation is
  the [energy distance](../diffusion/energy_distance.html) of 2,000 samples of $p_\theta(x)$ to the data.

```sh
.venv/bin/python -m labml_nn.vae.experiment
.venv/bin/python -m labml_nn.vae.experiment --data ring
```

The pictures were made by those commands (seed 0) on a 2-core CPU container shared with other
jobs. On the ring the samples of $p_\theta(x)$ cover the circle but blur its eight modes, which the
[DDPM](../diffusion/ddpm/experiment.html) and the [GAN](../gan/experiment.html) separate.

![The latent space of the digits VAE](latent.png)

![The VAE on the ring](ring_samples.png)
"""

from dataclasses import dataclass

import torch

from labml_nn.diffusion.ddpm.experiment import close, figure, gaussian_baseline, image_grid, points
from labml_nn.diffusion.energy_distance import energy_distance
from labml_nn.experiments.config import RunConfig, check_positive, flag
from labml_nn.experiments.data.digits import load_digits
from labml_nn.experiments.data.sampler import ShuffledBatches
from labml_nn.experiments.data.toy_2d import TOYS, sample_toy
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.vae import VAE

N_EVAL = 2000


@dataclass
class Config(RunConfig):
    steps: int = 3000
    log_every: int = 50
    eval_every: int = 500
    checkpoint_every: int = 500
    data: str = flag('digits', help='digits, or a 2-D toy', choices=['digits', *TOYS])
    d_latent: int = flag(2, help='dimension of the latent space')
    d_hidden: int = flag(256, help='width of the encoder and decoder (toys: a quarter of it)')
    batch_size: int = flag(128, help='samples per training step')
    lr: float = flag(1e-3, help='Adam learning rate', on_resume='apply')

    def validate(self):
        super().validate()
        check_positive(self, 'd_latent', 'd_hidden', 'batch_size', 'lr')


def train(cfg: Config) -> dict:
    with Run(cfg, name='vae_' + cfg.data) as run:
        if cfg.data == 'digits':
            vae = VAE(64, cfg.d_latent, cfg.d_hidden, 2, 'bernoulli').to(run.device)
            # Flattened images `[N, 64]` in $[0, 1]$
            images = load_digits('train', seed=0)[0].flatten(1)
            valid, valid_labels = load_digits('valid', seed=0)
            valid = valid.flatten(1).to(run.device)
            batches = ShuffledBatches(len(images), cfg.batch_size, seed=cfg.seed)
        else:
            vae = VAE(2, cfg.d_latent, cfg.d_hidden // 4, 2, 'gaussian').to(run.device)
            eval_data = sample_toy(cfg.data, N_EVAL, torch.Generator().manual_seed(cfg.seed + 1000))
        optimizer = torch.optim.Adam(vae.parameters(), lr=cfg.lr)
        run.track(model=vae, optimizer=optimizer, **({'data': batches} if cfg.data == 'digits' else {}))

        for step in run.steps():
            for g in optimizer.param_groups:
                g['lr'] = cfg.lr
            if cfg.data == 'digits':
                x = images[batches.next()].to(run.device)
            else:
                x = sample_toy(cfg.data, cfg.batch_size, run.generator).to(run.device)
            # $-\mathcal{L}$
            loss = vae.loss(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log(step, loss=loss, lr=cfg.lr, samples=cfg.batch_size)

            if run.due(step, cfg.eval_every):
                with torch.no_grad():
                    if cfg.data == 'digits':
                        # One seeded sample of $z$ per digit, so the numbers are comparable
                        state = torch.get_rng_state()
                        torch.manual_seed(0)
                        run.log_eval(step, valid_loss=vae.loss(valid).item())
                        torch.set_rng_state(state)
                    else:
                        x = vae.sample(N_EVAL, torch.Generator().manual_seed(0), mean=False).cpu()
                        run.log_eval(step, energy_distance=energy_distance(x, eval_data).item())

        if run.is_main:
            if cfg.data == 'digits':
                write_latent_figure(run, vae, valid, valid_labels)
            else:
                write_toy_figure(run, cfg, vae, eval_data)
        return run.summary()


def write_latent_figure(run: Run, vae: VAE, valid: torch.Tensor, labels: torch.Tensor):
    """The codes of the validation digits, and the decoded grid of codes (2-D latent only)"""
    if vae.d_latent != 2:
        run.print('latent.png needs --d-latent 2; skipped')
        return
    with torch.no_grad():
        mu, _ = vae.encode(valid)
    fig, axes = figure(2, 4.)
    mu = mu.cpu()
    for c in range(10):
        sel = labels == c
        axes[0].scatter(mu[sel, 0].numpy(), mu[sel, 1].numpy(), s=6, color=f'C{c}', label=str(c))
        axes[0].annotate(str(c), mu[sel].mean(0).numpy(), fontsize=12, weight='bold')
    axes[0].set_title('codes of the validation digits', fontsize=9)
    axes[0].set_aspect('equal')
    # A 10 x 10 grid of codes; row 0 is at the top, so $z_2$ runs downwards from 2.5
    side = torch.linspace(-2.5, 2.5, 10)
    z = torch.stack([side.repeat(10), side.flip(0).repeat_interleave(10)], 1).to(valid.device)
    image_grid(axes[1], vae.decode_mean(z).cpu().view(100, 1, 8, 8), 10, 'decoded grid of codes')
    fig.tight_layout()
    run.save_figure(fig, 'latent.png')
    close(fig)


def write_toy_figure(run: Run, cfg: Config, vae: VAE, eval_data: torch.Tensor):
    x = vae.sample(N_EVAL, torch.Generator().manual_seed(0), mean=False).cpu()
    baseline = gaussian_baseline(sample_toy(cfg.data, 4000, torch.Generator().manual_seed(cfg.seed + 2000)),
                                 N_EVAL, torch.Generator().manual_seed(1))
    scores = {'vae': energy_distance(x, eval_data).item(),
              'gaussian_baseline': energy_distance(baseline, eval_data).item()}
    run.print('energy distance to the data: ' + ', '.join(f'{k} {v:.4f}' for k, v in scores.items()))
    run.path('energy_distance.txt').write_text(''.join(f'{k} {v:.6f}\n' for k, v in scores.items()))
    fig, axes = figure(3)
    points(axes[0], eval_data, 'data', 'C1')
    points(axes[1], x, f'VAE samples (energy distance {scores["vae"]:.3f})')
    points(axes[2], vae.sample(N_EVAL, torch.Generator().manual_seed(0)).cpu(), "decoder means")
    fig.tight_layout()
    run.save_figure(fig, 'samples.png')
    close(fig)


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
