"""A tiny experiment on the harness, used by the tests: an MLP with dropout classifying the bundled digits.

Run as a script (`python tests/harness_demo.py --help`) or call `train(cfg)`."""

import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labml_nn.experiments.config import RunConfig, check_positive, flag  # noqa: E402
from labml_nn.experiments.data.digits import load_digits  # noqa: E402
from labml_nn.experiments.data.sampler import ShuffledBatches  # noqa: E402
from labml_nn.experiments.errors import ExperimentError  # noqa: E402
from labml_nn.experiments.trainer import Run, run_main  # noqa: E402


@dataclass
class Config(RunConfig):
    steps: int = 30
    log_every: int = 5
    eval_every: int = 10
    checkpoint_every: int = 10
    device: str = flag('cpu', help='where to train', on_resume='apply', choices=['cpu', 'cuda', 'auto'])
    hidden: int = flag(32, help='hidden units')
    dropout: float = flag(0.2, help='dropout probability', on_resume='apply')
    batch_size: int = flag(16, help='digits per step')
    lr: float = flag(3e-3, help='learning rate', on_resume='apply')
    beta1: float = flag(0.9, help="Adam's beta1")
    gamma: float = flag(0.9, help='learning-rate decay per 10 steps')
    slow: float = flag(0.0, help='seconds to sleep per step (for tests that interrupt)', on_resume='apply')
    stop_at: int = flag(-1, help='send this process SIGINT (Ctrl-C) during this step', on_resume='apply')
    blow_up_at: int = flag(-1, help='multiply the learning rate by 1e30 from this step on', on_resume='apply')

    def validate(self):
        super().validate()
        check_positive(self, 'hidden', 'batch_size', 'lr')
        if not 0 <= self.dropout < 1:
            raise ExperimentError(f"--dropout must lie in [0, 1), got {self.dropout}")


def train(cfg: Config) -> dict:
    with Run(cfg, name='harness_demo') as run:
        x, y = load_digits('train', seed=0)
        vx, vy = load_digits('valid', seed=0)
        x, y = x.flatten(1), y
        model = nn.Sequential(nn.Linear(64, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout),
                              nn.Linear(cfg.hidden, 10)).to(run.device)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
        sched = torch.optim.lr_scheduler.StepLR(opt, 10, gamma=cfg.gamma)
        batches = ShuffledBatches(len(y), cfg.batch_size, seed=cfg.seed)
        run.track(model=model, optimizer=opt, scheduler=sched, data=batches)
        net = run.wrap(model)
        for step in run.steps():
            idx = batches.next()
            # Each process takes its share of the global batch
            idx = idx[run.dist.rank::run.dist.world_size]
            for g in opt.param_groups:
                g['lr'] = cfg.lr * cfg.gamma ** (step // 10) * (1e30 if 0 <= cfg.blow_up_at <= step else 1)
            loss = F.cross_entropy(net(x[idx].to(run.device)), y[idx].to(run.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if cfg.slow:
                import time
                time.sleep(cfg.slow)
            if step == cfg.stop_at:
                import os
                import signal
                os.kill(os.getpid(), signal.SIGINT)
            run.log(step, loss=loss, lr=opt.param_groups[0]['lr'], samples=cfg.batch_size)
            if run.due(step, cfg.eval_every):
                model.eval()
                with torch.no_grad():
                    logits = model(vx.flatten(1).to(run.device))
                    run.log_eval(step, valid_loss=F.cross_entropy(logits, vy.to(run.device)).item(),
                                 valid_accuracy=(logits.argmax(-1).cpu() == vy).float().mean().item())
                model.train()
        return run.summary()


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__, prog='harness_demo')


if __name__ == '__main__':
    raise SystemExit(main())
