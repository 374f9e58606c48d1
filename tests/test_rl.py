"""
Tests of `labml_nn.rl`: GAE against a transcription of its recursive definition and its two limits,
the PPO losses on a hand-checked batch, the double-Q loss, the dueling head, and the sum-tree's
sampling frequencies (a seeded chi-square test).
"""

import math

import pytest
import torch

from labml_nn.rl.dqn import QFuncLoss
from labml_nn.rl.dqn.model import AtariTrunk, DuelingQNetwork, MLPTrunk
from labml_nn.rl.dqn.replay_buffer import ReplayBuffer, SumTree
from labml_nn.rl.gae import gae
from labml_nn.rl.ppo import ClippedPPOLoss, ClippedValueFunctionLoss


def rollout(seed=0, n_envs=3, T=12):
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(n_envs, T, generator=g, dtype=torch.float64)
    values = torch.randn(n_envs, T, generator=g, dtype=torch.float64)
    next_values = torch.cat([values[:, 1:], torch.randn(n_envs, 1, generator=g, dtype=torch.float64)], 1)
    terminated = torch.rand(n_envs, T, generator=g) < 0.15
    truncated = (torch.rand(n_envs, T, generator=g) < 0.1) & ~terminated
    # after an episode ends, next_values of that step are of its last state, not the next episode's
    next_values = torch.where(truncated, torch.randn(n_envs, T, generator=g, dtype=torch.float64), next_values)
    return rewards, values, next_values, terminated, terminated | truncated


def gae_reference(rewards, values, next_values, terminated, done, gamma, lam):
    """The definition A_t = sum_l (gamma lambda)^l delta_{t+l} within the episode, written as a double loop"""
    n_envs, T = rewards.shape
    out = torch.zeros_like(rewards)
    for e in range(n_envs):
        for t in range(T):
            total, factor = 0., 1.
            for k in range(t, T):
                delta = rewards[e, k] + gamma * next_values[e, k] * (0. if terminated[e, k] else 1.) - values[e, k]
                total += factor * delta
                if done[e, k]:
                    break
                factor *= gamma * lam
            out[e, t] = total
    return out


@pytest.mark.parametrize('lam', [0., 0.5, 0.95, 1.])
def test_gae_equals_definition(lam):
    args = rollout()
    torch.testing.assert_close(gae(*args, gamma=0.9, lambda_=lam), gae_reference(*args, 0.9, lam))


def test_gae_lambda_zero_is_td_error_and_one_is_monte_carlo():
    rewards, values, next_values, terminated, done = rollout(seed=1)
    # lambda = 0: the one-step TD error
    td = rewards + 0.99 * next_values * (~terminated) - values
    torch.testing.assert_close(gae(rewards, values, next_values, terminated, done, 0.99, 0.), td)
    # lambda = 1, one episode that terminates at the last step: the discounted return minus the value
    T = 10
    r = torch.arange(1., T + 1, dtype=torch.float64).view(1, T)
    v = torch.randn(1, T, dtype=torch.float64)
    nv = torch.cat([v[:, 1:], torch.zeros(1, 1, dtype=torch.float64)], 1)
    term = torch.zeros(1, T, dtype=torch.bool)
    term[0, -1] = True
    returns = torch.tensor([[sum(0.9 ** (k - t) * r[0, k].item() for k in range(t, T)) for t in range(T)]],
                           dtype=torch.float64)
    torch.testing.assert_close(gae(r, v, nv, term, term, 0.9, 1.) + v, returns)


def test_gae_mutation_bootstrap_on_terminal_fails():
    """Bootstrapping through a terminal state (ignoring `terminated`) must break the comparison"""
    rewards, values, next_values, terminated, done = rollout(seed=2)
    assert terminated.any()
    wrong = gae(rewards, values, next_values, torch.zeros_like(terminated), done, 0.9, 0.95)
    assert not torch.allclose(wrong, gae_reference(rewards, values, next_values, terminated, done, 0.9, 0.95))
    with pytest.raises(ValueError, match='lambda_'):
        gae(rewards, values, next_values, terminated, done, 0.9, 1.5)


