"""The named LSTM variants: the vanilla one is torch's LSTM, the coupled one is smaller, the
peepholes learn, Cho et al.'s GRU follows the paper's formula (and differs from torch's), and
the parameter counts and equal-budget sizes are right."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, UnknownNameError
from classicnets.layers.lstm_variants import (
    VARIANTS,
    VariantLSTM,
    hidden_for_budget,
    recurrent_parameters,
)

F_IN, H = 5, 7


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("fused", [False, True])
def test_vanilla_variant_is_torch_lstm_with_copied_weights(fused):
    torch.manual_seed(0)
    theirs = nn.LSTM(F_IN, H, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = VariantLSTM(F_IN, H, "lstm", 2, True, fused=fused).double()
    ours.rnn.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 6, F_IN, dtype=torch.float64)
    out, (h, c) = ours(x)
    ref, (h_ref, c_ref) = theirs(x)
    for a, b in ((out, ref), (h, h_ref), (c, c_ref)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_gru_variant_is_torch_gru():
    torch.manual_seed(0)
    theirs = nn.GRU(F_IN, H, batch_first=True).double()
    ours = VariantLSTM(F_IN, H, "gru", fused=False).double()
    ours.rnn.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 5, F_IN, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True), (3, False)])
def test_parameter_counts_follow_the_shapes(layers, bidirectional):
    for variant in VARIANTS:
        module = VariantLSTM(F_IN, H, variant, layers, bidirectional)
        counted = recurrent_parameters(variant, F_IN, H, layers, bidirectional)
        assert _params(module) == counted, variant
    vanilla = _params(VariantLSTM(F_IN, H, "lstm", layers, bidirectional))
    coupled = _params(VariantLSTM(F_IN, H, "lstm_coupled", layers, bidirectional))
    no_forget = _params(VariantLSTM(F_IN, H, "lstm_nofg", layers, bidirectional))
    assert coupled == no_forget == vanilla * 3 // 4 < vanilla  # one gate of four fewer
    peephole = _params(VariantLSTM(F_IN, H, "lstm_peephole", layers, bidirectional))
    assert peephole - vanilla == 3 * H * layers * (2 if bidirectional else 1)


def test_peephole_weights_receive_gradients():
    torch.manual_seed(0)
    layer = VariantLSTM(F_IN, H, "lstm_peephole", 2, True)
    layer(torch.randn(2, 4, F_IN))[0].square().sum().backward()
    peepholes = {n: p for n, p in layer.named_parameters() if ".weight_c" in n}
    assert len(peepholes) == 3 * 2 * 2  # i, f, o per layer and direction
    for name, p in peepholes.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_no_forget_gate_and_coupled_run_and_differ_from_the_lstm():
    torch.manual_seed(0)
    x = torch.randn(2, 5, F_IN)
    outs = {v: VariantLSTM(F_IN, H, v)(x)[0] for v in ("lstm_nofg", "lstm_coupled")}
    assert all(o.shape == (2, 5, H) and torch.isfinite(o).all() for o in outs.values())
    # Same three-gate weights, different cell update: c + i*g versus (1 - i)*c + i*g.
    coupled = VariantLSTM(F_IN, H, "lstm_coupled")
    no_forget = VariantLSTM(F_IN, H, "lstm_nofg")
    no_forget.load_state_dict(coupled.state_dict())
    assert not torch.allclose(coupled(x)[0], no_forget(x)[0])


def test_cho_gru_applies_the_reset_before_the_product():
    """One step by hand, h' = z*h + (1 - z)*tanh(W_n x + b_in + U_n (r*h) + b_hn), against the
    module; torch's GRU, r*(U_n h + b_hn), gives another number with the same weights."""
    torch.manual_seed(0)
    cho = VariantLSTM(F_IN, H, "gru_cho").double()
    torch_gru = nn.GRU(F_IN, H, batch_first=True).double()
    torch_gru.load_state_dict(cho.rnn.state_dict())
    x = torch.randn(1, 1, F_IN, dtype=torch.float64)
    h0 = torch.randn(1, 1, H, dtype=torch.float64)
    w_ih, w_hh = cho.rnn.weight_ih_l0, cho.rnn.weight_hh_l0
    b_ih, b_hh = cho.rnn.bias_ih_l0, cho.rnn.bias_hh_l0
    xv, hv = x[0, 0], h0[0, 0]
    rows = [slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)]
    gate = [w_ih[s] @ xv + b_ih[s] for s in rows]
    r = torch.sigmoid(gate[0] + w_hh[rows[0]] @ hv + b_hh[rows[0]])
    z = torch.sigmoid(gate[1] + w_hh[rows[1]] @ hv + b_hh[rows[1]])
    paper = torch.tanh(gate[2] + w_hh[rows[2]] @ (r * hv) + b_hh[rows[2]])
    after = torch.tanh(gate[2] + r * (w_hh[rows[2]] @ hv + b_hh[rows[2]]))
    out_cho, _ = cho(x, h0)
    out_torch, _ = torch_gru(x, h0)
    torch.testing.assert_close(out_cho[0, 0], z * hv + (1 - z) * paper, atol=1e-12, rtol=0)
    torch.testing.assert_close(out_torch[0, 0], z * hv + (1 - z) * after, atol=1e-12, rtol=0)
    assert (out_cho - out_torch).abs().max() > 1e-3


def test_equal_budget_gives_three_gate_cells_a_wider_state():
    budget = recurrent_parameters("lstm", 65, 256, 2)
    assert hidden_for_budget("lstm", 65, budget, 2) == 256
    wider = hidden_for_budget("lstm_coupled", 65, budget, 2)
    assert wider > 256
    for variant in VARIANTS:
        h = hidden_for_budget(variant, 65, budget, 2)
        gap = abs(recurrent_parameters(variant, 65, h, 2) - budget)
        for other in (h - 1, h + 1):  # no neighbouring size comes closer
            assert gap <= abs(recurrent_parameters(variant, 65, other, 2) - budget), variant
    assert hidden_for_budget("gru", 10, 1) == 1


def test_bad_names_and_options():
    with pytest.raises(UnknownNameError, match="recurrent cell"):
        VariantLSTM(F_IN, H, "lstm_forgetful")
    with pytest.raises(ClassicnetsError, match="no fused PyTorch kernel"):
        VariantLSTM(F_IN, H, "lstm_peephole", fused=True)
    with pytest.raises(ClassicnetsError, match="initial state or lengths"):
        layer = VariantLSTM(F_IN, H, "lstm", bidirectional=True)
        layer(torch.randn(1, 2, F_IN), torch.zeros(2, 1, H), lengths=torch.tensor([2]))
    with pytest.raises(ClassicnetsError, match="budget"):
        hidden_for_budget("lstm", 10, 0)
    assert VariantLSTM(F_IN, H, "lstm").rnn.fused and not VariantLSTM(F_IN, H, "gru_cho").rnn.fused
    assert "variant=gru_cho" in repr(VariantLSTM(F_IN, H, "gru_cho"))
