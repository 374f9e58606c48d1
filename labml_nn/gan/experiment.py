r"""
---
title: Training GANs on 8x8 digits and 2-D toys
summary: >
  The GAN experiment on the shared harness: the original GAN, WGAN with weight clipping and WGAN-GP,
  with DCGAN networks on 8x8 digits or MLPs on 2-D toys, with sample grids and the critic's landscape.
---

# Training GANs on 8x8 digits and 2-D toys

This trains the GANs of this chapter on the shared [experiment harness](../experiments/index.html).

* `--loss gan`: the [original GAN](original.html) with the non-saturating generator loss, Adam
  ($2 \cdot 10^{-4}$, $\beta_1 = 0.5$), one discriminator step per generator step;
* `--loss wgan`: [WGAN](wasserstein.html) with weight clipping at `--clip`, RMSProp ($5 \cdot 10^{-5}$),
  `--n-critic` critic steps per generator step;
* `--loss wgan-gp`: [WGAN-GP](wasserstein.html), penalty weight `--gp-lambda`, Adam
  ($10^{-4}$, $\beta = (0.5, 0.9)$), `--n-critic` critic steps; the critic has no batch normalization.

`--lr 0` (the default) takes the learning rate above for the chosen loss.
`--gp-lambda 0` (the default) takes $\lambda = 10$ on digits, the paper's value for images, and
$\lambda = 0.1$ on the 2-D toys, the value of the official code's toy script.
With `--data digits` the networks are the [DCGAN](dcgan.html) generator and discriminator, on the
training digits scaled to $[-1, 1]$, and the run ends with `samples.png`.
With `--data moons|swiss_roll|ring` they are MLPs, validation is the
[energy distance](../diffusion/energy_distance.html) of 2,000 samples to the data, and `samples.png`
shows the samples over the discriminator's (or critic's) score.

```sh
.venv/bin/python -m labml_nn.gan.experiment                          # DCGAN on digits
.venv/bin/python -m labml_nn.gan.experiment --loss gan --data ring
```

The pictures were made by those commands (seed 0) on a 2-core CPU container shared with other
jobs.

![DCGAN digits](dcgan_digits.png)

![The original GAN on the ring](gan_ring.png)

## WGAN-GP on the ring: the penalty's weight

The penalty's weight is what decides whether WGAN-GP learns the ring.
With $\lambda = 10$ the critic's loss without the penalty was often positive, that is, the
generator's samples scored higher than the data: the critic lagged behind the generator, the
samples swung around the ring, and after 3,000 steps the energy distance was 0.34, worse than the
fitted Gaussian's 0.09.
With $\lambda = 0.1$ and nothing else changed the critic keeps up: the distance was 0.020 after
1,000 steps and 0.008 after 3,000 (seed 0 for both values of $\lambda$, on the same shared CPU).
Our reading: a large $\lambda$ makes the penalty dominate the critic's updates, so the critic moves
slowly towards the new best critic after every generator step; the official script says more critic
steps per generator step would also do, at a higher cost.

```sh
.venv/bin/python -m labml_nn.gan.experiment --loss wgan-gp --data ring                   # lambda = 0.1
.venv/bin/python -m labml_nn.gan.experiment --loss wgan-gp --data ring --gp-lambda 10
```

![WGAN-GP on the ring](wgan_gp_ring.png)
"""

from dataclasses import dataclass

import torch

from labml_nn.diffusion.ddpm.experiment import close, figure, gaussian_baseline, image_grid, points
from labml_nn.diffusion.energy_distance import energy_distance
from labml_nn.experiments.config import RunConfig, check_positive, flag
from labml_nn.experiments.data.digits import load_digits
from labml_nn.experiments.data.sampler import ShuffledBatches
from labml_nn.experiments.data.toy_2d import TOYS, sample_toy
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.gan import dcgan, original, wasserstein

N_EVAL = 2000
# The papers' learning rates
DEFAULT_LR = {'gan': 2e-4, 'wgan': 5e-5, 'wgan-gp': 1e-4}
# The gradient penalty's weight $\lambda$: the paper's 10 for images, the official toy code's 0.1 for 2-D points
DEFAULT_GP_LAMBDA = {'digits': 10., 'toy': 0.1}


@dataclass
class Config(RunConfig):
    steps: int = 3000
    log_every: int = 50
    eval_every: int = 500
    checkpoint_every: int = 500
    loss: str = flag('gan', help='gan, wgan (weight clipping) or wgan-gp (gradient penalty)',
                     choices=['gan', 'wgan', 'wgan-gp'])
    data: str = flag('digits', help='digits, or a 2-D toy', choices=['digits', *TOYS])
    batch_size: int = flag(64, help='samples per step')
    lr: float = flag(0., help='learning rate of both networks; 0: the default of --loss', on_resume='apply')
    n_critic: int = flag(0, help='critic steps per generator step; 0: 1 for gan, 5 for the WGANs')
    clip: float = flag(0.01, help='weight clipping bound c (wgan)')
    gp_lambda: float = flag(0., help='gradient penalty weight lambda (wgan-gp); 0: 10 for digits, 0.1 for the 2-D toys')
    d_z: int = flag(32, help='dimension of the noise z (digits; the toys use 2)')
    n_channels: int = flag(32, help='width of the DCGAN networks (digits); the MLPs are four times as wide')

    def validate(self):
        super().validate()
        check_positive(self, 'batch_size', 'clip', 'd_z', 'n_channels')
        if self.lr < 0 or self.n_critic < 0 or self.gp_lambda < 0:
            raise ExperimentError("--lr, --n-critic and --gp-lambda must be >= 0")


