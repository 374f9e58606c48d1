"""
Tests of the generative models chapter (`labml_nn.diffusion`, `labml_nn.unet`, `labml_nn.vae`,
`labml_nn.gan`): DDPM's closed forms against the forward chain and against Bayes' rule, DDIM against
DDPM, classifier-free guidance, the VAE's KL term against `torch.distributions`, and the GAN losses
against transcriptions of the papers' formulas; each with a mutation that must make it fail.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.diffusion.ddim import DDIMSampler, ddim_timesteps
from labml_nn.diffusion.ddpm import DDPM, linear_beta_schedule
from labml_nn.diffusion.ddpm.mlp import MLPDenoiser
from labml_nn.diffusion.energy_distance import energy_distance
from labml_nn.diffusion.guidance import GuidedEps, drop_labels
from labml_nn.gan import dcgan, original, wasserstein
from labml_nn.unet import AttentionBlock, UNet
from labml_nn.vae import VAE, gaussian_kl, reparameterize

T = 50


class ZeroEps(nn.Module):
    def forward(self, x, t, cond=None):
        return torch.zeros_like(x)


def run_chain(d: DDPM, x0: torch.Tensor, n: int, g: torch.Generator):
    """Run the forward chain $x_t = \\sqrt{1 - \\beta_t} x_{t-1} + \\sqrt{\\beta_t} \\epsilon$ from `x0`
    for every step, `n` samples; returns the list of `[n, *x0.shape]` samples after each step"""
    x = x0.expand(n, *x0.shape).double()
    out = []
    for beta in linear_beta_schedule(d.n_steps).tolist():
        x = math.sqrt(1 - beta) * x + math.sqrt(beta) * torch.randn(x.shape, generator=g, dtype=torch.float64)
        out.append(x)
    return out


def closed_form_matches_chain(d: DDPM) -> bool:
    g = torch.Generator().manual_seed(0)
    x0 = torch.tensor([-2., 0.5, 1., 3.], dtype=torch.float64)
    n = 20000
    chain = run_chain(d, x0, n, g)
    for t in (0, 5, 20, T - 1):
        mean, var = d.q_xt_x0(x0[None], torch.tensor([t]))
        emp_mean, emp_var = chain[t].mean(0), chain[t].var(0)
        # Sampling error: the standard error of the mean is $\sqrt{\text{var} / n}$, of the variance
        # about $\text{var} \sqrt{2 / n}$; allow five of them
        if not torch.all((emp_mean - mean[0]).abs() < 5 * (var[0] / n).sqrt()):
            return False
        if not torch.all((emp_var - var[0]).abs() < 5 * var[0] * math.sqrt(2 / n)):
            return False
    return True


def test_closed_form_forward_matches_the_chain():
    assert closed_form_matches_chain(DDPM(ZeroEps(), T))


def test_closed_form_with_a_wrong_alpha_bar_fails():
    d = DDPM(ZeroEps(), T)
    # Mutation: $\alpha_t$ in place of $\bar\alpha_t$
    d.alpha_bar = d.alpha.clone()
    assert not closed_form_matches_chain(d)


def bayes_posterior(d: DDPM, x0, xt, t: int):
    """$q(x_{t-1} | x_t, x_0)$ from Bayes' rule on the two Gaussians
    $x_{t-1} \\sim \\mathcal{N}(\\sqrt{\\bar\\alpha_{t-1}} x_0, 1 - \\bar\\alpha_{t-1})$ and
    $x_t | x_{t-1} \\sim \\mathcal{N}(\\sqrt{\\alpha_t} x_{t-1}, \\beta_t)$: precisions add"""
    betas = linear_beta_schedule(d.n_steps)
    alphas = 1 - betas
    ab_prev = torch.prod(alphas[:t])  # $\bar\alpha_{t-1}$ (index t is paper step t + 1)
    beta, alpha = betas[t], alphas[t]
    precision = 1 / (1 - ab_prev) + alpha / beta
    mean = (ab_prev.sqrt() * x0 / (1 - ab_prev) + alpha.sqrt() * xt / beta) / precision
    return mean, 1 / precision


def test_posterior_matches_bayes_rule():
    d = DDPM(ZeroEps(), T)
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(3, 5, generator=g, dtype=torch.float64)
    xt = torch.randn(3, 5, generator=g, dtype=torch.float64)
    for t in (1, 7, T - 1):
        mean, var = d.q_posterior(x0, xt, torch.full((3,), t))
        ref_mean, ref_var = bayes_posterior(d, x0, xt, t)
        torch.testing.assert_close(mean, ref_mean)
        torch.testing.assert_close(var.expand_as(mean), ref_var.expand_as(mean))
    # The first step back is to $x_0$ itself
    mean, var = d.q_posterior(x0, xt, torch.zeros(3, dtype=torch.long))
    torch.testing.assert_close(mean, x0)
    assert torch.all(var == 0)


def test_posterior_with_a_wrong_coefficient_fails():
    class Wrong(DDPM):
        def q_posterior(self, x0, xt, t):
            mean, var = super().q_posterior(x0, xt, t)
            # Mutation: drop $\sqrt{\alpha_t}$ from the coefficient of $x_t$
            alpha = self.alpha[t].view(-1, 1)
            ab_prev, ab = self.alpha_bar_prev[t].view(-1, 1), self.alpha_bar[t].view(-1, 1)
            return mean - (alpha.sqrt() - 1) * (1 - ab_prev) / (1 - ab) * xt, var
    d = Wrong(ZeroEps(), T)
    x0, xt = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
    mean, _ = d.q_posterior(x0, xt, torch.full((3,), 7))
    assert not torch.allclose(mean, bayes_posterior(d, x0, xt, 7)[0])


class OracleEps(nn.Module):
    """A model that knows $x_0$ and the schedule, and so returns the true noise
    $\\epsilon = (x_t - \\sqrt{\\bar\\alpha_t} x_0) / \\sqrt{1 - \\bar\\alpha_t}$"""

    def __init__(self, x0, n_steps):
        super().__init__()
        self.x0 = x0
        self.alpha_bar = torch.cumprod(1 - linear_beta_schedule(n_steps), 0)

    def forward(self, x, t, cond=None):
        ab = self.alpha_bar[t].view(-1, *([1] * (x.dim() - 1))).to(x.dtype)
        return (x - ab.sqrt() * self.x0) / (1 - ab).sqrt()


def test_loss_of_the_true_noise_is_zero():
    x0 = torch.randn(16, 1, 8, 8, dtype=torch.float64)
    d = DDPM(OracleEps(x0, T), T)
    assert d.loss(x0).item() < 1e-20
    # and of any other prediction, it is not
    assert DDPM(ZeroEps(), T).loss(x0).item() > 0.5


def test_loss_with_a_wrong_noising_is_not_zero():
    x0 = torch.randn(16, 2, dtype=torch.float64)

    class Wrong(DDPM):
        def q_sample(self, x0, t, eps=None):
            # Mutation: the variance $1 - \bar\alpha_t$ used as the standard deviation
            mean, var = self.q_xt_x0(x0, t)
            return mean + var * eps
    assert Wrong(OracleEps(x0, T), T).loss(x0).item() > 1e-4


def test_reverse_mean_with_the_true_noise_is_the_posterior_mean():
    g = torch.Generator().manual_seed(2)
    x0 = torch.randn(4, 2, generator=g, dtype=torch.float64)
    d = DDPM(OracleEps(x0, T), T)
    t = torch.tensor([1, 10, 30, T - 1])
    xt = d.q_sample(x0, t, torch.randn(4, 2, generator=g, dtype=torch.float64))
    torch.testing.assert_close(d.p_mean_var(xt, t)[0], d.q_posterior(x0, xt, t)[0])


def test_sampling_is_seeded_and_ends_without_noise():
    torch.manual_seed(0)
    d = DDPM(MLPDenoiser(d_hidden=16, n_layers=1), 10)
    a = d.sample((6, 2), generator=torch.Generator().manual_seed(3))
    b, xs = d.sample((6, 2), generator=torch.Generator().manual_seed(3), trajectory=True)
    torch.testing.assert_close(a, b)
    assert len(xs) == 11 and xs[-1] is b
    # The last step adds no noise: it is the mean of $p_\theta(x_0 | x_1)$
    mean, _ = d.p_mean_var(xs[-2], torch.zeros(6, dtype=torch.long))
    torch.testing.assert_close(b, mean)


def test_bad_hyper_parameters_are_refused():
    with pytest.raises(ValueError, match='n_steps'):
        DDPM(ZeroEps(), 0)
    with pytest.raises(ValueError, match='variance'):
        DDPM(ZeroEps(), 10, variance='learned')
    with pytest.raises(ValueError, match='n_sample_steps'):
        DDIMSampler(DDPM(ZeroEps(), 10), 11)
    with pytest.raises(ValueError, match='eta'):
        DDIMSampler(DDPM(ZeroEps(), 10), 5, eta=-1)


# ## DDIM

def small_unet_ddpm(variance='posterior', n_classes=0):
    torch.manual_seed(0)
    return DDPM(UNet(n_channels=8, ch_mults=(1, 2), attention=(False, True), n_classes=n_classes), 20,
                variance=variance).double()


def test_ddim_eta_one_all_steps_is_the_ddpm_step():
    d = small_unet_ddpm()
    ddim = DDIMSampler(d, 20, eta=1.)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64)
    z = torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64)
    for t in (19, 10, 1):
        torch.testing.assert_close(ddim.step(x, t, t - 1, z=z), d.p_sample(x, torch.full((3,), t), z=z))
    # The whole chain, with the same random numbers
    a = ddim.sample((3, 1, 8, 8), generator=torch.Generator().manual_seed(5))
    b = d.sample((3, 1, 8, 8), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a.double(), b.double())


def test_ddim_eta_one_is_not_ddpm_with_beta_variance():
    # The reduction is to the posterior variance $\tilde\beta_t$; with $\sigma_t^2 = \beta_t$ it must fail
    d = small_unet_ddpm('beta')
    ddim = DDIMSampler(d, 20, eta=1.)
    x, z = torch.randn(3, 1, 8, 8, dtype=torch.float64), torch.randn(3, 1, 8, 8, dtype=torch.float64)
    assert not torch.allclose(ddim.step(x, 10, 9, z=z), d.p_sample(x, torch.full((3,), 10), z=z))


def test_ddim_eta_zero_is_deterministic():
    d = small_unet_ddpm()
    ddim = DDIMSampler(d, 5, eta=0.)
    x_T = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    a = ddim.sample(x_T.shape, x_T=x_T, generator=torch.Generator().manual_seed(1))
    b = ddim.sample(x_T.shape, x_T=x_T, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # while with $\eta = 1$ the fresh noise changes the sample
    noisy = DDIMSampler(d, 5, eta=1.)
    c = noisy.sample(x_T.shape, x_T=x_T, generator=torch.Generator().manual_seed(1))
    e = noisy.sample(x_T.shape, x_T=x_T, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(c, e)


def test_ddim_timesteps():
    assert ddim_timesteps(1000, 50)[0] == 0 and ddim_timesteps(1000, 50)[-1] == 999
    assert ddim_timesteps(20, 20).tolist() == list(range(20))


# ## Classifier-free guidance

def test_guidance_formula():
    d = small_unet_ddpm(n_classes=10)
    model = d.eps_model
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    t = torch.tensor([1, 5, 19])
    c = torch.tensor([0, 4, 9])
    cond, uncond = model(x, t, c), model(x, t, torch.full_like(c, 10))
    torch.testing.assert_close(GuidedEps(model, 0., 10)(x, t, c), cond)
    torch.testing.assert_close(GuidedEps(model, 2., 10)(x, t, c), 3 * cond - 2 * uncond)
    assert not torch.allclose(cond, uncond)


def test_label_dropout_rate():
    labels = torch.randint(0, 10, (20000,), generator=torch.Generator().manual_seed(0))
    dropped = drop_labels(labels, 0.2, 10, torch.Generator().manual_seed(1))
    rate = (dropped == 10).float().mean().item()
    assert abs(rate - 0.2) < 0.015
    kept = dropped != 10
    assert torch.equal(dropped[kept], labels[kept])
    with pytest.raises(ValueError, match='p_uncond'):
        drop_labels(labels, 1.5, 10)


# ## U-Net

def test_unet_shapes_and_gradients():
    torch.manual_seed(0)
    model = UNet(n_channels=16, n_classes=10)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([0, 99])
    out = model(x, t, torch.tensor([3, 10]))
    assert out.shape == x.shape
    out.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    # The step changes the output
    assert not torch.allclose(model(x, torch.tensor([5, 5])), model(x, torch.tensor([50, 50])))
    with pytest.raises(ValueError, match='attention'):
        UNet(ch_mults=(1, 2), attention=(True,))


def test_attention_block_matches_sdpa():
    torch.manual_seed(0)
    block = AttentionBlock(16)
    x = torch.randn(2, 16, 4, 4)
    q, k, v = block.qkv(block.norm(x)).reshape(2, 3, 16, 16).transpose(2, 3).unbind(1)
    h = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 16, 4, 4)
    torch.testing.assert_close(block(x), x + block.out(h))


# ## VAE

def test_vae_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    q = torch.distributions.Independent(torch.distributions.Normal(mu, (0.5 * log_var).exp()), 1)
    p = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(5, 3), torch.ones(5, 3)), 1)
    torch.testing.assert_close(gaussian_kl(mu, log_var), torch.distributions.kl_divergence(q, p))
    # Mutation: the variance in place of the log-variance must not match
    wrong = 0.5 * (mu ** 2 + log_var - 1. - log_var.exp()).sum(-1)
    assert not torch.allclose(wrong, torch.distributions.kl_divergence(q, p))


def test_vae_reparameterisation():
    mu = torch.tensor([[1., -2.]], requires_grad=True)
    log_var = torch.tensor([[0., math.log(4.)]], requires_grad=True)
    eps = torch.randn(20000, 2, generator=torch.Generator().manual_seed(0))
    z = reparameterize(mu.expand(20000, 2), log_var.expand(20000, 2), eps)
    torch.testing.assert_close(z.mean(0), torch.tensor([1., -2.]), atol=0.05, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1., 2.]), atol=0.05, rtol=0)
    # Gradients reach $\mu$ and $\log \sigma^2$
    z.sum().backward()
    assert mu.grad is not None and log_var.grad.abs().sum() > 0


def test_vae_likelihoods_match_torch_distributions():
    torch.manual_seed(0)
    x, z = torch.rand(4, 64), torch.randn(4, 2)
    vae = VAE(64, 2, 32)
    p = torch.sigmoid(vae.decoder(z))
    ref = (x * p.log() + (1 - x) * (1 - p).log()).sum(-1)
    torch.testing.assert_close(vae.log_likelihood(x, z), ref, atol=1e-4, rtol=1e-5)
    vae = VAE(2, 2, 32, likelihood='gaussian')
    x = torch.randn(4, 2)
    mean, log_var = vae.decoder(z).chunk(2, -1)
    ref = torch.distributions.Normal(mean, (0.5 * log_var).exp()).log_prob(x).sum(-1)
    torch.testing.assert_close(vae.log_likelihood(x, z), ref)
    # The loss is minus the ELBO, which bounds nothing above zero for continuous data but
    # must be finite and differentiable
    loss = vae.loss(x)
    loss.backward()
    assert torch.isfinite(loss)


# ## GANs

def test_gan_losses_match_the_paper():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(8, generator=g), torch.randn(8, generator=g)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    torch.testing.assert_close(original.discriminator_loss(real, fake),
                               -(d_real.log().mean() + (1 - d_fake).log().mean()))
    torch.testing.assert_close(original.generator_loss(fake), -d_fake.log().mean())


def test_dcgan_shapes():
    torch.manual_seed(0)
    gen, disc = dcgan.Generator(16, 8), dcgan.Discriminator(8)
    images = gen(torch.randn(5, 16))
    assert images.shape == (5, 1, 8, 8) and images.abs().max() <= 1
    assert disc(images).shape == (5,)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in dcgan.Discriminator(8, batch_norm=False).modules())


def penalty_transcription(critic, real, fake, eps):
    """Gulrajani et al., Algorithm 1: for each $i$, $\\hat{x} = \\epsilon x + (1 - \\epsilon) \\tilde{x}$,
    $(\\lVert \\nabla_{\\hat{x}} D(\\hat{x}) \\rVert_2 - 1)^2$, averaged; one sample at a time"""
    total = 0.
    for i in range(real.shape[0]):
        x_hat = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).detach().requires_grad_(True)
        grad, = torch.autograd.grad(critic(x_hat[None]).sum(), x_hat)
        total = total + (grad.flatten().norm() - 1) ** 2
    return total / real.shape[0]


def test_gradient_penalty_matches_the_paper():
    torch.manual_seed(0)
    critic = dcgan.Discriminator(8, batch_norm=False).double()
    real, fake = torch.randn(6, 1, 8, 8).double(), torch.randn(6, 1, 8, 8).double()
    eps = torch.rand(6).double()
    gp = wasserstein.gradient_penalty(critic, real, fake, eps)
    torch.testing.assert_close(gp, penalty_transcription(critic, real, fake, eps))
    # It is differentiable with respect to the critic's weights (not the biases: they do not
    # change the gradient with respect to the input)
    gp.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for name, p in critic.named_parameters() if name.endswith('weight'))
    # A linear critic $f(x) = w \cdot x$ has gradient $w$ everywhere
    lin = nn.Linear(2, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3., 4.]]))
    gp = wasserstein.gradient_penalty(lin, torch.randn(4, 2).double(), torch.randn(4, 2).double())
    torch.testing.assert_close(gp, torch.tensor(16.).double())


def test_gradient_penalty_with_the_wrong_norm_fails():
    torch.manual_seed(0)
    critic = original.MLPDiscriminator(2, 16).double()
    real, fake, eps = torch.randn(6, 2).double(), torch.randn(6, 2).double(), torch.rand(6).double()

    # Mutation: the squared norm instead of the norm
    def wrong(critic, real, fake, eps):
        x_hat = (eps[:, None] * real + (1 - eps[:, None]) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat)
        return ((grad.square().sum(1) - 1) ** 2).mean()
    assert not torch.allclose(wrong(critic, real, fake, eps), penalty_transcription(critic, real, fake, eps))
    torch.testing.assert_close(wasserstein.gradient_penalty(critic, real, fake, eps),
                               penalty_transcription(critic, real, fake, eps))


def clipped_training(clip):
    """Critic steps with a large learning rate; the largest weight after each step"""
    torch.manual_seed(0)
    critic = original.MLPDiscriminator(2, 16)
    opt = torch.optim.RMSprop(critic.parameters(), lr=0.05)
    largest = []
    for _ in range(10):
        wasserstein.critic_step(critic, opt, torch.randn(32, 2) + 2, torch.randn(32, 2), clip=clip)
        largest.append(max(p.abs().max().item() for p in critic.parameters()))
    return largest


def test_weight_clipping_holds_after_every_step():
    assert all(w <= 0.01 for w in clipped_training(0.01))
    # Without it the weights leave the box
    assert max(clipped_training(None)) > 0.01
    with pytest.raises(ValueError, match='clip'):
        wasserstein.clip_weights(nn.Linear(1, 1), 0.)


def test_energy_distance():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    same, shifted = energy_distance(x, y).item(), energy_distance(x, y + 1).item()
    assert 0 <= same < 0.02 and shifted > 0.5
    with pytest.raises(ValueError, match='shapes'):
        energy_distance(x, y[:, :1])