def test_ppo_loss_on_hand_checked_batch():
    # ratios 1.5, 0.5, 1.1, 0.7 with advantages +1, +1, -2, -1 and clip 0.2:
    # min(r A, clip(r) A) per sample:
    #   min(1.5, 1.2) = 1.2 (clipped: no further gain from raising a good action)
    #   min(0.5, 0.8) = 0.5 (unclipped: making a good action less likely is paid in full)
    #   min(-2.2, -2.2) = -2.2 (inside the clip range)
    #   min(-0.7, -0.8) = -0.8 (clipped: no further gain from lowering a bad action)
    ratio = torch.tensor([1.5, 0.5, 1.1, 0.7], dtype=torch.float64)
    adv = torch.tensor([1., 1., -2., -1.], dtype=torch.float64)
    old = torch.log(torch.tensor([0.2, 0.4, 0.3, 0.5], dtype=torch.float64))
    new = old + torch.log(ratio)
    loss_fn = ClippedPPOLoss()
    loss = loss_fn(new, old, adv, 0.2)
    assert loss.item() == pytest.approx(-(1.2 + 0.5 - 2.2 - 0.8) / 4)
    assert loss_fn.clip_fraction.item() == pytest.approx(0.75)
    # The gradient: zero for the clipped first sample, full for the others
    new = new.clone().requires_grad_()
    loss_fn(new, old, adv, 0.2).backward()
    expected = -torch.tensor([0., 0.5 * 1., -2. * 1.1, 0.], dtype=torch.float64) / 4
    torch.testing.assert_close(new.grad, expected)


def test_ppo_value_loss_on_hand_checked_batch():
    value = torch.tensor([1.0, 3.0], dtype=torch.float64)
    old = torch.tensor([0.5, 2.0], dtype=torch.float64)
    ret = torch.tensor([2.0, 1.0], dtype=torch.float64)
    # clip 0.2: clipped values 0.7 and 2.2; errors max((1-2)^2, (0.7-2)^2) = 1.69, max(4, 1.44) = 4
    loss = ClippedValueFunctionLoss()(value, old, ret, 0.2)
    assert loss.item() == pytest.approx(0.5 * (1.69 + 4.0) / 2)
    with pytest.raises(ValueError, match='clip'):
        ClippedPPOLoss()(value, old, ret, 0.)


def test_double_q_loss():
    q = torch.tensor([[1., 2.], [0.5, 0.]], requires_grad=True)
    action = torch.tensor([1, 0])
    # online network picks action 0 for the first next state and 1 for the second
    double_q = torch.tensor([[3., 1.], [0., 4.]])
    # target network values: a plain max would take 10 and 7 instead
    target_q = torch.tensor([[2., 10.], [7., 1.]])
    done = torch.tensor([0., 1.])
    reward = torch.tensor([1., -1.])
    td, loss = QFuncLoss(0.5)(q, action, double_q, target_q, done, reward, torch.ones(2))
    # targets: 1 + 0.5 * 2 = 2 ; terminal: -1
    torch.testing.assert_close(td, torch.tensor([0., 1.5]))
    # Huber: 0 and 1.5 - 0.5 = 1.0
    assert loss.item() == pytest.approx((0. + 1.0) / 2)
    loss.backward()
    assert q.grad[0].abs().sum() == 0 and q.grad[1, 0] > 0 and q.grad[1, 1] == 0


def test_dueling_head_mean_advantage_is_zero():
    torch.manual_seed(0)
    net = DuelingQNetwork(MLPTrunk(4, 16), 3, 16)
    obs = torch.randn(5, 4)
    q = net(obs)
    h = net.trunk(obs)
    # Q - V has zero mean over the actions, and the mean of Q is V
    torch.testing.assert_close(q.mean(-1, keepdim=True), net.state_value(h))
    a = net.action_value(h)
    torch.testing.assert_close(q, net.state_value(h) + a - a.mean(-1, keepdim=True))
    atari = DuelingQNetwork(AtariTrunk(), 6)
    assert atari(torch.zeros(2, 4, 84, 84)).shape == (2, 6)


