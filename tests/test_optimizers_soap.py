"""
SOAP against a transcription of the official `SOAP.step` (nikhilvyas/SOAP, soap.py) for matrices and
vectors, without merged dimensions, preconditioned vectors or normalised gradients; mutants of the
rotation, the basis refresh, the bias correction and the weight decay must fail the comparison;
state dictionaries resume bit-identically; bad hyper-parameters are refused.
"""

from itertools import chain

import pytest
import torch

from labml_nn.optimizers.soap import SOAP, rotate

from optim_helpers import groups, max_diff, round_trip_is_bit_identical, train


class OfficialSOAP:
    """The official algorithm, transcribed as plain functions over a per-parameter state"""

    def __init__(self, param_groups, lr=3e-3, betas=(0.95, 0.95), shampoo_beta=-1, eps=1e-8, weight_decay=0.01,
                 precondition_frequency=10, max_precond_dim=10000, correct_bias=True):
        d = dict(lr=lr, betas=betas, shampoo_beta=shampoo_beta, eps=eps, weight_decay=weight_decay,
                 precondition_frequency=precondition_frequency, max_precond_dim=max_precond_dim,
                 correct_bias=correct_bias)
        self.groups = [dict(d, **g) for g in param_groups]
        self.state = {}

    def zero_grad(self):
        for g in self.groups:
            for p in g['params']:
                p.grad = None

    @staticmethod
    def project(grad, state):
        for mat in state['Q']:
            if len(mat) > 0:
                grad = torch.tensordot(grad, mat, dims=[[0], [0]])
            else:
                grad = grad.permute(list(range(1, len(grad.shape))) + [0])
        return grad

    @staticmethod
    def project_back(grad, state):
        for mat in state['Q']:
            if len(mat) > 0:
                grad = torch.tensordot(grad, mat, dims=[[0], [1]])
            else:
                grad = grad.permute(list(range(1, len(grad.shape))) + [0])
        return grad

    @staticmethod
    def get_orthogonal_matrix(mats):
        final = []
        for m in mats:
            if len(m) == 0:
                final.append([])
                continue
            float_data = m.dtype == torch.float
            md = m.float()
            _, Q = torch.linalg.eigh(md + 1e-30 * torch.eye(md.shape[0], device=md.device))
            Q = torch.flip(Q, [1])
            if not float_data:
                Q = Q.type(m.dtype)
            final.append(Q)
        return final

    @staticmethod
    def get_orthogonal_matrix_QR(state):
        exp_avg_sq = state['exp_avg_sq']
        final = []
        for ind, (m, o) in enumerate(zip(state['GG'], state['Q'])):
            if len(m) == 0:
                final.append([])
                continue
            float_data = m.dtype == torch.float
            m32, o32 = m.float(), o.float()
            est_eig = torch.diag(o32.T @ m32 @ o32)
            sort_idx = torch.argsort(est_eig, descending=True)
            exp_avg_sq = exp_avg_sq.index_select(ind, sort_idx)
            o32 = o32[:, sort_idx]
            Q, _ = torch.linalg.qr(m32 @ o32)
            if not float_data:
                Q = Q.type(m.dtype)
            final.append(Q)
        state['exp_avg_sq'] = exp_avg_sq
        return final

    def update_preconditioner(self, grad, state, max_precond_dim):
        if state['Q'] is not None:
            state['exp_avg'] = self.project_back(state['exp_avg'], state)
        if grad.dim() > 1:
            for idx, sh in enumerate(grad.shape):
                if sh <= max_precond_dim:
                    outer = torch.tensordot(grad, grad, dims=[[*chain(range(idx), range(idx + 1, len(grad.shape)))]] * 2)
                    state['GG'][idx].lerp_(outer, 1 - state['shampoo_beta'])
        if state['Q'] is None:
            state['Q'] = self.get_orthogonal_matrix(state['GG'])
        if state['step'] > 0 and state['step'] % state['precondition_frequency'] == 0:
            state['Q'] = self.get_orthogonal_matrix_QR(state)
        if state['step'] > 0:
            state['exp_avg'] = self.project(state['exp_avg'], state)

    @torch.no_grad()
    def step(self):
        for group in self.groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state.setdefault(p, {})
                if 'step' not in state:
                    state['step'] = 0
                if 'exp_avg' not in state:
                    state['exp_avg'] = torch.zeros_like(grad)
                    state['exp_avg_sq'] = torch.zeros_like(grad)
                if 'Q' not in state:
                    state['GG'] = []
                    if grad.dim() == 1:
                        state['GG'].append([])
                    else:
                        for sh in grad.shape:
                            state['GG'].append([] if sh > group['max_precond_dim'] else
                                               torch.zeros(sh, sh, dtype=grad.dtype, device=grad.device))
                    state['Q'] = None
                    state['precondition_frequency'] = group['precondition_frequency']
                    state['shampoo_beta'] = group['shampoo_beta'] if group['shampoo_beta'] >= 0 else group['betas'][1]
                    self.update_preconditioner(grad, state, group['max_precond_dim'])
                    continue
                grad_projected = self.project(grad, state)
                exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                beta1, beta2 = group['betas']
                state['step'] += 1
                exp_avg.mul_(beta1).add_(grad_projected, alpha=(1.0 - beta1))
                exp_avg_sq.mul_(beta2).add_(grad_projected.square(), alpha=(1.0 - beta2))
                denom = exp_avg_sq.sqrt().add_(group['eps'])
                step_size = group['lr']
                if group['correct_bias']:
                    step_size = step_size * ((1.0 - beta2 ** state['step']) ** .5) / (1.0 - beta1 ** state['step'])
                norm_grad = self.project_back(exp_avg / denom, state)
                p.add_(norm_grad, alpha=-step_size)
                if group['weight_decay'] > 0.0:
                    p.add_(p, alpha=(-group['lr'] * group['weight_decay']))
                self.update_preconditioner(grad, state, group['max_precond_dim'])