def make_networks(cfg: Config):
    if cfg.data == 'digits':
        return (dcgan.Generator(cfg.d_z, cfg.n_channels),
                dcgan.Discriminator(cfg.n_channels, batch_norm=cfg.loss != 'wgan-gp'), cfg.d_z)
    return original.MLPGenerator(2, 4 * cfg.n_channels), original.MLPDiscriminator(2, 4 * cfg.n_channels), 2


def make_optimizers(cfg: Config, gen, disc):
    lr = cfg.lr or DEFAULT_LR[cfg.loss]
    if cfg.loss == 'wgan':
        return torch.optim.RMSprop(gen.parameters(), lr), torch.optim.RMSprop(disc.parameters(), lr)
    betas = (0.5, 0.999) if cfg.loss == 'gan' else (0.5, 0.9)
    return torch.optim.Adam(gen.parameters(), lr, betas=betas), torch.optim.Adam(disc.parameters(), lr, betas=betas)


def train(cfg: Config) -> dict:
    with Run(cfg, name=f'{cfg.loss}_{cfg.data}') as run:
        gen, disc, d_z = make_networks(cfg)
        gen, disc = gen.to(run.device), disc.to(run.device)
        opt_g, opt_d = make_optimizers(cfg, gen, disc)
        n_critic = cfg.n_critic or (1 if cfg.loss == 'gan' else 5)
        gp_lambda = cfg.gp_lambda or DEFAULT_GP_LAMBDA['digits' if cfg.data == 'digits' else 'toy']
        tracked = dict(generator=gen, discriminator=disc, opt_g=opt_g, opt_d=opt_d)
        if cfg.data == 'digits':
            images = load_digits('train', seed=0)[0] * 2 - 1
            batches = ShuffledBatches(len(images), cfg.batch_size, seed=cfg.seed)
            tracked['data'] = batches
        else:
            eval_data = sample_toy(cfg.data, N_EVAL, torch.Generator().manual_seed(cfg.seed + 1000))
        run.track(**tracked)

        def real_batch():
            if cfg.data == 'digits':
                return images[batches.next()].to(run.device)
            return sample_toy(cfg.data, cfg.batch_size, run.generator).to(run.device)

        def noise():
            return torch.randn(cfg.batch_size, d_z, generator=run.generator).to(run.device)

        for step in run.steps():
            # The discriminator or critic: `n_critic` updates
            for _ in range(n_critic):
                real, fake = real_batch(), gen(noise()).detach()
                if cfg.loss == 'gan':
                    loss_d = original.discriminator_loss(disc(real), disc(fake))
                    opt_d.zero_grad()
                    loss_d.backward()
                    opt_d.step()
                else:
                    loss_d = wasserstein.critic_step(disc, opt_d, real, fake,
                                                     clip=cfg.clip if cfg.loss == 'wgan' else None,
                                                     gp_lambda=gp_lambda if cfg.loss == 'wgan-gp' else 0.)
            # The generator: one update
            scores = disc(gen(noise()))
            loss_g = original.generator_loss(scores) if cfg.loss == 'gan' else wasserstein.generator_loss(scores)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            run.log(step, loss_d=loss_d, loss_g=loss_g, samples=cfg.batch_size * (n_critic + 1))

            if cfg.data != 'digits' and run.due(step, cfg.eval_every):
                gen.eval()
                with torch.no_grad():
                    x = gen(torch.randn(N_EVAL, 2, generator=torch.Generator().manual_seed(0)).to(run.device))
                run.log_eval(step, energy_distance=energy_distance(x.cpu(), eval_data).item())
                gen.train()

        gen.eval()
        if run.is_main:
            with torch.no_grad():
                if cfg.data == 'digits':
                    x = gen(torch.randn(64, d_z, generator=torch.Generator().manual_seed(cfg.seed)).to(run.device))
                    fig, axes = figure(1, 4.)
                    image_grid(axes, (x.cpu() + 1) / 2, 8, f'{cfg.loss}, DCGAN, {cfg.steps} steps')
                else:
                    fig = write_toy_figure(run, cfg, gen, disc, eval_data)
            fig.tight_layout()
            run.save_figure(fig, 'samples.png')
            close(fig)
        return run.summary()


def write_toy_figure(run: Run, cfg: Config, gen, disc, eval_data: torch.Tensor):
    """Samples over the discriminator's score; the final energy distances"""
    x = gen(torch.randn(N_EVAL, 2, generator=torch.Generator().manual_seed(0)).to(run.device)).cpu()
    baseline = gaussian_baseline(sample_toy(cfg.data, 4000, torch.Generator().manual_seed(cfg.seed + 2000)),
                                 N_EVAL, torch.Generator().manual_seed(1))
    scores = {cfg.loss: energy_distance(x, eval_data).item(),
              'gaussian_baseline': energy_distance(baseline, eval_data).item()}
    run.print('energy distance to the data: ' + ', '.join(f'{k} {v:.4f}' for k, v in scores.items()))
    run.path('energy_distance.txt').write_text(''.join(f'{k} {v:.6f}\n' for k, v in scores.items()))
    fig, axes = figure(2)
    points(axes[0], eval_data, 'data', 'C1')
    # The score on a grid, `[100, 100]`
    side = torch.linspace(-3.5, 3.5, 100)
    grid = torch.stack(torch.meshgrid(side, side, indexing='xy'), -1).view(-1, 2).to(run.device)
    disc.eval()
    score = disc(grid).view(100, 100).cpu()
    disc.train()
    axes[1].contourf(side.numpy(), side.numpy(), score.numpy(), levels=20, cmap='coolwarm', alpha=0.6)
    points(axes[1], x, f'samples over the {"critic" if cfg.loss != "gan" else "discriminator"}\n'
                       f'(energy distance {scores[cfg.loss]:.3f})')
    return fig


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
