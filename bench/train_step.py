"""Speed of the transformer experiment's training step: AdamW against Sophia-G.

Measures, for the default model of `labml_nn.transformers.basic.autoregressive_experiment`:

* tokens/s of the training step (batch, forward, backward, clipping, optimizer step) with AdamW;
* the cost of one Gauss-Newton-Bartlett Hessian estimate relative to a normal step;
* Sophia-G's wall-clock overhead per step over AdamW, averaged over `hess_interval` steps
  (one of which also runs the estimate), measured directly on alternating blocks of steps.

    python bench/train_step.py                 # CPU
    python bench/train_step.py --device cuda   # GPU

Timings are medians over repeated blocks; AdamW and Sophia-G blocks alternate so that a change of
load on a shared machine hits both alike. The load average is printed before and after.
"""

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labml_nn.experiments.data.char_corpus import TextDataset  # noqa: E402
from labml_nn.transformers.basic.autoregressive_experiment import (  # noqa: E402
    AutoregressiveTransformer, Config, make_adamw)
from labml_nn.transformers.basic.with_sophia import SophiaConfig, estimate_hessian, make_sophia  # noqa: E402


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def train_step(model, optimizer, dataset, cfg, generator, device):
    x, y = dataset.train_batch(cfg.batch_size, generator)
    x, y = x.to(device), y.to(device)
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    return x


def block(model, optimizer, dataset, cfg, generator, device, steps, hess_interval=None):
    """Seconds for `steps` training steps; with `hess_interval`, a Hessian estimate every that many steps"""
    sync(device)
    start = time.perf_counter()
    x = None
    for i in range(steps):
        if hess_interval and i % hess_interval == 0:
            if x is None:
                x = dataset.train_batch(cfg.batch_size, generator)[0].to(device)
            estimate_hessian(model, optimizer, x, x.numel())
        x = train_step(model, optimizer, dataset, cfg, generator, device)
    sync(device)
    return time.perf_counter() - start


def gnb_only(model, optimizer, dataset, cfg, generator, device, repeats):
    x = dataset.train_batch(cfg.batch_size, generator)[0].to(device)
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        estimate_hessian(model, optimizer, x, x.numel())
    sync(device)
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--rounds', type=int, default=6, help='alternating blocks per optimizer')
    parser.add_argument('--hess-interval', type=int, default=10, help='k: steps per Hessian estimate')
    parser.add_argument('--blocks-of', type=int, default=1, help='a block is this many times k steps')
    parser.add_argument('--warmup', type=int, default=5, help='untimed steps per optimizer first')
    parser.add_argument('--json', default='', help='also write the results to this JSON file')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.exit(1, 'train_step.py: error: --device cuda but PyTorch sees no CUDA GPU; use --device cpu\n')
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True

    cfg = Config()
    scfg = replace(SophiaConfig(), **{k: getattr(cfg, k) for k in ('d_model', 'heads', 'd_ff', 'n_layers',
                                                                   'seq_len', 'batch_size')})
    # Random characters: the speed does not depend on the text
    rng = torch.Generator().manual_seed(0)
    alphabet = ''.join(chr(c) for c in range(32, 97))
    text = ''.join(alphabet[i] for i in torch.randint(0, len(alphabet), (200_000,), generator=rng).tolist())
    dataset = TextDataset(text, cfg.seq_len, 0.1)
    n_vocab = dataset.tokenizer.n_vocab

    torch.manual_seed(0)
    adamw_model = AutoregressiveTransformer(n_vocab, cfg).to(device)
    sophia_model = AutoregressiveTransformer(n_vocab, cfg).to(device)
    sophia_model.load_state_dict(adamw_model.state_dict())
    adamw = make_adamw(cfg, adamw_model)
    sophia = make_sophia(scfg, sophia_model)
    k = args.hess_interval
    steps = k * args.blocks_of
    tokens = cfg.batch_size * cfg.seq_len

    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{os.getloadavg()[0]:.2f}; model d_model={cfg.d_model} n_layers={cfg.n_layers} seq_len={cfg.seq_len} "
          f"batch={cfg.batch_size} ({tokens} tokens/step), {sum(p.numel() for p in adamw_model.parameters()):,} "
          f"parameters; k={k}, {args.rounds} rounds of {steps} steps")

    g = torch.Generator().manual_seed(1)
    block(adamw_model, adamw, dataset, cfg, g, device, args.warmup)
    block(sophia_model, sophia, dataset, cfg, g, device, args.warmup, hess_interval=k)

    adamw_times, sophia_times, sophia_plain_times, gnb_times = [], [], [], []
    for _ in range(args.rounds):
        adamw_times.append(block(adamw_model, adamw, dataset, cfg, g, device, steps) / steps)
        sophia_times.append(block(sophia_model, sophia, dataset, cfg, g, device, steps, hess_interval=k) / steps)
        sophia_plain_times.append(block(sophia_model, sophia, dataset, cfg, g, device, steps) / steps)
        gnb_times.append(gnb_only(sophia_model, sophia, dataset, cfg, g, device, 2))

    adamw_step = statistics.median(adamw_times)
    sophia_step = statistics.median(sophia_times)
    sophia_plain = statistics.median(sophia_plain_times)
    gnb = statistics.median(gnb_times)
    results = {
        'device': str(device), 'threads': torch.get_num_threads(), 'tokens_per_step': tokens,
        'adamw_step_ms': adamw_step * 1e3, 'adamw_tokens_per_s': tokens / adamw_step,
        'sophia_step_without_gnb_ms': sophia_plain * 1e3,
        'sophia_step_with_gnb_every_k_ms': sophia_step * 1e3, 'sophia_tokens_per_s': tokens / sophia_step,
        'gnb_ms': gnb * 1e3, 'gnb_relative_to_adamw_step': gnb / adamw_step,
        'sophia_overhead': sophia_step / adamw_step - 1,
        'sophia_overhead_from_parts': (sophia_plain + gnb / k) / adamw_step - 1,
        'spread_adamw_ms': [min(adamw_times) * 1e3, max(adamw_times) * 1e3],
        'spread_sophia_ms': [min(sophia_times) * 1e3, max(sophia_times) * 1e3],
        'load_average_end': os.getloadavg()[0],
    }
    print(f"AdamW step:                        {results['adamw_step_ms']:8.1f} ms   "
          f"{results['adamw_tokens_per_s']:10,.0f} tokens/s   (blocks {results['spread_adamw_ms'][0]:.1f} to "
          f"{results['spread_adamw_ms'][1]:.1f} ms)")
    print(f"Sophia-G step, no estimate:        {results['sophia_step_without_gnb_ms']:8.1f} ms")
    print(f"One GNB estimate:                  {results['gnb_ms']:8.1f} ms   "
          f"= {results['gnb_relative_to_adamw_step']:.2f} x an AdamW step")
    print(f"Sophia-G step, estimate every {k:<3d}: {results['sophia_step_with_gnb_every_k_ms']:8.1f} ms   "
          f"{results['sophia_tokens_per_s']:10,.0f} tokens/s   (blocks {results['spread_sophia_ms'][0]:.1f} to "
          f"{results['spread_sophia_ms'][1]:.1f} ms)")
    print(f"Sophia-G overhead over AdamW per step: {results['sophia_overhead'] * 100:+.1f}% measured, "
          f"{results['sophia_overhead_from_parts'] * 100:+.1f}% from the parts (target <= +15%)")
    print(f"load average at the end {results['load_average_end']:.2f}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
        tmp.write_text(json.dumps(results, indent=2))
        os.replace(tmp, path)


if __name__ == '__main__':
    main()
