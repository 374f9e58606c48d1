r"""
---
title: Prioritized Experience Replay with a Sum-Tree
summary: >
  An annotated PyTorch implementation of a prioritized replay buffer: transitions sampled in proportion
  to their priorities with a sum-tree, and importance-sampling weights that correct the bias.
---

# Prioritized Experience Replay

This is an implementation of the replay buffer from the paper
[Prioritized Experience Replay](https://arxiv.org/abs/1511.05952), used by [DQN](index.html).
(No official code was released; DeepMind's later JAX version is in
[dqn_zoo](https://github.com/google-deepmind/dqn_zoo).)

A uniform replay buffer samples every stored transition equally often, although most of them are
already predicted well and teach little.
Prioritized replay samples transition $i$ with probability

$$P(i) = \frac{p_i^\alpha}{\sum_k p_k^\alpha}$$

where the priority $p_i = |\delta_i| + \epsilon$ is the size of its last TD error (plus a small
$\epsilon$, so that every transition keeps a chance of being sampled again), and $\alpha$ sets how strongly
priorities count ($\alpha = 0$ is uniform sampling).
New transitions get the largest priority seen so far, so each is sampled at least once soon.

## Correcting the bias

The loss is an expectation over the uniform distribution of the buffer; sampling from $P$ changes
that expectation.
Each sample is therefore weighted by the importance-sampling weight

$$w_i = \Big(\frac{1}{N} \cdot \frac{1}{P(i)}\Big)^\beta \Big/ \max_j w_j$$

where $N$ is the number of stored transitions.
$\beta = 1$ corrects the bias fully; the paper anneals $\beta$ from about $0.4$ to $1$ over
training, since the bias matters most at the end, when the estimates should converge.
Dividing by the largest weight, that of the transition with the smallest $P(j)$, only scales the
loss down, for stability.

## The sum-tree

Sampling in proportion to $p_i^\alpha$ and updating priorities must both be fast for a buffer of
a million transitions.
A *sum-tree* is a complete binary tree whose leaves hold $p_i^\alpha$ and whose every inner node
holds the sum of its two children, so the root holds $\sum_k p_k^\alpha$.

* To sample, draw $x$ uniformly in $[0, \sum_k p_k^\alpha)$ and walk down from the root: if $x$ is
  less than the left child's sum go left, otherwise subtract the left sum from $x$ and go right.
  The leaf reached is $i$ with probability $p_i^\alpha / \sum_k p_k^\alpha$: leaf $i$ owns an
  interval of length $p_i^\alpha$ of $[0, \sum_k p_k^\alpha)$.
* To change a priority, add the change of the leaf to the leaf and to every node on its path to
  the root.

Both take $O(\log N)$ steps.
The smallest $P(j)$, needed for the largest weight, is one vectorized minimum over the leaves.
We store the tree in an array (node $n$ has children $2n$ and $2n + 1$, the root is node $1$, the
leaves are the last half), so the nodes on the path of leaf node $n$ are $\lfloor n / 2^k \rfloor$;
a whole batch of priorities is then changed with one `index_add_`, and a whole batch of prefix
sums walks down the tree together, one level per tensor operation.
As in the paper, a batch of $B$ samples draws one $x$ in each of $B$ equal slices of
$[0, \sum_k p_k^\alpha)$ (*stratified* sampling), which spreads the batch over the buffer.
"""

from typing import Dict, Optional, Tuple

import torch


