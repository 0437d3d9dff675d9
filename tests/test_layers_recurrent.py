"""RNN, LSTM and GRU, written one time step at a time, against torch.nn.RNN/LSTM/GRU: outputs, final
states and gradients after loading torch's state_dict; the fused path; the LSTM and GRU variants
against reference equations written out here; and the errors a user can cause."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.layers import GRU, LSTM, RNN

TOL = {"atol": 1e-5, "rtol": 1e-5}
T, B, F_IN, H = 4, 3, 3, 5

# name -> (ours, torch's, extra constructor arguments)
KINDS = {
    "rnn_tanh": (RNN, nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNN, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (LSTM, nn.LSTM, {}),
    "gru": (GRU, nn.GRU, {}),
}


def _pair(kind: str, seed: int = 0, **kwargs):
    ours_cls, torch_cls, extra = KINDS[kind]
    torch.manual_seed(seed)
    theirs = torch_cls(F_IN, H, **extra, **kwargs)
    ours = ours_cls(F_IN, H, **extra, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _run(module, x, hx, upstream):
    """Outputs, final states and gradients (inputs, initial states, parameters) of one module."""
    x = x.detach().clone().requires_grad_(True)
    if hx is not None:
        hx = tuple(h.detach().clone().requires_grad_(True) for h in hx)
    out, state = module(x, None if hx is None else (hx if len(hx) == 2 else hx[0]))
    states = state if isinstance(state, tuple) else (state,)
    loss = sum((t * u).sum() for t, u in zip((out, *states), upstream, strict=True))
    loss.backward()
    grads = [x.grad] + ([h.grad for h in hx] if hx is not None else [])
    grads += [p.grad for _, p in sorted(module.named_parameters())]
    return [out.detach(), *(s.detach() for s in states)], grads


def _assert_same(ours, theirs, x, hx=None, seed=0):
    with torch.no_grad():
        ref_out, ref_state = theirs(x, None if hx is None else (hx if len(hx) == 2 else hx[0]))
    states = ref_state if isinstance(ref_state, tuple) else (ref_state,)
    shapes = [ref_out.shape] + [s.shape for s in states]
    gen = torch.Generator().manual_seed(seed)
    upstream = [torch.randn(s, generator=gen) for s in shapes]
    values_ours, grads_ours = _run(ours, x, hx, upstream)
    values_theirs, grads_theirs = _run(theirs, x, hx, upstream)
    for a, b in zip(values_ours, values_theirs, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **TOL)
    for a, b in zip(grads_ours, grads_theirs, strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    "num_layers, bidirectional, batch_first, bias, with_state",
    list(itertools.product([1, 2], [False, True], [False, True], [True, False], [False, True])),
)
def test_matches_torch(kind, num_layers, bidirectional, batch_first, bias, with_state):
    ours, theirs = _pair(
        kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias
    )
    x = torch.randn((B, T, F_IN) if batch_first else (T, B, F_IN))
    hx = None
    if with_state:
        shape = (num_layers * (2 if bidirectional else 1), B, H)
        hx = tuple(torch.randn(shape) for _ in range(2 if kind == "lstm" else 1))
    _assert_same(ours, theirs, x, hx)


@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_input_matches_torch(kind):
    ours, theirs = _pair(kind, num_layers=2, bidirectional=True)
    x = torch.randn(T, F_IN)
    hx = tuple(torch.randn(4, H) for _ in range(2 if kind == "lstm" else 1))
    _assert_same(ours, theirs, x, hx)


@pytest.mark.parametrize("kind", list(KINDS))
def test_state_dict_keys_and_shapes_match_torch(kind):
    ours, theirs = _pair(kind, num_layers=2, bidirectional=True)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert all(ours_sd[k].shape == theirs_sd[k].shape for k in ours_sd)
    theirs.load_state_dict(ours_sd)  # and back again


@pytest.mark.parametrize("kind", list(KINDS))
def test_fused_and_scratch_agree(kind):
    ours_cls, _, extra = KINDS[kind]
    kwargs = {"num_layers": 2, "bidirectional": True, "batch_first": True, **extra}
    scratch = ours_cls(F_IN, H, **kwargs)
    fused = ours_cls(F_IN, H, fused=True, **kwargs)
    fused.load_state_dict(scratch.state_dict())
    assert list(fused.state_dict()) == list(scratch.state_dict())
    _assert_same(scratch, fused, torch.randn(B, T, F_IN))


@pytest.mark.parametrize("kind", list(KINDS))
def test_dropout_between_layers(kind):
    ours, theirs = _pair(kind, num_layers=2, dropout=0.5)
    x = torch.randn(T, B, F_IN)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], **TOL)  # no dropout in eval mode
    ours.train()
    assert not torch.allclose(ours(x)[0], theirs(x)[0])
    with pytest.warns(UserWarning, match="num_layers=1"):
        KINDS[kind][0](F_IN, H, dropout=0.5)


# Reference equations for the variants torch lacks, written out gate by gate.


def _reference_lstm(lstm: LSTM, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer, one direction, (T, B, F) input; returns outputs and the final cell state."""
    w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    b_ih, b_hh = lstm.bias_ih_l0, lstm.bias_hh_l0
    h = c = torch.zeros(x.shape[1], lstm.hidden_size)
    names = "ifgo" if lstm.forget_gate and not lstm.coupled else "igo"
    rows = dict(zip(names, range(0, len(names) * H, H), strict=True))

    def pre(gate, x_t, h):
        r = slice(rows[gate], rows[gate] + H)
        return x_t @ w_ih[r].T + b_ih[r] + h @ w_hh[r].T + b_hh[r]

    def peep(gate):
        return getattr(lstm, f"weight_c{gate}_l0", None) if lstm.peephole else None

    outputs = []
    for x_t in x:
        zi = pre("i", x_t, h) + (peep("i") * c if peep("i") is not None else 0)
        i = torch.sigmoid(zi)
        if lstm.coupled:
            f = 1 - i
        elif not lstm.forget_gate:
            f = torch.ones_like(i)
        else:
            f = torch.sigmoid(pre("f", x_t, h) + (peep("f") * c if peep("f") is not None else 0))
        g = torch.tanh(pre("g", x_t, h))
        c = f * c + i * g
        o = torch.sigmoid(pre("o", x_t, h) + (peep("o") * c if peep("o") is not None else 0))
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs), c


