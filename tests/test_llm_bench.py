"""The LLM benchmarks run at toy sizes and write the figures the pages show."""

import importlib.util
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


def load_bench(name):
    """A script of `bench/` as a module, so that its `main(argv)` runs in this process"""
    spec = importlib.util.spec_from_file_location(f'bench_{name}', REPO / 'bench' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def keep_threads():
    """The scripts set torch's thread count; give the other tests theirs back"""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def table_rows(text, first_column):
    """The printed rows whose first column is one of `first_column`"""
    return {int(line.split()[0]): [float(v) for v in line.split()[1:]]
            for line in text.splitlines() if line.split()[:1] in [[str(c)] for c in first_column]}


def test_generation_bench_writes_its_plot(tmp_path, capsys, keep_threads):
    png = tmp_path / 'kv.png'
    load_bench('llm_generation').main(['--threads', '1', '--new-tokens', '4', '--repeats', '1',
                                       '--lengths', '8', '24', '--plot', str(png)])
    rows = table_rows(capsys.readouterr().out, [8, 24])
    # One row per prefix length: milliseconds without and with the cache
    assert sorted(rows) == [8, 24] and all(len(r) == 2 and min(r) > 0 for r in rows.values())
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert png.stat().st_size < 150_000


def test_generation_bench_rejects_lengths_beyond_the_model(capsys, keep_threads):
    with pytest.raises(SystemExit) as e:
        load_bench('llm_generation').main(['--lengths', '600'])
    assert e.value.code == 2
    assert '--lengths' in capsys.readouterr().err


def test_memory_bench_writes_its_plot(tmp_path, capsys, keep_threads):
    png = tmp_path / 'memory.png'
    load_bench('llm_attention_memory').main(['--lengths', '32', '128', '--tile', '32', '--plot', str(png)])
    rows = table_rows(capsys.readouterr().out, [32, 128])
    naive_fwd, tiled_fwd, naive_fb, tiled_fb = rows[128]
    # The tiled attention needs less memory, and its peak grows more slowly with the length
    assert tiled_fwd < naive_fwd and tiled_fb < naive_fb
    assert rows[128][0] / rows[32][0] > rows[128][1] / rows[32][1]
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert png.stat().st_size < 150_000


def test_page_figures_are_committed_small_and_themeable():
    """The figures the LLM pages include exist, are small, and the diagrams draw in currentColor"""
    figures = {
        'labml_nn/transformers/llama/llama_block.svg': 'labml_nn/transformers/llama/__init__.py',
        'labml_nn/transformers/gpt/gpt_block.svg': 'labml_nn/transformers/gpt/__init__.py',
        'labml_nn/transformers/kv_cache_generation.png': 'labml_nn/transformers/kv_cache.py',
        'labml_nn/transformers/flash/attention_memory.png': 'labml_nn/transformers/flash/__init__.py',
    }
    for figure, page in figures.items():
        path = REPO / figure
        assert path.is_file(), figure
        assert path.stat().st_size < 150_000, figure
        assert f']({path.name})' in (REPO / page).read_text(encoding='utf-8'), page
        if path.suffix == '.svg':
            svg = path.read_text(encoding='utf-8')
            assert 'currentColor' in svg and '#000' not in svg and 'black' not in svg, figure
