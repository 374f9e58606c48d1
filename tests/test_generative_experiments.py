"""
The generative experiments (DDPM, VAE, GANs) at tiny sizes on the shared harness: each writes its
run folder and pictures, a resumed run repeats the losses of an uninterrupted one, and bad flags
are refused with one line.
"""

import pytest
import torch

from labml_nn.diffusion.ddpm import experiment as ddpm_experiment
from labml_nn.gan import experiment as gan_experiment
from labml_nn.vae import experiment as vae_experiment

TINY = ['--device', 'cpu', '--steps', '4', '--log-every', '2', '--eval-every', '4', '--checkpoint-every', '2']


def run(module, tmp_path, *flags):
    out = tmp_path / 'run'
    cfg = module.Config
    from labml_nn.experiments.config import parse_config
    summary = module.train(parse_config(cfg, [*TINY, '--out', str(out), *flags]))
    return out, summary


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_ddpm_digits_conditional(tmp_path):
    out, summary = run(ddpm_experiment, tmp_path, '--conditional', '--n-steps', '6', '--ddim-steps', '3',
                       '--n-samples', '8', '--n-channels', '8', '--batch-size', '8')
    for name in ('samples.png', 'guided.png', 'metrics.csv', 'config.json', 'checkpoint.pt'):
        assert (out / name).exists(), name
    assert summary['step'] == 4 and 'valid_loss' in summary['final']


def test_ddpm_toy_and_resume(tmp_path):
    flags = ['--data', 'ring', '--n-steps', '6', '--ddim-steps', '3', '--n-channels', '8', '--batch-size', '16']
    out, full = run(ddpm_experiment, tmp_path, *flags)
    assert (out / 'samples.png').exists() and 'ddpm' in (out / 'energy_distance.txt').read_text()
    # Stop after two steps, then resume to four: the same losses
    from labml_nn.experiments.config import parse_config
    half = tmp_path / 'half'
    short = [f if f != '4' or TINY[i - 1] != '--steps' else '2' for i, f in enumerate(TINY)]
    ddpm_experiment.train(parse_config(ddpm_experiment.Config, [*short, '--out', str(half), *flags]))
    resumed = ddpm_experiment.train(parse_config(ddpm_experiment.Config,
                                                 [*TINY, '--out', str(half), *flags, '--resume']))
    assert [r['loss'] for r in resumed['rows']] == [r['loss'] for r in full['rows']]


def test_vae_digits_and_toy(tmp_path):
    out, summary = run(vae_experiment, tmp_path, '--d-hidden', '32', '--batch-size', '16')
    assert (out / 'latent.png').exists() and 'valid_loss' in summary['final']
    out, summary = run(vae_experiment, tmp_path / 'toy', '--data', 'moons', '--d-hidden', '32')
    assert (out / 'samples.png').exists() and 'energy_distance' in summary['final']


@pytest.mark.parametrize('loss', ['gan', 'wgan', 'wgan-gp'])
def test_gan_digits(tmp_path, loss):
    out, summary = run(gan_experiment, tmp_path, '--loss', loss, '--n-channels', '8', '--batch-size', '8',
                       '--n-critic', '2')
    assert (out / 'samples.png').exists() and summary['step'] == 4


def test_wgan_toy_keeps_the_clip(tmp_path):
    out, summary = run(gan_experiment, tmp_path, '--loss', 'wgan', '--data', 'swiss_roll', '--n-channels', '8')
    assert 'energy_distance' in summary['final']
    from labml_nn.experiments.checkpoint import load_checkpoint
    weights = load_checkpoint(out / 'checkpoint.pt')['objects']['discriminator']
    assert all(w.abs().max() <= 0.01 for w in weights.values())


def test_bad_flags_are_refused(capsys):
    assert ddpm_experiment.main(['--conditional', '--data', 'ring']) == 2
    assert '--conditional' in capsys.readouterr().err
    assert gan_experiment.main(['--loss', 'lsgan']) == 2
    assert vae_experiment.main(['--lr', '-1']) == 2
