"""Generation speed with and without the KV cache, and the cost of one new token against the prefix length.

    python bench/llm_generation.py [--threads 2] [--new-tokens 256] [--plot PATH.png]

An untrained GPT of the experiment's default shape (3 layers, d_model 128, 4 heads, 65 tokens) with
max_len 512; speed does not depend on the weights. Prints a table. Whole-generation timings are
medians of --repeats runs; the per-token costs are the minimum of 15 runs each, which is the
estimate least disturbed by other jobs on a shared machine. `--plot` also writes the per-token costs
as a PNG (the figure of the KV cache page is made this way).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labml_nn.sampling.generate import generate  # noqa: E402
from labml_nn.transformers.gpt import GPT  # noqa: E402
from labml_nn.transformers.kv_cache import KVCache  # noqa: E402


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--new-tokens', type=int, default=256)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--lengths', type=int, nargs='+', default=[16, 64, 128, 256, 384, 496],
                   help='prefix lengths at which to time one new token (at most 511)')
    p.add_argument('--plot', type=Path, default=None, help='also write the per-token costs as this PNG')
    args = p.parse_args(argv)
    if args.threads <= 0 or args.new_tokens <= 0 or args.repeats <= 0:
        p.error('--threads, --new-tokens and --repeats must be positive')
    if 16 + args.new_tokens > 512:
        p.error(f'--new-tokens={args.new_tokens}: prompt and new tokens must fit the model\'s 512 positions')
    if any(not 1 <= n <= 511 for n in args.lengths):
        p.error(f'--lengths must lie between 1 and 511, got {args.lengths}')
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = GPT(65, 128, 4, 3, 512).eval()
    prompt = torch.randint(0, 65, (1, 16))
    n = args.new_tokens
    print(f"torch {torch.__version__}, {args.threads} threads, GPT 3x128, prompt 16, {n} new tokens")

    no_cache = timed(lambda: generate(model, prompt, n), args.repeats)
    with_cache = timed(lambda: generate(model, prompt, n, cache=KVCache(3, 16 + n)), args.repeats)
    print(f"\n{'':22}{'seconds':>10}{'tokens/s':>10}")
    print(f"{'without cache':22}{no_cache:10.3f}{n / no_cache:10.0f}")
    print(f"{'with cache':22}{with_cache:10.3f}{n / with_cache:10.0f}")
    print(f"speed-up: {no_cache / with_cache:.1f}x")

    print(f"\ncost of one new token (ms) at prefix length L")
    print(f"{'L':>6}{'no cache':>12}{'cache':>12}")
    rows = []
    with torch.no_grad():
        for length in args.lengths:
            x = torch.randint(0, 65, (1, length + 1))
            full = min(timed(lambda: model(x), 1) for _ in range(15))

            def step():
                cache = KVCache(3, length + 1)
                model(x[:, :length], cache=cache)
                start = time.perf_counter()
                model(x[:, length:], cache=cache)
                return time.perf_counter() - start
            cached = min(step() for _ in range(15))
            print(f"{length:6d}{1000 * full:12.2f}{1000 * cached:12.2f}")
            rows.append((length, 1000 * full, 1000 * cached))
    if args.plot is not None:
        plot(args.plot, rows, args.threads)
        print(f"\nwrote {args.plot}")


def plot(path: Path, rows, threads: int):
    """Milliseconds for one new token against the prefix length, with and without the cache"""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    lengths, full, cached = zip(*rows)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(lengths, full, 'o-', label='without cache: the whole prefix again')
    ax.plot(lengths, cached, 's-', label='with KV cache: one position')
    ax.set_xlabel('prefix length L (tokens)')
    ax.set_ylabel('time for one new token (ms)')
    threads_text = f'{threads} CPU thread' + ('s' if threads > 1 else '')
    ax.set_title(f'GPT 3x128, torch {torch.__version__.split("+")[0]}, {threads_text}', fontsize=9)
    ax.set_xlim(0, None)
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == '__main__':
    main()
