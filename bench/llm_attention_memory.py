"""Peak memory of attention written out (einsum) against the tiled FlashAttention algorithm.

    python bench/llm_attention_memory.py [--lengths 512 1024 2048 4096]

Memory is measured as the peak of live tensor bytes: a TorchDispatchMode records the storage of every
tensor an operation returns and a finalizer subtracts it when the storage is freed (like tracemalloc,
for tensors). The inputs are allocated before measuring and not counted. Batch 1, 4 heads, d_k 64,
causal, float32; forward only, then forward and backward.
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


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--lengths', type=int, nargs='+', default=[512, 1024, 2048, 4096])
    p.add_argument('--tile', type=int, default=128)
    args = p.parse_args()
    torch.set_num_threads(2)
    naive = lambda q, k, v: attention(q, k, v, is_causal=True)
    tiled = lambda q, k, v: flash_attention(q, k, v, is_causal=True, tile_q=args.tile, tile_k=args.tile)
    print(f"peak live tensor bytes (MiB), batch 1, 4 heads, d_k 64, causal, tile {args.tile}")
    print(f"{'seq':>6}{'naive fwd':>12}{'tiled fwd':>12}{'naive f+b':>12}{'tiled f+b':>12}")
    for n in args.lengths:
        row = [measure(f, n, b) / 2 ** 20 for b in (False, True) for f in (naive, tiled)]
        print(f"{n:6d}{row[0]:12.1f}{row[1]:12.1f}{row[2]:12.1f}{row[3]:12.1f}")


if __name__ == '__main__':
    main()