@pytest.mark.parametrize(
    "options",
    [
        {"forget_gate": False},
        {"coupled": True},
        {"peephole": True},
        {"peephole": True, "coupled": True},
        {"peephole": True, "forget_gate": False},
    ],
)
def test_lstm_variants_follow_their_equations(options):
    torch.manual_seed(1)
    lstm = LSTM(F_IN, H, **options)
    x = torch.randn(T, B, F_IN)
    out, (h_n, c_n) = lstm(x)
    ref_out, ref_c = _reference_lstm(lstm, x)
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(h_n[0], ref_out[-1], **TOL)
    torch.testing.assert_close(c_n[0], ref_c, **TOL)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in lstm.parameters())


def test_lstm_variant_parameters():
    gates = {
        (): 4,
        (("forget_gate", False),): 3,
        (("coupled", True),): 3,
    }
    for options, count in gates.items():
        assert LSTM(F_IN, H, **dict(options)).weight_hh_l0.shape == (count * H, H)
    peephole = LSTM(F_IN, H, num_layers=2, bidirectional=True, peephole=True)
    names = {n for n, _ in peephole.named_parameters() if n.startswith("weight_c")}
    assert names == {
        f"weight_c{g}_l{k}{s}" for g in "ifo" for k in (0, 1) for s in ("", "_reverse")
    }
    assert peephole.weight_cf_l1_reverse.shape == (H,)
    coupled = LSTM(F_IN, H, peephole=True, coupled=True)
    assert not hasattr(coupled, "weight_cf_l0")


