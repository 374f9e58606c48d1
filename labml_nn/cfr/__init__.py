r"""
---
title: Counterfactual Regret Minimization (CFR)
year: 2007
summary: >
  An annotated implementation of counterfactual regret minimization, which finds a Nash equilibrium of
  a two-player zero-sum game with imperfect information, with its average strategy and exploitability.
---

# Counterfactual Regret Minimization (CFR)

This is an implementation of CFR from the paper
[Regret Minimization in Games with Incomplete Information](https://proceedings.neurips.cc/paper/2007/hash/08d98638c6fcd194a4b1e6992063e944-Abstract.html)
(Zinkevich, Johanson, Bowling and Piccione, NeurIPS 2007).
The paper is not on arXiv and we found no official code; OpenSpiel's `cfr.py`, in
[github.com/google-deepmind/open_spiel](https://github.com/google-deepmind/open_spiel), is a widely used reference.
We run it on [Kuhn poker](kuhn.html), a three-card poker game small enough that every number can
be checked.

## Games with imperfect information

In poker a player does not see the opponent's cards.
A decision is made in an *information set* $I$: the set of all histories $h$ of the game (cards
dealt and actions taken) that the player cannot tell apart.
A strategy $\sigma_i(I)$ is a probability distribution over the actions of each of player $i$'s
information sets; a pair of strategies is a Nash equilibrium when neither player gains by changing
theirs alone.
In a two-player zero-sum game, playing an equilibrium strategy guarantees the *game value* on
average, whatever the opponent does.

## Regret matching

Suppose that in one information set we played $\sigma^t(I)$ on iterations $t = 1, \dots, T$.
The *regret* of action $a$ is how much more we would have won by always playing $a$ there.
*Regret matching* plays each action with probability proportional to its positive cumulative
regret,

$$\sigma^{T+1}(I)(a) = \frac{R^{T,+}(I, a)}{\sum_{a'} R^{T,+}(I, a')}
\qquad \text{(uniform when all are } \le 0\text{)}$$

with $R^{T,+} = \max(R^T, 0)$, and its average regret goes to zero like $1 / \sqrt{T}$.

## Counterfactual regret

CFR runs a regret matcher in *every* information set.
The quantity each one minimizes is the *counterfactual* regret: the gain of action $a$ in $I$,
weighted by the probability that the *other* players (and chance) reach $I$, as if player $i$ had
played to reach it:

\begin{align}
v_i(\sigma, h) &= \text{the expected utility of player } i \text{ from history } h \text{ on, under } \sigma \\
r^t(I, a) &= \sum_{h \in I} \pi^{\sigma^t}_{-i}(h) \Big(v_i(\sigma^t, ha) - v_i(\sigma^t, h)\Big) \\
R^T(I, a) &= \sum_{t=1}^{T} r^t(I, a)
\end{align}

where $\pi^{\sigma}_{-i}(h)$ is the product of the probabilities of the opponent's and chance's
actions on the way to $h$.
The paper shows that the overall regret of player $i$ is at most the sum of these local regrets.
So when every local regret grows sub-linearly, the *average* strategy

$$\bar{\sigma}^T_i(I)(a) = \frac{\sum_{t=1}^{T} \pi^{\sigma^t}_i(I) \, \sigma^t(I)(a)}{\sum_{t=1}^{T} \pi^{\sigma^t}_i(I)}$$

(each iteration weighted by the probability $\pi_i$ that the player itself reaches $I$) converges to
a Nash equilibrium in two-player zero-sum games.
The current strategy $\sigma^t$ itself need not converge; the average does.

## Exploitability

How far is $\bar{\sigma}$ from an equilibrium?
A *best response* to $\bar{\sigma}_{-i}$ is the strategy that wins the most against it.
With $b_i$ the value player $i$ gets by best-responding to the other's average strategy, the
*exploitability* is

$$\varepsilon = \frac{b_1 + b_2}{2}$$

It is zero exactly at an equilibrium (then $b_1 = v$ and $b_2 = -v$) and positive otherwise: it is
what a best-responding opponent wins from us beyond the game value, averaged over the two seats.
In a small game we find the best response by trying every pure strategy, which is exact.

## The code

A game is described by its *histories* (`History` below): terminal or not, whose turn, the
available actions, chance outcomes, and the key of the information set.
`CFR` walks the whole game tree once per player per iteration.
"""