KW = dict(lr=3e-3, betas=(0.9, 0.95), precondition_frequency=5)


@pytest.mark.parametrize('foreach', [False, True])
@pytest.mark.parametrize('max_dim', [10000, 10])
@pytest.mark.parametrize('wd', [0., 0.05])
def test_matches_official(wd, max_dim, foreach):
    a, opt, _ = train(lambda m: SOAP(groups(m, wd, KW['lr']), weight_decay=wd, max_precond_dim=max_dim,
                                     foreach=foreach, **KW), n_steps=60)
    b, _, _ = train(lambda m: OfficialSOAP(groups(m, wd, KW['lr']), weight_decay=wd, max_precond_dim=max_dim, **KW),
                    n_steps=60)
    assert max_diff(a, b) <= 1e-6
    if wd > 0:
        c, _, _ = train(lambda m: OfficialSOAP(groups(m, 0., KW['lr']), weight_decay=0., max_precond_dim=max_dim,
                                               **KW), n_steps=60)
        assert max_diff(b, c) > 1e-4
    # With max_precond_dim = 10 the 12-wide dimensions are not rotated, the 8- and 4-wide ones are
    w0 = next(p for p in opt.state if p.dim() == 2 and p.shape == (12, 8))
    assert [q is None for q in opt.state[w0]['Q']] == ([False, False] if max_dim > 12 else [True, False])


class NoRotation(SOAP):
    """Plain Adam (after the skipped first step): no dimension gets a basis"""
    def init_state(self, state, group, param):
        super().init_state(state, group, param)
        state['GG'] = [None for _ in state['GG']]


class NoRefresh(SOAP):
    @staticmethod
    def refresh_basis(state):
        return state['Q']


class NoBiasCorrection(SOAP):
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, correct_bias=False), grad, param)


class NoDecay(SOAP):
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, weight_decay=0.), grad, param)


@pytest.mark.parametrize('mutant', [NoRotation, NoRefresh, NoBiasCorrection, NoDecay])
def test_comparison_detects_mutants(mutant):
    # The mutants change the per-tensor path
    a, _, _ = train(lambda m: mutant(groups(m, 0.05, KW['lr']), weight_decay=0.05, foreach=False, **KW), n_steps=60)
    b, _, _ = train(lambda m: OfficialSOAP(groups(m, 0.05, KW['lr']), weight_decay=0.05, **KW), n_steps=60)
    assert max_diff(a, b) > 1e-4


def test_rotation_round_trip():
    x = torch.randn(5, 3, dtype=torch.float64)
    ql = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))[0]
    qr = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))[0]
    assert torch.allclose(rotate(x, [ql, qr]), ql.T @ x @ qr)
    assert torch.allclose(rotate(rotate(x, [ql, None]), [ql, None], back=True), x)


def test_first_step_does_not_move_the_weights():
    p = torch.nn.Parameter(torch.randn(4, 3))
    p.grad = torch.randn(4, 3)
    before = p.detach().clone()
    SOAP([p]).step()
    assert torch.equal(p.detach(), before)


def test_state_dict_round_trip():
    assert round_trip_is_bit_identical(lambda m: SOAP(groups(m, 0.05, 3e-3), precondition_frequency=2))


@pytest.mark.parametrize('kwargs,name', [(dict(lr=-1.), 'lr'), (dict(shampoo_beta=1.), 'shampoo_beta'),
                                         (dict(precondition_frequency=0), 'precondition_frequency'),
                                         (dict(max_precond_dim=1.5), 'max_precond_dim'),
                                         (dict(weight_decay=-1.), 'weight_decay')])
def test_bad_hyper_parameters(kwargs, name):
    with pytest.raises(ValueError, match=f'`{name}`'):
        SOAP([torch.nn.Parameter(torch.zeros(2, 2))], **kwargs)
