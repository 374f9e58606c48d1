"""The GPT and LLaMA-style experiments run on the harness at toy sizes."""

import pytest

from labml_nn.transformers.gpt import experiment as gpt_experiment
from labml_nn.transformers.llama import experiment as llama_experiment

TINY = dict(steps=6, log_every=2, eval_every=3, checkpoint_every=3, d_model=16, n_heads=2,
            n_layers=1, seq_len=16, batch_size=4, eval_windows=4, device='cpu')


def corpus(tmp_path):
    """A small text the test writes itself"""
    path = tmp_path / 'text.txt'
    path.write_text('It is the east, and Juliet is the sun.\nArise, fair sun, and kill the envious moon.\n' * 40,
                    encoding='utf-8')
    return str(path)


@pytest.mark.parametrize('module', [gpt_experiment, llama_experiment], ids=['gpt', 'llama'])
def test_experiment_runs_and_writes_a_run_folder(module, tmp_path):
    out = tmp_path / 'run'
    summary = module.train(module.Config(out=str(out), data=corpus(tmp_path), **TINY))
    assert summary['step'] == 6
    assert summary['final']['valid_loss'] < 5
    for name in ('config.json', 'metrics.csv', 'checkpoint.pt', 'sample.txt'):
        assert (out / name).is_file(), name
    assert (out / 'sample.txt').read_text(encoding='utf-8').startswith('It is ')


def test_experiment_flags_are_checked(capsys, tmp_path):
    data = corpus(tmp_path)
    assert llama_experiment.main(['--n-heads', '4', '--n-kv-heads', '3', '--data', data]) == 2
    assert '--n-kv-heads=3' in capsys.readouterr().err
    assert gpt_experiment.main(['--d-model', '30', '--n-heads', '4', '--data', data]) == 2
