"""
Tests of `labml_nn.cfr` on Kuhn poker: the rules (utilities), the average strategy's exploitability
and game value, known properties of the equilibrium, and a mutation that must stop convergence.
"""

import pytest

from labml_nn.cfr import CFR, best_response_value, expected_utility, exploitability, info_sets_of
from labml_nn.cfr.kuhn import KuhnHistory, solve

ITERATIONS = 3000


@pytest.fixture(scope='module')
def cfr():
    return solve(ITERATIONS)


def test_kuhn_rules():
    assert KuhnHistory('KJpp').terminal_utility(0) == 1
    assert KuhnHistory('JKbb').terminal_utility(0) == -2
    assert KuhnHistory('JKbb').terminal_utility(1) == 2
    assert KuhnHistory('JKbp').terminal_utility(0) == 1
    assert KuhnHistory('KJpbp').terminal_utility(0) == -1
    assert KuhnHistory('QKpbb').terminal_utility(0) == -2
    assert not KuhnHistory('KJpb').is_terminal()
    assert KuhnHistory('KJpb').current_player() == 0
    assert KuhnHistory('KJpb').info_set_key() == 'Kpb'
    assert KuhnHistory('KJp').info_set_key() == 'Jp'
    assert len(info_sets_of(KuhnHistory(), 0)) == 6 and len(info_sets_of(KuhnHistory(), 1)) == 6


def test_uniform_strategy_is_exploitable():
    uniform = {k: {'p': .5, 'b': .5} for p in (0, 1) for k in info_sets_of(KuhnHistory(), p)}
    assert exploitability(KuhnHistory(), uniform) > 0.2


def test_average_strategy_is_an_equilibrium(cfr):
    strategy = cfr.average_strategy()
    root = KuhnHistory()
    eps = exploitability(root, strategy)
    assert 0 <= eps < 0.01
    # the sum b_1 + b_2 (sometimes called NashConv) is below 0.01 too
    assert best_response_value(root, strategy, 0) + best_response_value(root, strategy, 1) < 0.01
    # the game value, -1/18, to three decimals
    assert expected_utility(root, strategy, 0) == pytest.approx(-1 / 18, abs=5e-4)


def test_equilibrium_properties(cfr):
    s = cfr.average_strategy()
    alpha = s['J']['b']
    # player 1 bluffs the Jack with alpha <= 1/3 and bets the King with 3 alpha
    assert alpha <= 1 / 3 + 0.02
    assert s['K']['b'] == pytest.approx(3 * alpha, abs=0.05)
    # player 1 checks the Queen; player 2 calls a bet with the King and folds the Jack
    assert s['Q']['p'] > 0.95
    assert s['Kb']['b'] > 0.95
    assert s['Jb']['p'] > 0.95
    # the current strategy is not what converges: the average is
    current = {k: info_set.strategy for k, info_set in cfr.info_sets.items()}
    assert exploitability(KuhnHistory(), current) > 0.05


def test_mutation_regret_weighted_by_own_reach_fails():
    """Weighting the regret by the player's own reach probability instead of the others' breaks CFR"""
    class Wrong(CFR):
        def walk_tree(self, h, i, pi_i, pi_neg_i):
            if not h.is_terminal() and not h.is_chance() and h.current_player() == i:
                return super().walk_tree(h, i, pi_neg_i, pi_i)
            return super().walk_tree(h, i, pi_i, pi_neg_i)

    wrong = Wrong(KuhnHistory())
    wrong.iterate(1000)
    strategy = wrong.average_strategy()
    eps = exploitability(KuhnHistory(), strategy)
    value = expected_utility(KuhnHistory(), strategy, 0)
    assert eps > 0.01 or abs(value + 1 / 18) > 5e-4
