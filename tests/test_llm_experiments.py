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


def test_lora_experiment_adapts_a_trained_gpt(tmp_path):
    from labml_nn.lora import experiment as lora_experiment
    data = corpus(tmp_path)
    base = tmp_path / 'base'
    gpt_experiment.train(gpt_experiment.Config(out=str(base), data=data, **TINY))
    second = tmp_path / 'second.txt'
    second.write_text('the sun is east and the moon is fair; arise and kill the moon.\n' * 30, encoding='utf-8')
    out = tmp_path / 'lora'
    summary = lora_experiment.train(lora_experiment.Config(
        out=str(out), base=str(base), text=str(second), steps=6, log_every=2, eval_every=3, checkpoint_every=3,
        batch_size=4, eval_windows=4, device='cpu', prompt='the '))
    assert summary['step'] == 6 and 'shakespeare_loss' in summary['final']
    assert (out / 'sample.txt').read_text(encoding='utf-8').startswith('the ')


def test_lora_experiment_without_base_says_what_to_do(tmp_path, capsys):
    from labml_nn.lora import experiment as lora_experiment
    assert lora_experiment.main(['--base', str(tmp_path / 'none'), '--out', str(tmp_path / 'o')]) == 2
    assert 'train the base model first' in capsys.readouterr().err
