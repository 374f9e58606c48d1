"""The LLaMA-style model against the basic transformer: same parameter count, same training time.

    python bench/llm_llama_vs_basic.py [--seconds 300] [--data PATH]

Both models train on Tiny Shakespeare characters (seq_len 128, batch 32) with AdamW (lr 3e-3,
betas 0.9/0.99, weight decay 0.1 on matrices, gradient clip 1), 50 warm-up steps and a cosine decay
over the time budget. To share the machine's load fairly, the two runs take turns step by step and
each stops when its own summed step time reaches the budget. One run, seed 0. Prints the parameter
counts, steps done and the final validation loss on 256 fixed windows.
"""

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labml_nn.experiments.data.char_corpus import TextDataset, find_corpus, read_text  # noqa: E402
from labml_nn.transformers.basic.autoregressive_experiment import AutoregressiveTransformer, Config  # noqa: E402
from labml_nn.transformers.gpt.experiment import validation_loss  # noqa: E402
from labml_nn.transformers.llama import Llama  # noqa: E402


class Trainer:
    def __init__(self, name, model, seconds, lr):
        self.name, self.model, self.seconds, self.lr = name, model, seconds, lr
        decay = [p for p in model.parameters() if p.dim() >= 2]
        rest = [p for p in model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}],
                                     lr=lr, betas=(0.9, 0.99))
        self.used, self.steps = 0.0, 0
        self.generator = torch.Generator().manual_seed(0)

    @property
    def done(self):
        return self.used >= self.seconds

    def step(self, data):
        start = time.perf_counter()
        warm = min(1.0, (self.steps + 1) / 50)
        lr = self.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, self.used / self.seconds))))
        for g in self.opt.param_groups:
            g['lr'] = lr
        x, y = data.train_batch(32, self.generator)
        loss = F.cross_entropy(self.model(x).flatten(0, 1), y.flatten())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.used += time.perf_counter() - start
        self.steps += 1
        return loss.item()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seconds', type=float, default=300)
    p.add_argument('--data', default='')
    p.add_argument('--threads', type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = TextDataset(read_text(find_corpus(args.data)), 128, 0.1)
    n_vocab = data.tokenizer.n_vocab
    torch.manual_seed(0)
    basic = AutoregressiveTransformer(n_vocab, Config(d_model=128, heads=4, d_ff=512, n_layers=3, seq_len=128))
    torch.manual_seed(0)
    # d_ff chosen so that the parameter counts match within a fraction of a percent
    llama = Llama(n_vocab, 128, 4, 2, 3, 128, d_ff=388)
    count = lambda m: sum(q.numel() for q in m.parameters())
    trainers = [Trainer('basic transformer', basic, args.seconds, 3e-3),
                Trainer('LLaMA-style', llama, args.seconds, 3e-3)]
    print(f"torch {torch.__version__}, {args.threads} threads, {args.seconds:.0f} s of training each")
    for t in trainers:
        print(f"{t.name:20} {count(t.model):,} parameters")
    last_print = time.perf_counter()
    while not all(t.done for t in trainers):
        for t in trainers:
            if not t.done:
                loss = t.step(data)
        if time.perf_counter() - last_print > 30:
            last_print = time.perf_counter()
            print('  ' + '   '.join(f"{t.name}: step {t.steps}, {t.used:.0f} s" for t in trainers), flush=True)
    print(f"\n{'model':20}{'params':>10}{'steps':>8}{'valid loss':>12}")
    for t in trainers:
        v = validation_loss(t.model, data, 256, torch.device('cpu'))
        print(f"{t.name:20}{count(t.model):>10,}{t.steps:>8}{v:12.3f}")


if __name__ == '__main__':
    main()
