r"""
---
title: Training DDPM on 8x8 digits and 2-D toys
summary: >
  The DDPM experiment: a U-Net on scikit-learn's bundled 8x8 digits (optionally class-conditional,
  for classifier-free guidance) or an MLP on 2-D toy distributions, on the shared harness, with
  sample grids, DDIM samples and sampling trajectories.
---

# Training DDPM on 8x8 digits and 2-D toys

This trains [DDPM](index.html) on the shared [experiment harness](../../experiments/index.html):
flags, a run folder, checkpoints, `--resume`, progress.

* `--data digits` (the default) trains the [U-Net](../../unet/index.html) on the 1,257 training
  images of scikit-learn's bundled digits, scaled from $[0, 1]$ to $[-1, 1]$; it validates the
  loss on the 270 validation images (with fixed $t$ and $\epsilon$, so the numbers are comparable)
  and ends with `samples.png`: DDPM samples with all $T$ steps next to [DDIM](../ddim.html) samples
  with `--ddim-steps` steps from the same $x_T$.
* `--conditional` adds class labels, dropped with probability `--p-uncond`, and then draws each
  digit with [classifier-free guidance](../guidance.html) of weight `--guidance` (`guided.png`).
* `--data moons|swiss_roll|ring` trains the [MLP](mlp.html) on fresh points of a 2-D toy at every step;
  validation is the [energy distance](../energy_distance.html) of 2,000 samples to 2,000 data points
  (a Gaussian fitted to the data is the baseline), and `samples.png` shows the data, the samples and
  the trajectories of a few points from $x_T$ to $x_0$.

```sh
.venv/bin/python -m labml_nn.diffusion.ddpm.experiment                   # digits
.venv/bin/python -m labml_nn.diffusion.ddpm.experiment --conditional     # digits, guided
.venv/bin/python -m labml_nn.diffusion.ddpm.experiment --data ring
```

The pictures on this page were made by those commands (seed 0), on a 2-core CPU container shared
with other jobs:

![Digits](digits_samples.png)

![Guided digits](guided_digits.png)

![Ring](ring_samples.png)
"""

from dataclasses import dataclass

import torch

from labml_nn.diffusion.ddim import DDIMSampler
from labml_nn.diffusion.ddpm import DDPM
from labml_nn.diffusion.ddpm.mlp import MLPDenoiser
from labml_nn.diffusion.energy_distance import energy_distance
from labml_nn.diffusion.guidance import GuidedEps, drop_labels
from labml_nn.experiments.config import RunConfig, check_positive, check_range, flag
from labml_nn.experiments.data.digits import load_digits
from labml_nn.experiments.data.sampler import ShuffledBatches
from labml_nn.experiments.data.toy_2d import TOYS, sample_toy
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.unet import UNet

N_EVAL = 2000


@dataclass
class Config(RunConfig):
    steps: int = 2000
    log_every: int = 50
    eval_every: int = 500
    checkpoint_every: int = 500
    data: str = flag('digits', help='digits, or a 2-D toy', choices=['digits', *TOYS])
    n_steps: int = flag(0, help='diffusion steps T; 0: 200 for digits, 50 for the toys')
    batch_size: int = flag(0, help='samples per training step; 0: 64 for digits, 256 for the toys')
    lr: float = flag(0., help='Adam learning rate; 0: 1e-3 for digits, 3e-3 for the toys', on_resume='apply')
    n_channels: int = flag(16, help='U-Net width (digits); the MLP is four times as wide (toys)')
    conditional: bool = flag(False, help='class-conditional U-Net with label dropout (digits only)')
    p_uncond: float = flag(0.1, help='probability of dropping a label when --conditional')
    guidance: float = flag(2.0, help='classifier-free guidance weight w for the guided samples', on_resume='apply')
    ddim_steps: int = flag(20, help='steps of the DDIM sampler', on_resume='apply')
    n_samples: int = flag(64, help='images in the sample grids', on_resume='apply')

    def validate(self):
        super().validate()
        check_positive(self, 'n_channels', 'ddim_steps', 'n_samples')
        check_range(self, 'p_uncond', 0., 1.)
        if self.n_steps < 0 or self.batch_size < 0 or self.lr < 0:
            raise ExperimentError("--n-steps, --batch-size and --lr must be positive (or 0 for the default)")
        if self.ddim_steps > self.T:
            raise ExperimentError(f"--ddim-steps must be at most --n-steps ({self.T}), got {self.ddim_steps}")
        if self.conditional and self.data != 'digits':
            raise ExperimentError("--conditional needs --data digits (the toys have no labels)")
        if self.n_channels % 8:
            raise ExperimentError(f"--n-channels must be a multiple of 8, got {self.n_channels}")

    # The values in use: the toys train a small MLP, which wants more samples per step, a higher
    # learning rate and fewer diffusion steps than the U-Net on digits
    @property
    def T(self) -> int:
        return self.n_steps or (200 if self.data == 'digits' else 50)

    @property
    def batch(self) -> int:
        return self.batch_size or (64 if self.data == 'digits' else 256)

    @property
    def learning_rate(self) -> float:
        return self.lr or (1e-3 if self.data == 'digits' else 3e-3)