def test_peephole_with_zero_weights_is_the_plain_lstm():
    plain, theirs = _pair("lstm", num_layers=2, bidirectional=True)
    peephole = LSTM(F_IN, H, num_layers=2, bidirectional=True, peephole=True)
    peephole.load_state_dict(theirs.state_dict(), strict=False)
    with torch.no_grad():
        for name, p in peephole.named_parameters():
            if name.startswith("weight_c"):
                p.zero_()
    x = torch.randn(T, B, F_IN)
    torch.testing.assert_close(peephole(x)[0], theirs(x)[0], **TOL)


def test_gru_reset_before_follows_cho_et_al():
    torch.manual_seed(2)
    gru = GRU(F_IN, H, reset_after=False)
    x = torch.randn(T, B, F_IN)
    w_ir, w_iz, w_in = gru.weight_ih_l0.chunk(3)
    w_hr, w_hz, w_hn = gru.weight_hh_l0.chunk(3)
    b_ir, b_iz, b_in = gru.bias_ih_l0.chunk(3)
    b_hr, b_hz, b_hn = gru.bias_hh_l0.chunk(3)
    h = torch.zeros(B, H)
    for x_t in x:
        r = torch.sigmoid(x_t @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
        z = torch.sigmoid(x_t @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
        candidate = torch.tanh(x_t @ w_in.T + b_in + (r * h) @ w_hn.T + b_hn)
        h = z * h + (1 - z) * candidate
    out, h_n = gru(x)
    torch.testing.assert_close(out[-1], h, **TOL)
    torch.testing.assert_close(h_n[0], h, **TOL)
    after = GRU(F_IN, H)
    after.load_state_dict(gru.state_dict())
    assert not torch.allclose(after(x)[0], out)  # the two forms really differ


def test_custom_initial_state_changes_the_output():
    lstm = LSTM(F_IN, H)
    x = torch.randn(T, B, F_IN)
    zeros = (torch.zeros(1, B, H), torch.zeros(1, B, H))
    torch.testing.assert_close(lstm(x)[0], lstm(x, zeros)[0])
    assert not torch.allclose(lstm(x)[0], lstm(x, (torch.ones(1, B, H), zeros[1]))[0])


def test_repr_names_the_options():
    assert repr(LSTM(3, 4, 2, peephole=True)) == "LSTM(3, 4, num_layers=2, peephole=True)"
    assert "reset_after=False" in repr(GRU(3, 4, reset_after=False))


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: LSTM(3, 4, peephole=True, fused=True), ClassicnetsError, "no peephole"),
        (lambda: LSTM(3, 4, coupled=True, fused=True), ClassicnetsError, "no coupled"),
        (lambda: LSTM(3, 4, coupled=True, forget_gate=False), ClassicnetsError, "forget_gate"),
        (lambda: GRU(3, 4, reset_after=False, fused=True), ClassicnetsError, "reset_after"),
        (lambda: RNN(3, 4, nonlinearity="sigmoid"), ClassicnetsError, "sigmoid"),
        (lambda: GRU(3, 0), ClassicnetsError, "hidden_size must be a positive integer, got 0"),
        (lambda: RNN(3, 4, num_layers=0), ClassicnetsError, "num_layers"),
        (lambda: LSTM(3, 4, 2, dropout=1.5), ClassicnetsError, "dropout"),
    ],
)
def test_bad_constructor_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("fused", [False, True])
def test_bad_inputs_say_what_was_expected(fused):
    lstm = LSTM(3, 4, num_layers=2, fused=fused)
    with pytest.raises(ShapeError, match=r"expects 3 input features .* got 5 \(input shape"):
        lstm(torch.randn(6, 2, 5))
    with pytest.raises(ShapeError, match="got 4 dimensions"):
        lstm(torch.randn(1, 6, 2, 3))
    with pytest.raises(ShapeError, match=r"h0 of shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        lstm(torch.randn(6, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))
    with pytest.raises(ClassicnetsError, match=r"tuple \(h0, c0\)"):
        lstm(torch.randn(6, 2, 3), torch.zeros(2, 2, 4))
    with pytest.raises(ClassicnetsError, match="floating-point input"):
        lstm(torch.zeros(6, 2, 3, dtype=torch.long))
    with pytest.raises(ShapeError, match="empty input"):
        lstm(torch.randn(0, 2, 3))