import itertools
from typing import Dict, List, Optional, Tuple


class History:
    """
    ## A history of the game

    A game implements this interface; [Kuhn poker](kuhn.html) is one.
    Histories are immutable: `h + a` is a new history.
    """

    def is_terminal(self) -> bool:
        """Whether the game is over"""
        raise NotImplementedError()

    def terminal_utility(self, player: int) -> float:
        """The utility $u_i(h)$ of `player` at a terminal history"""
        raise NotImplementedError()

    def is_chance(self) -> bool:
        """Whether chance acts next (e.g. cards are dealt)"""
        raise NotImplementedError()

    def chance_outcomes(self) -> List[Tuple[str, float]]:
        """The chance actions and their probabilities"""
        raise NotImplementedError()

    def current_player(self) -> int:
        """The player to act, `0` or `1`"""
        raise NotImplementedError()

    def actions(self) -> List[str]:
        """The actions of the player to act"""
        raise NotImplementedError()

    def info_set_key(self) -> str:
        """The key of the information set $I$ that contains this history, for the player to act"""
        raise NotImplementedError()

    def __add__(self, action: str) -> 'History':
        """The history after `action`"""
        raise NotImplementedError()


class InfoSet:
    r"""
    ## An information set

    It holds the cumulative regrets $R^T(I, a)$, the cumulative weighted strategy (the numerator of
    $\bar{\sigma}^T$) and the current strategy $\sigma^t(I)$.
    """

    def __init__(self, key: str, actions: List[str]):
        self.key = key
        self.actions = actions
        # $R^T(I, a)$
        self.regret = {a: 0. for a in actions}
        # $\sum_t \pi^{\sigma^t}_i(I) \sigma^t(I)(a)$
        self.cumulative_strategy = {a: 0. for a in actions}
        # $\sigma^1(I)$ is uniform
        self.strategy = {a: 1. / len(actions) for a in actions}

    def update_strategy(self):
        r"""Regret matching: $\sigma^{t+1}(I)(a) \propto R^{t,+}(I, a)$"""
        positive = {a: max(r, 0.) for a, r in self.regret.items()}
        total = sum(positive.values())
        if total > 0:
            self.strategy = {a: r / total for a, r in positive.items()}
        else:
            self.strategy = {a: 1. / len(self.actions) for a in self.actions}

    def average_strategy(self) -> Dict[str, float]:
        r"""$\bar{\sigma}^T(I)$"""
        total = sum(self.cumulative_strategy.values())
        if total > 0:
            return {a: s / total for a, s in self.cumulative_strategy.items()}
        return {a: 1. / len(self.actions) for a in self.actions}