class SumTree:
    r"""
    ## Sum-tree

    * `capacity` is the number of leaves; the array is rounded up to a power of two
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"Invalid `capacity` = {capacity!r}: it must be a positive integer")
        self.capacity = capacity
        # Number of leaves, a power of two
        self.size = 1 << (capacity - 1).bit_length()
        # The number of levels above the leaves
        self.depth = (self.size - 1).bit_length()
        # Sums, in double precision so that many small changes do not accumulate rounding errors
        self.sum = torch.zeros(2 * self.size, dtype=torch.float64)

    def set(self, index: torch.Tensor, value: torch.Tensor):
        r"""
        Set the leaves `index` (`[n]`, may repeat: the last value wins) to `value` (`[n]`)
        and update the sums on their paths.
        """
        index = index.to(torch.long)
        value = value.to(torch.float64)
        # One entry per leaf: for a repeated index, the position of its last occurrence
        leaves, inverse = torch.unique(index, return_inverse=True)
        last = torch.full_like(leaves, -1).scatter_reduce_(0, inverse, torch.arange(len(index)), reduce='amax')
        node = leaves + self.size
        # The change of each leaf, `[m]`
        delta = value[last] - self.sum[node]
        # The leaf and its ancestors $\lfloor n / 2^k \rfloor$ for $k = 0, \dots, \text{depth}$, `[m, depth + 1]`
        path = node.unsqueeze(1) >> torch.arange(self.depth + 1)
        # Add the change to every node on the paths (`index_add_` sums the changes of paths that meet)
        self.sum.index_add_(0, path.flatten(), delta.repeat_interleave(self.depth + 1))

    def total(self) -> float:
        r"""$\sum_k p_k^\alpha$, the root"""
        return self.sum[1].item()

    def minimum(self, n: int) -> float:
        r"""$\min_k p_k^\alpha$ over the first `n` leaves (the filled ones)"""
        return self.sum[self.size:self.size + n].min().item()

    def find(self, x: torch.Tensor) -> torch.Tensor:
        r"""
        For each prefix sum in `x` (`[n]`, each in $[0, \sum_k p_k^\alpha)$), the leaf whose
        interval contains it, `[n]`
        """
        x = x.to(torch.float64).clone()
        node = torch.ones_like(x, dtype=torch.long)
        for _ in range(self.depth):
            left = 2 * node
            left_sum = self.sum[left]
            # Go right where $x \ge$ the left sum, and subtract the left sum from $x$
            go_right = x >= left_sum
            x = torch.where(go_right, x - left_sum, x)
            node = left + go_right.long()
        return node - self.size


class ReplayBuffer:
    r"""
    ## Prioritized replay buffer

    * `capacity` is the largest number of transitions kept; the oldest is overwritten first
    * `obs_shape` is the shape of one observation
    * `alpha` is $\alpha$
    * `eps` is the $\epsilon$ added to $|\delta_i|$
    """

    def __init__(self, capacity: int, obs_shape: Tuple[int, ...], alpha: float, eps: float = 1e-6):
        if alpha < 0:
            raise ValueError(f"Invalid `alpha` = {alpha!r}: it must be >= 0")
        self.capacity = capacity
        self.alpha = alpha
        self.eps = eps
        self.tree = SumTree(capacity)
        # The transitions $(s, a, r, s', \text{done})$
        self.obs = torch.zeros((capacity, *obs_shape))
        self.action = torch.zeros(capacity, dtype=torch.long)
        self.reward = torch.zeros(capacity)
        self.next_obs = torch.zeros((capacity, *obs_shape))
        self.done = torch.zeros(capacity)
        # The next slot to write and the number of filled slots $N$
        self.next_idx = 0
        self.size = 0
        # The largest priority $p^\alpha$ so far, given to new transitions
        self.max_priority = 1.0

    def add(self, obs: torch.Tensor, action: int, reward: float, next_obs: torch.Tensor, done: bool):
        """Store one transition with the largest priority"""
        i = self.next_idx
        self.obs[i], self.action[i], self.reward[i] = obs, action, reward
        self.next_obs[i], self.done[i] = next_obs, float(done)
        self.tree.set(torch.tensor([i]), torch.tensor([self.max_priority]))
        self.next_idx = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, beta: float, generator: Optional[torch.Generator] = None,
               stratified: bool = True) -> Dict[str, torch.Tensor]:
        r"""
        Sample `batch_size` transitions with probabilities $P(i)$, and their weights $w_i$ for $\beta$.
        """
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty; add transitions first")
        total = self.tree.total()
        # Prefix sums $x$: one in each of `batch_size` equal slices, or all uniform in $[0, \text{total})$
        u = torch.rand(batch_size, generator=generator, dtype=torch.float64)
        if stratified:
            x = (torch.arange(batch_size, dtype=torch.float64) + u) * (total / batch_size)
        else:
            x = u * total
        # Rounding can, very rarely, walk past the last filled leaf; clamp to the filled ones
        index = self.tree.find(x).clamp(max=self.size - 1)
        # $P(i)$ and $P_{\min}$
        prob = self.tree.sum[index + self.tree.size] / total
        prob_min = self.tree.minimum(self.size) / total
        # $w_i = (N P(i))^{-\beta} / \max_j w_j$, and $\max_j w_j = (N P_{\min})^{-\beta}$
        weights = (prob * self.size) ** (-beta) / (prob_min * self.size) ** (-beta)
        return dict(index=index, weights=weights.float(), obs=self.obs[index], action=self.action[index],
                    reward=self.reward[index], next_obs=self.next_obs[index], done=self.done[index])

    def update_priorities(self, index: torch.Tensor, td_error: torch.Tensor):
        r"""Set $p_i = |\delta_i| + \epsilon$ of the sampled transitions; the tree holds $p_i^\alpha$"""
        priority_alpha = (td_error.detach().abs().to(torch.float64) + self.eps) ** self.alpha
        self.tree.set(index, priority_alpha)
        self.max_priority = max(self.max_priority, priority_alpha.max().item())

    def state_dict(self) -> dict:
        """Everything, for a checkpoint"""
        return dict(obs=self.obs, action=self.action, reward=self.reward, next_obs=self.next_obs,
                    done=self.done, sum=self.tree.sum, next_idx=self.next_idx,
                    size=self.size, max_priority=self.max_priority)

    def load_state_dict(self, state: dict):
        """Restore from `state_dict()`"""
        for k in ('obs', 'action', 'reward', 'next_obs', 'done'):
            getattr(self, k).copy_(state[k])
        self.tree.sum.copy_(state['sum'])
        self.next_idx, self.size, self.max_priority = state['next_idx'], state['size'], state['max_priority']
