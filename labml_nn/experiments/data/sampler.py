"""
---
title: Shuffled batches that resume
summary: >
  Mini-batches of indices from a new random permutation every epoch, with a
  state_dict, so that a resumed run sees exactly the batches an uninterrupted
  one would have seen.
---

# Shuffled batches that resume

Training on a fixed set (the digits, a toy data set of fixed size) usually
goes through it in epochs: shuffle, cut into batches, repeat. To resume exactly,
the checkpoint must know where in which permutation the run stopped.
`ShuffledBatches` keeps that: the epoch, the position in it, and the state of its
own generator at the start of the epoch, from which it redraws the permutation.
Give it to [`run.track`](../trainer.html) as `data=`.
"""

from typing import Any, Dict

import torch

from labml_nn.experiments.errors import ExperimentError


class ShuffledBatches:
    """
    ## Batches of indices
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0, drop_last: bool = True):
        """
        * `n` is the size of the data set, `batch_size` the indices per batch
        * `seed` seeds the permutations
        * `drop_last` leaves out the last, smaller batch of each epoch
        """
        if batch_size <= 0 or n <= 0:
            raise ExperimentError(f"batch size and data size must be positive, got {batch_size} and {n}")
        if drop_last and batch_size > n:
            raise ExperimentError(f"--batch-size {batch_size} is larger than the {n} examples; lower it")
        self.n, self.batch_size, self.drop_last = n, batch_size, drop_last
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.position = 0
        self._start_epoch()

    def _start_epoch(self):
        # Remember the generator's state, so that the permutation can be drawn again on resume
        self._epoch_state = self.generator.get_state()
        self.order = torch.randperm(self.n, generator=self.generator)

    def next(self) -> torch.Tensor:
        """The indices of the next batch, `[batch_size]` (the last one of an epoch may be smaller)"""
        end = self.position + self.batch_size
        if end > self.n and (self.drop_last or self.position >= self.n):
            self.epoch += 1
            self.position = 0
            self._start_epoch()
            end = self.batch_size
        batch = self.order[self.position:min(end, self.n)]
        self.position = min(end, self.n)
        return batch

    def state_dict(self) -> Dict[str, Any]:
        return {'epoch': self.epoch, 'position': self.position, 'epoch_state': self._epoch_state.clone(),
                'generator': self.generator.get_state()}

    def load_state_dict(self, state: Dict[str, Any]):
        self.epoch, self.position = state['epoch'], state['position']
        self.generator.set_state(state['epoch_state'])
        self._start_epoch()
        self.generator.set_state(state['generator'])
