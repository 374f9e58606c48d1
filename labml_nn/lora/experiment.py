r"""
---
title: Adapting a GPT to a Second Text with LoRA
summary: >
  Low-rank adapters on every linear layer of a GPT trained on Tiny Shakespeare,
  fine-tuned on the prose of this site's own tutorials, on the shared harness:
  the trainable share of parameters, the loss on both texts, merged versus
  unmerged outputs, and a sample.
---

# Adapting a GPT to a Second Text with LoRA

First train the base model with the [GPT experiment](../transformers/gpt/experiment.html),
then adapt it:

```bash
python -m labml_nn.transformers.gpt.experiment      # writes runs/gpt
python -m labml_nn.lora.experiment --base runs/gpt
```

The second text is, by default, the docstrings of this site's own modules: modern
technical English, far from Shakespeare's verse. Characters the base model has
never seen become spaces. The experiment wraps every linear layer of the base
model in a [`LoRALinear`](index.html) of rank `--r`, freezes everything else,
and trains the adapters on the second text. It reports the share of parameters
it trains, the validation loss on the second text and on Shakespeare (how much
the adaptation forgets), and at the end checks that the merged model gives the
same logits as the unmerged one, and samples from it.
"""

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from labml_nn.experiments.checkpoint import load_checkpoint
from labml_nn.experiments.config import RunConfig, check_positive, flag
from labml_nn.experiments.data.char_corpus import CharTokenizer, TextDataset, find_corpus, read_text
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.lora import add_lora, set_merged
from labml_nn.sampling.generate import generate
from labml_nn.sampling.samplers import sample
from labml_nn.transformers.gpt import GPT
from labml_nn.transformers.gpt.experiment import validation_loss
from labml_nn.transformers.kv_cache import KVCache


@dataclass
class Config(RunConfig):
    """
    ## Configuration
    """
    steps: int = flag(300, help='fine-tuning steps', on_resume='apply')
    log_every: int = flag(10, help='steps per row of metrics.csv', on_resume='apply')
    eval_every: int = flag(100, help='steps between validations', on_resume='apply')
    checkpoint_every: int = flag(100, help='steps between checkpoints', on_resume='apply')
    base: str = flag('runs/gpt', help='run folder of the GPT experiment whose model we adapt')
    text: str = flag('', help='the second text; empty means the docstrings of labml_nn')
    r: int = flag(4, help='rank of the adapters')
    alpha: float = flag(8.0, help='scale numerator alpha (the update is alpha / r * B A)')
    lr: float = flag(2e-3, help='learning rate of the adapters', on_resume='apply')
    batch_size: int = flag(16, help='sequences per step')
    valid_fraction: float = flag(0.1, help='share of the second text held out for validation')
    eval_windows: int = flag(64, help='validation windows per text', on_resume='apply')
    prompt: str = flag('The ', help='text the sample continues', on_resume='apply')

    def validate(self):
        super().validate()
        check_positive(self, 'r', 'alpha', 'lr', 'batch_size', 'eval_windows')


def tutorial_docstrings() -> str:
    """The docstrings of every module under `labml_nn/`, in file order"""
    root = Path(__file__).resolve().parent.parent
    parts = []
    for path in sorted(root.rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    parts.append(doc)
    return '\n\n'.join(parts)


def load_base(base: Path, device: torch.device):
    """The base GPT, its configuration and the tokenizer of its corpus"""
    config_path, checkpoint_path = base / 'config.json', base / 'checkpoint.pt'
    if not checkpoint_path.is_file():
        raise ExperimentError(f"no checkpoint in {base}; train the base model first with "
                              f"python -m labml_nn.transformers.gpt.experiment --out {base}")
    cfg = json.loads(config_path.read_text(encoding='utf-8'))
    corpus = TextDataset(read_text(find_corpus(cfg['data'])), cfg['seq_len'], cfg['valid_fraction'])
    model = GPT(corpus.tokenizer.n_vocab, cfg['d_model'], cfg['n_heads'], cfg['n_layers'], cfg['seq_len'])
    model.load_state_dict(load_checkpoint(checkpoint_path)['objects']['model'])
    return model.to(device), cfg, corpus


def train(cfg: Config) -> dict:
    """
    ## Fine-tuning
    """
    with Run(cfg, name='lora') as run:
        model, base_cfg, corpus = load_base(Path(cfg.base), run.device)
        tokenizer: CharTokenizer = corpus.tokenizer
        text = read_text(Path(cfg.text)) if cfg.text else tutorial_docstrings()
        # Characters the base model doesn't know become spaces
        text = ''.join(c if c in tokenizer.index else ' ' for c in text)
        second = TextDataset(text, base_cfg['seq_len'], cfg.valid_fraction, source='the second text')
        # Both datasets must use the base model's tokenizer
        second.tokenizer = tokenizer
        second.train, second.valid = (tokenizer.encode(t) for t in
                                      (text[:len(second.train)], text[len(second.train):]))
        names = add_lora(model, cfg.r, cfg.alpha)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        run.print(f"{len(names)} adapted layers; training {trainable:,} of {total:,} parameters "
                  f"({100 * trainable / total:.1f}%)")
        before = (validation_loss(model, second, cfg.eval_windows, run.device),
                  validation_loss(model, corpus, cfg.eval_windows, run.device))
        run.print(f"before: valid loss {before[0]:.3f} on the second text, {before[1]:.3f} on Shakespeare")
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                      weight_decay=0.0)
        run.track(model=model, optimizer=optimizer)
        for step in run.steps():
            x, y = second.train_batch(cfg.batch_size, run.generator)
            x, y = x.to(run.device), y.to(run.device)
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            run.log(step, loss=loss, tokens=x.numel())
            if run.due(step, cfg.eval_every):
                run.log_eval(step, valid_loss=validation_loss(model, second, cfg.eval_windows, run.device),
                             shakespeare_loss=validation_loss(model, corpus, cfg.eval_windows, run.device))
        if run.is_main and not run.interrupted:
            # Merged and unmerged adapters must give the same logits
            model.eval()
            x, _ = second.valid_windows(4)
            with torch.no_grad():
                unmerged = model(x.to(run.device))
                set_merged(model, True)
                merged = model(x.to(run.device))
                set_merged(model, False)
            run.print(f"max |merged - unmerged| logit difference: {(merged - unmerged).abs().max().item():.2e}")
            prompt = tokenizer.encode(cfg.prompt)[None].to(run.device)
            n_new = base_cfg['seq_len'] - prompt.shape[1]
            g = torch.Generator(device=run.device).manual_seed(cfg.seed)
            out = generate(model, prompt, n_new, cache=KVCache(base_cfg['n_layers'], base_cfg['seq_len']),
                           sampler=lambda z: sample(z, temperature=0.8, top_k=20, generator=g))
            text_out = tokenizer.decode(out[0].tolist())
            run.path('sample.txt').write_text(text_out, encoding='utf-8')
            run.print('sample: ' + text_out.replace('\n', ' | '))
        return run.summary()


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