# ## Pictures (matplotlib is imported only here)

def image_grid(ax, images: torch.Tensor, nrow: int, title: str = ''):
    """Draw `[n, 1, 8, 8]` images with values in $[0, 1]$ as a grid of `nrow` columns"""
    n = images.shape[0]
    ncol = -(-n // nrow)
    grid = torch.full((ncol * 9 + 1, nrow * 9 + 1), 0.15)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[r * 9 + 1:r * 9 + 9, c * 9 + 1:c * 9 + 9] = images[i, 0].clamp(0, 1)
    ax.imshow(grid.numpy(), cmap='gray_r', vmin=0, vmax=1, interpolation='nearest')
    ax.set_title(title, fontsize=9)
    ax.axis('off')


def points(ax, x: torch.Tensor, title: str = '', color='C0'):
    """Scatter `[n, 2]` points"""
    ax.scatter(x[:, 0].numpy(), x[:, 1].numpy(), s=1, alpha=0.5, color=color)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-3.5, 3.5)
    ax.set_aspect('equal')
    ax.set_xticks([])
    ax.set_yticks([])


def figure(n_panels: int, size: float = 3.):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, n_panels, figsize=(size * n_panels, size))
    return fig, axes


def close(fig):
    import matplotlib.pyplot as plt
    plt.close(fig)


def gaussian_baseline(data: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """`n` samples of a Gaussian with the mean and covariance of `data`"""
    chol = torch.linalg.cholesky(torch.cov(data.T))
    return data.mean(0) + torch.randn(n, 2, generator=generator) @ chol.T


# ## Training

def make_model(cfg: Config) -> DDPM:
    if cfg.data == 'digits':
        eps_model = UNet(1, cfg.n_channels, (1, 2), (False, True), n_classes=10 if cfg.conditional else 0)
    else:
        eps_model = MLPDenoiser(2, 4 * cfg.n_channels, 3)
    return DDPM(eps_model, cfg.T)


def train(cfg: Config) -> dict:
    name = 'ddpm_' + cfg.data + ('_conditional' if cfg.conditional else '')
    with Run(cfg, name=name) as run:
        diffusion = make_model(cfg).to(run.device)
        optimizer = torch.optim.Adam(diffusion.parameters(), lr=cfg.learning_rate)
        tracked = dict(model=diffusion, optimizer=optimizer)
        if cfg.data == 'digits':
            # Images scaled to $[-1, 1]$: `[N, 1, 8, 8]`
            images, labels = load_digits('train', seed=0)
            images = images * 2 - 1
            valid, _ = load_digits('valid', seed=0)
            valid = (valid * 2 - 1).to(run.device)
            batches = ShuffledBatches(len(images), cfg.batch, seed=cfg.seed)
            tracked['data'] = batches
        else:
            eval_data = sample_toy(cfg.data, N_EVAL, torch.Generator().manual_seed(cfg.seed + 1000))
        run.track(**tracked)
        # The loss calls the noise predictor through `run.wrap` (DDP when there are several
        # processes), so that the gradients are averaged over the processes
        trainer = DDPM(run.wrap(diffusion.eps_model), cfg.T).to(run.device)

        for step in run.steps():
            for g in optimizer.param_groups:
                g['lr'] = cfg.learning_rate
            if cfg.data == 'digits':
                idx = batches.next()
                x0 = images[idx].to(run.device)
                cond = None
                if cfg.conditional:
                    cond = drop_labels(labels[idx], cfg.p_uncond, 10, run.generator).to(run.device)
            else:
                x0, cond = sample_toy(cfg.data, cfg.batch, run.generator).to(run.device), None
            loss = trainer.loss(x0, cond)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log(step, loss=loss, lr=cfg.learning_rate, samples=cfg.batch)

            if run.due(step, cfg.eval_every):
                diffusion.eval()
                with torch.no_grad():
                    if cfg.data == 'digits':
                        g = torch.Generator().manual_seed(0)
                        t = torch.randint(0, cfg.T, (len(valid),), generator=g).to(run.device)
                        eps = torch.randn(valid.shape, generator=g).to(run.device)
                        run.log_eval(step, valid_loss=diffusion.loss(valid, None, t, eps).item())
                    else:
                        x = diffusion.sample((N_EVAL, 2), generator=torch.Generator().manual_seed(0)).cpu()
                        run.log_eval(step, energy_distance=energy_distance(x, eval_data).item())
                diffusion.train()

        diffusion.eval()
        if run.is_main:
            if cfg.data == 'digits':
                write_digit_figures(run, cfg, diffusion)
            else:
                write_toy_figures(run, cfg, diffusion, eval_data)
        return run.summary()


def write_digit_figures(run: Run, cfg: Config, diffusion: DDPM):
    """DDPM and DDIM samples from the same $x_T$; guided samples of every class"""
    n = cfg.n_samples
    x_T = torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(cfg.seed))
    ddpm = diffusion.sample((n, 1, 8, 8), generator=torch.Generator().manual_seed(cfg.seed))
    ddim = DDIMSampler(diffusion, cfg.ddim_steps, eta=0.).sample(x_T.shape, x_T=x_T)
    fig, axes = figure(2)
    image_grid(axes[0], (ddpm.cpu() + 1) / 2, 8, f'DDPM, {cfg.T} steps')
    image_grid(axes[1], (ddim.cpu() + 1) / 2, 8, f'DDIM, {cfg.ddim_steps} steps, same $x_T$')
    fig.tight_layout()
    run.save_figure(fig, 'samples.png')
    close(fig)
    if cfg.conditional:
        # One row per class: unguided ($w = 0$) and guided
        cond = torch.arange(10).repeat_interleave(8).to(run.device)
        x_T = torch.randn(80, 1, 8, 8, generator=torch.Generator().manual_seed(cfg.seed))
        fig, axes = figure(2)
        for ax, w in zip(axes, (0., cfg.guidance)):
            guided = DDPM(GuidedEps(diffusion.eps_model, w, 10), cfg.T).to(run.device)
            x = DDIMSampler(guided, cfg.ddim_steps, eta=0.).sample(x_T.shape, cond=cond, x_T=x_T)
            image_grid(ax, (x.cpu() + 1) / 2, 8, f'guidance w = {w:g}, DDIM {cfg.ddim_steps} steps')
        fig.tight_layout()
        run.save_figure(fig, 'guided.png')
        close(fig)


