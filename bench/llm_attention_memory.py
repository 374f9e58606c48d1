"""Peak memory of attention written out (einsum) against the tiled FlashAttention algorithm.

    python bench/llm_attention_memory.py [--lengths 512 1024 2048 4096] [--plot PATH.png]

Memory is measured as the peak of live tensor bytes: a TorchDispatchMode records the storage of every
tensor an operation returns and a finalizer subtracts it when the storage is freed (like tracemalloc,
for tensors). The inputs are allocated before measuring and not counted. Batch 1, 4 heads, d_k 64,
causal, float32; forward only, then forward and backward. `--plot` also writes the table as a PNG
(the figure of the FlashAttention page is made this way).
"""

import argparse
import sys
import weakref
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labml_nn.transformers.flash import flash_attention  # noqa: E402
from labml_nn.transformers.mha import attention  # noqa: E402


class PeakTensorBytes(TorchDispatchMode):
    """Peak bytes of the tensor storages created inside the `with` block"""

    def __init__(self):
        super().__init__()
        self.live, self.current, self.peak = {}, 0, 0

    def _free(self, key):
        self.current -= self.live.pop(key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if storage.nbytes() and key not in self.live:
                    self.live[key] = storage.nbytes()
                    self.current += storage.nbytes()
                    self.peak = max(self.peak, self.current)
                    weakref.finalize(storage, self._free, key)
        return out


def measure(fn, n, backward):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 4, n, 64, generator=g, requires_grad=backward) for _ in range(3))
    with PeakTensorBytes() as m:
        o = fn(q, k, v)
        if backward:
            o.sum().backward()
        del o
    return m.peak


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--lengths', type=int, nargs='+', default=[512, 1024, 2048, 4096])
    p.add_argument('--tile', type=int, default=128)
    p.add_argument('--plot', type=Path, default=None, help='also write the peaks as this PNG')
    args = p.parse_args(argv)
    if args.tile <= 0 or any(n <= 0 for n in args.lengths):
        p.error('--tile and --lengths must be positive')
    torch.set_num_threads(2)
    naive = lambda q, k, v: attention(q, k, v, is_causal=True)
    tiled = lambda q, k, v: flash_attention(q, k, v, is_causal=True, tile_q=args.tile, tile_k=args.tile)
    print(f"peak live tensor bytes (MiB), batch 1, 4 heads, d_k 64, causal, tile {args.tile}")
    print(f"{'seq':>6}{'naive fwd':>12}{'tiled fwd':>12}{'naive f+b':>12}{'tiled f+b':>12}")
    rows = []
    for n in args.lengths:
        row = [measure(f, n, b) / 2 ** 20 for b in (False, True) for f in (naive, tiled)]
        print(f"{n:6d}{row[0]:12.1f}{row[1]:12.1f}{row[2]:12.1f}{row[3]:12.1f}")
        rows.append((n, *row))
    if args.plot is not None:
        plot(args.plot, rows, args.tile)
        print(f"\nwrote {args.plot}")


def plot(path: Path, rows, tile: int):
    """Peak MiB against the sequence length, both axes logarithmic"""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    lengths = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for i, (label, style) in enumerate([('written out, forward', 'o-'), ('tiled, forward', 's-'),
                                        ('written out, forward + backward', 'o--'),
                                        ('tiled, forward + backward', 's--')]):
        ax.plot(lengths, [r[1 + i] for r in rows], style, color=f'C{i % 2}', label=label)
    ax.set_xscale('log', base=2)
    ax.set_yscale('log', base=2)
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f'{v:g}'))
    ax.set_xlabel('sequence length')
    ax.set_ylabel('peak tensor memory (MiB)')
    ax.set_title(f'causal attention, batch 1, 4 heads, d_k 64, float32, tile {tile}', fontsize=9)
    ax.grid(alpha=0.3, which='both')
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == '__main__':
    main()