def chi2_quantile(k: int, z: float) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile with k degrees of freedom at normal quantile z"""
    return k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3


@pytest.mark.parametrize('stratified', [False, True])
def test_sum_tree_sampling_frequencies_match_priorities(stratified):
    """
    Pearson's chi-square test of the sample counts against P(i) = p_i^alpha / sum p^alpha.
    The threshold is the 0.999 quantile (z = 3.09), so with independent sampling a correct tree fails
    with probability 0.1% for a random seed; stratified sampling only makes the counts less variable,
    so the rate is lower. The seed is fixed, so the outcome is reproducible.
    """
    g = torch.Generator().manual_seed(0)
    n, alpha = 37, 0.6
    buffer = ReplayBuffer(50, (2,), alpha=alpha)
    for i in range(n):
        buffer.add(torch.zeros(2), 0, 0., torch.zeros(2), False)
    td = torch.rand(n, generator=g) * 5
    buffer.update_priorities(torch.arange(n), td)
    expected_p = (td.double() + buffer.eps) ** alpha
    expected_p = expected_p / expected_p.sum()
    counts = torch.zeros(n, dtype=torch.float64)
    draws = 0
    for _ in range(400):
        batch = buffer.sample(64, beta=0.4, generator=g, stratified=stratified)
        counts += torch.bincount(batch['index'], minlength=n).double()
        draws += 64
    expected = expected_p * draws
    assert expected.min() > 5
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    assert chi2 < chi2_quantile(n - 1, 3.09), chi2
    # a mutated tree (priorities without the alpha power) is detected by the same test
    wrong = (td.double() + buffer.eps) / (td.double() + buffer.eps).sum() * draws
    assert ((counts - wrong) ** 2 / wrong).sum().item() > chi2_quantile(n - 1, 3.09)


def test_importance_weights_and_tree_updates():
    buffer = ReplayBuffer(4, (1,), alpha=1.0, eps=0.)
    for i in range(4):
        buffer.add(torch.tensor([float(i)]), i % 2, float(i), torch.tensor([0.]), i == 3)
    buffer.update_priorities(torch.tensor([0, 1, 2, 3, 3]), torch.tensor([1., 2., 3., 9., 4.]))
    # the last update of a repeated index wins; sums and minima follow
    assert buffer.tree.total() == pytest.approx(10.)
    assert buffer.tree.minimum(4) == pytest.approx(1.)
    batch = buffer.sample(8, beta=1.0, generator=torch.Generator().manual_seed(0))
    p = torch.tensor([1., 2., 3., 4.]) / 10
    w = (4 * p[batch['index']]) ** -1. / (4 * 0.1) ** -1.
    torch.testing.assert_close(batch['weights'], w)
    torch.testing.assert_close(batch['obs'][:, 0], batch['index'].float())
    # the oldest transition is overwritten first, with the largest priority
    buffer.add(torch.tensor([9.]), 0, 0., torch.tensor([0.]), False)
    assert buffer.obs[0, 0] == 9. and buffer.tree.sum[buffer.tree.size].item() == pytest.approx(9.)
    tree = SumTree(5)
    assert tree.size == 8


def test_sum_tree_sums_equal_a_recomputation():
    """After many random updates (with repeats) every inner node is the sum of its children"""
    g = torch.Generator().manual_seed(0)
    tree = SumTree(37)
    expected = torch.zeros(37, dtype=torch.float64)
    for _ in range(200):
        index = torch.randint(0, 37, (16,), generator=g)
        value = torch.rand(16, generator=g, dtype=torch.float64)
        tree.set(index, value)
        for i, v in zip(index.tolist(), value.tolist()):
            expected[i] = v
    torch.testing.assert_close(tree.sum[tree.size:tree.size + 37], expected)
    for node in range(1, tree.size):
        assert tree.sum[node].item() == pytest.approx(tree.sum[2 * node].item() + tree.sum[2 * node + 1].item(),
                                                      rel=1e-12, abs=1e-12)
    assert tree.total() == pytest.approx(expected.sum().item())
    assert tree.minimum(37) == pytest.approx(expected.min().item())