def write_toy_figures(run: Run, cfg: Config, diffusion: DDPM, eval_data: torch.Tensor):
    """The data, the samples, and a few trajectories from $x_T$ to $x_0$; the final energy distances"""
    g = torch.Generator().manual_seed(0)
    x, xs = diffusion.sample((N_EVAL, 2), generator=g, trajectory=True)
    ddim = DDIMSampler(diffusion, cfg.ddim_steps, eta=0.).sample((N_EVAL, 2), generator=torch.Generator().manual_seed(0))
    baseline = gaussian_baseline(sample_toy(cfg.data, 4000, torch.Generator().manual_seed(cfg.seed + 2000)),
                                 N_EVAL, torch.Generator().manual_seed(1))
    scores = {'ddpm': energy_distance(x.cpu(), eval_data).item(),
              'ddim': energy_distance(ddim.cpu(), eval_data).item(),
              'gaussian_baseline': energy_distance(baseline, eval_data).item()}
    run.print('energy distance to the data: ' + ', '.join(f'{k} {v:.4f}' for k, v in scores.items()))
    run.path('energy_distance.txt').write_text(''.join(f'{k} {v:.6f}\n' for k, v in scores.items()))
    fig, axes = figure(3)
    points(axes[0], eval_data, 'data', 'C1')
    points(axes[1], x.cpu(), f'DDPM samples (energy distance {scores["ddpm"]:.3f})')
    # Twelve trajectories: $x_T$ (grey) to $x_0$ (blue)
    path = torch.stack([p.cpu() for p in xs])[:, :12]
    points(axes[2], eval_data, 'trajectories, $x_T$ to $x_0$', 'C1')
    for i in range(path.shape[1]):
        axes[2].plot(path[:, i, 0].numpy(), path[:, i, 1].numpy(), lw=0.8, alpha=0.8, color='C2')
    axes[2].scatter(path[0, :, 0].numpy(), path[0, :, 1].numpy(), s=12, color='grey', zorder=3)
    axes[2].scatter(path[-1, :, 0].numpy(), path[-1, :, 1].numpy(), s=12, color='C0', zorder=3)
    fig.tight_layout()
    run.save_figure(fig, 'samples.png')
    close(fig)


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