class CFR:
    """
    ## Counterfactual regret minimization

    * `root` is the empty history of the game
    """

    def __init__(self, root: History):
        self.root = root
        self.info_sets: Dict[str, InfoSet] = {}

    def info_set(self, h: History) -> InfoSet:
        """The information set of `h`, created on first visit"""
        key = h.info_set_key()
        if key not in self.info_sets:
            self.info_sets[key] = InfoSet(key, h.actions())
        return self.info_sets[key]

    def walk_tree(self, h: History, i: int, pi_i: float, pi_neg_i: float) -> float:
        r"""
        ### Walk the tree below $h$ for player $i$

        * `pi_i` is $\pi^{\sigma^t}_i(h)$, the probability that player $i$'s own actions lead to $h$
        * `pi_neg_i` is $\pi^{\sigma^t}_{-i}(h)$, the probability of the others' and chance's actions

        Returns $v_i(\sigma^t, h)$ and, at player $i$'s information sets, accumulates the
        counterfactual regrets and the weighted strategy.
        """
        if h.is_terminal():
            return h.terminal_utility(i)
        # Chance: the expectation over its outcomes, which are part of $\pi_{-i}$
        if h.is_chance():
            return sum(p * self.walk_tree(h + a, i, pi_i, pi_neg_i * p) for a, p in h.chance_outcomes())

        info_set = self.info_set(h)
        sigma = info_set.strategy
        # $v_i(\sigma^t, ha)$ for each action
        v_a: Dict[str, float] = {}
        for a in info_set.actions:
            if h.current_player() == i:
                v_a[a] = self.walk_tree(h + a, i, pi_i * sigma[a], pi_neg_i)
            else:
                v_a[a] = self.walk_tree(h + a, i, pi_i, pi_neg_i * sigma[a])
        # $v_i(\sigma^t, h) = \sum_a \sigma^t(I)(a) \, v_i(\sigma^t, ha)$
        v = sum(sigma[a] * v_a[a] for a in info_set.actions)
        if h.current_player() == i:
            for a in info_set.actions:
                # $R(I, a) \mathrel{+}= \pi_{-i}(h) (v_i(\sigma^t, ha) - v_i(\sigma^t, h))$
                info_set.regret[a] += pi_neg_i * (v_a[a] - v)
                # the numerator of $\bar{\sigma}$: $\pi_i(h) \sigma^t(I)(a)$
                info_set.cumulative_strategy[a] += pi_i * sigma[a]
        return v

    def iterate(self, iterations: int):
        r"""
        Run `iterations` iterations: walk the tree for each player with the fixed $\sigma^t$,
        then compute $\sigma^{t+1}$ by regret matching in every information set
        """
        for _ in range(iterations):
            for i in (0, 1):
                self.walk_tree(self.root, i, 1., 1.)
            for info_set in self.info_sets.values():
                info_set.update_strategy()

    def average_strategy(self) -> Dict[str, Dict[str, float]]:
        r"""$\bar{\sigma}^T$ of every information set"""
        return {k: s.average_strategy() for k, s in self.info_sets.items()}


Strategy = Dict[str, Dict[str, float]]


def expected_utility(h: History, strategy: Strategy, player: int) -> float:
    """The expected utility of `player` from `h` on when both players follow `strategy`"""
    if h.is_terminal():
        return h.terminal_utility(player)
    if h.is_chance():
        return sum(p * expected_utility(h + a, strategy, player) for a, p in h.chance_outcomes())
    sigma = strategy[h.info_set_key()]
    return sum(sigma[a] * expected_utility(h + a, strategy, player) for a in h.actions())


def info_sets_of(h: History, player: int, found: Optional[Dict[str, List[str]]] = None) -> Dict[str, List[str]]:
    """All information sets of `player` below `h`, with their actions"""
    found = {} if found is None else found
    if h.is_terminal():
        return found
    if h.is_chance():
        children = [a for a, _ in h.chance_outcomes()]
    else:
        if h.current_player() == player:
            found[h.info_set_key()] = h.actions()
        children = h.actions()
    for a in children:
        info_sets_of(h + a, player, found)
    return found


def best_response_value(root: History, strategy: Strategy, player: int) -> float:
    r"""
    ### Best response value $b_i$

    The largest expected utility of `player` against the other player's `strategy`, found by
    trying every pure strategy of `player` (exact; fine for small games such as Kuhn poker).
    """
    own = info_sets_of(root, player)
    keys = sorted(own)
    best = float('-inf')
    for choice in itertools.product(*(own[k] for k in keys)):
        # A pure strategy: one action with probability one in each information set
        pure = {k: {a: float(a == c) for a in own[k]} for k, c in zip(keys, choice)}
        best = max(best, expected_utility(root, {**strategy, **pure}, player))
    return best


def exploitability(root: History, strategy: Strategy) -> float:
    r"""$\varepsilon = (b_1 + b_2) / 2$"""
    return (best_response_value(root, strategy, 0) + best_response_value(root, strategy, 1)) / 2
