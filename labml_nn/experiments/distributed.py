"""
---
title: Devices and several processes
summary: >
  Picking the device, and training with several processes under torchrun:
  gloo on the CPU, nccl on GPUs, the same batches in every process and only
  rank 0 writing files.
---

# Devices and several processes

`torchrun --nproc_per_node=N -m some.experiment` starts `N` copies of the
program and tells each, through environment variables, its `RANK` (which copy
it is), its `LOCAL_RANK` (which GPU of this machine it uses) and the
`WORLD_SIZE` (how many there are). A plain `python` run is rank 0 of a world of
size 1, and then nothing on this page does anything.

The harness's conventions for several processes:

* **Communication.** The processes join one *process group*: `gloo` when they
  train on the CPU, `nccl` on GPUs (one GPU per process).
* **The same global batch.** Every process draws the same global batch from a
  generator seeded alike, and takes its own slice of the rows; `DistributedDataParallel`
  averages the gradients during `backward()`, so all processes hold the same
  weights after every step.
* **Noise per process.** Dropout and other noise draw from the global generators,
  seeded with `seed + rank`, so the processes don't all drop the same units.
* **Rank 0 writes.** Only the first process writes the run folder and prints;
  values it logs (losses) are averaged over the processes first, and the others'
  random states are gathered into its checkpoint.
"""

import dataclasses
import os
from typing import Any, List, Optional, Tuple

import torch
import torch.distributed as dist

from labml_nn.experiments.errors import ExperimentError


@dataclasses.dataclass
class Dist:
    """
    ## This process's place in the run
    """
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        # Only the main process prints and writes files
        return self.rank == 0


def from_environment() -> Dist:
    """The rank and world size that `torchrun` set, or rank 0 of 1"""
    try:
        return Dist(rank=int(os.environ.get('RANK', '0')), world_size=int(os.environ.get('WORLD_SIZE', '1')),
                    local_rank=int(os.environ.get('LOCAL_RANK', '0')))
    except ValueError:
        raise ExperimentError("RANK, WORLD_SIZE or LOCAL_RANK is not a number; start several processes with "
                              "torchrun, or unset those variables") from None


def setup(device: str) -> Tuple[torch.device, Dist]:
    """
    ## Pick the device and join the process group

    * `device` is `cpu`, `cuda` or `auto` (CUDA when a GPU is visible, else the CPU)
    """
    if device not in ('cpu', 'cuda', 'auto'):
        raise ExperimentError(f"unknown device {device!r}; use --device cpu, cuda or auto")
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda' and not torch.cuda.is_available():
        raise ExperimentError("--device cuda was requested but PyTorch sees no CUDA GPU; use --device cpu (or auto)")
    info = from_environment()
    if device == 'cuda':
        if info.local_rank >= torch.cuda.device_count():
            raise ExperimentError(f"process {info.rank} wants GPU {info.local_rank} but there are only "
                                  f"{torch.cuda.device_count()}; start at most that many processes per machine")
        dev = torch.device('cuda', info.local_rank)
        torch.cuda.set_device(dev)
        # TensorFloat-32 matrix products: much faster on recent GPUs, accurate enough for these experiments
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        dev = torch.device('cpu')
        # Numbers below the smallest normal float (about $10^{-38}$, "subnormals") appear, for example,
        # once softmax probabilities underflow. Many Intel processors compute with them far more
        # slowly (we saw a run halve its speed after a few hundred steps). Flushing them to zero
        # changes no result that matters here; `teardown` undoes it. NumPy computes the limits of its
        # float types once, on first use, and warns if subnormals are flushed then; so we let it first.
        import numpy as np
        for dtype in (np.float16, np.float32, np.float64):
            np.finfo(dtype).smallest_subnormal
        torch.set_flush_denormal(True)
    if info.world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend='nccl' if dev.type == 'cuda' else 'gloo')
    return dev, info


def teardown(clean: bool = True):
    """Leave the process group and undo the process-wide setting of `setup`"""
    if dist.is_available() and dist.is_initialized():
        # After a clean end, wait for the others first: a process that closes its connections while a
        # peer still uses them can abort
        if clean:
            dist.barrier()
        dist.destroy_process_group()
    torch.set_flush_denormal(False)


def wrap_model(model: torch.nn.Module, info: Dist) -> torch.nn.Module:
    """
    ## Gradients averaged over the processes

    With several processes `DistributedDataParallel` averages the gradients during
    `backward()`; with one, the model is returned as it is.
    """
    if info.world_size == 1:
        return model
    return torch.nn.parallel.DistributedDataParallel(model)


def all_reduce_sum(values: List[float], device: torch.device, info: Dist) -> List[float]:
    """Sum a few numbers over all processes (every process gets the sums)"""
    if info.world_size == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def sum_tensor(value: torch.Tensor, info: Dist) -> torch.Tensor:
    """The sum of a tensor over all processes"""
    if info.world_size == 1:
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value


def broadcast_object(obj: Any, info: Dist, device: Optional[torch.device] = None) -> Any:
    """Rank 0's `obj`, in every process"""
    if info.world_size == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=device if device is not None and device.type == 'cuda' else None)
    return box[0]


def gather_objects(obj: Any, info: Dist) -> Optional[List[Any]]:
    """Every process's `obj`, as a list on rank 0 (`None` on the others)"""
    if info.world_size == 1:
        return [obj]
    objs = [None] * info.world_size if info.is_main else None
    dist.gather_object(obj, objs, dst=0)
    return objs
