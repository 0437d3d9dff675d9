"""Attention and the Transformer's layers against PyTorch's (F.scaled_dot_product_attention,
nn.MultiheadAttention, nn.TransformerEncoderLayer/DecoderLayer with copied weights), the
positional encoding's values at known positions, causality, and the errors a user can cause."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from classicnets.errors import ClassicnetsError, ShapeError, UnknownNameError
from classicnets.layers import (
    MultiHeadAttention,
    PositionalEncoding,
    PositionwiseFFN,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)

TOL = {"atol": 1e-5, "rtol": 1e-5}
B, HEADS, D = 2, 4, 16


def _qkv(lq=5, lk=6, d_k=8, d_v=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, 3, lq, d_k, generator=gen),
        torch.randn(B, 3, lk, d_k, generator=gen),
        torch.randn(B, 3, lk, d_v, generator=gen),
    )


def _bool_mask(lq, lk, seed=1):
    mask = torch.rand(B, 1, lq, lk, generator=torch.Generator().manual_seed(seed)) > 0.4
    mask[..., 0] = True  # every query sees at least one key
    return mask


@pytest.mark.parametrize("lq, lk", [(5, 5), (4, 6), (6, 4)])
@pytest.mark.parametrize("masking", ["none", "causal", "bool", "additive", "bool+causal"])
def test_attention_matches_torch(lq, lk, masking):
    q, k, v = _qkv(lq, lk)
    mask, is_causal = None, "causal" in masking
    if masking.startswith("bool"):
        mask = _bool_mask(lq, lk)
    elif masking == "additive":
        mask = torch.randn(lq, lk)
    leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]
    ours = scaled_dot_product_attention(*leaves, mask, is_causal=is_causal)
    if masking == "bool+causal":  # torch takes one or the other: combine them for it
        mask, is_causal = mask & causal_mask(lq, lk), False
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
    torch.testing.assert_close(ours, theirs, **TOL)
    ref_leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]
    F.scaled_dot_product_attention(
        *ref_leaves, attn_mask=mask, is_causal=is_causal
    ).sum().backward()
    ours.sum().backward()
    for a, b in zip(leaves, ref_leaves, strict=True):
        torch.testing.assert_close(a.grad, b.grad, **TOL)


def test_attention_weights_rows_sum_to_one_and_blocked_rows_are_zero():
    q, k, v = _qkv(3, 3)
    mask = torch.ones(3, 3, dtype=torch.bool)
    mask[1] = False  # query 1 may see nothing
    out, weights = scaled_dot_product_attention(q, k, v, mask, return_weights=True)
    assert weights.shape == (B, 3, 3, 3)
    torch.testing.assert_close(weights[..., [0, 2], :].sum(-1), torch.ones(B, 3, 2))
    assert torch.all(weights[..., 1, :] == 0) and torch.all(out[..., 1, :] == 0)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, theirs, **TOL)


def test_attention_by_hand():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    w0 = 1 / (1 + math.exp(-1 / math.sqrt(2)))  # softmax of (1/√2, 0)
    out = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, torch.tensor([[10 * w0 + 20 * (1 - w0)]]))


def _torch_mha():
    torch.manual_seed(3)
    theirs = nn.MultiheadAttention(D, HEADS, batch_first=True)
    nn.init.normal_(theirs.in_proj_bias)  # non-zero biases so a slicing mistake shows
    ours = MultiHeadAttention(D, HEADS)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize("inputs", ["self", "cross", "separate"])
@pytest.mark.parametrize("masking", ["none", "causal", "bool"])
def test_multi_head_attention_matches_torch(inputs, masking):
    ours, theirs = _torch_mha()
    x, memory, values = torch.randn(B, 5, D), torch.randn(B, 5, D), torch.randn(B, 5, D)
    key, value = {"self": (x, x), "cross": (memory, memory), "separate": (memory, values)}[inputs]
    mask = _bool_mask(5, 5)[:, 0] if masking == "bool" else None  # (B, L_q, L_k)
    if masking == "causal":
        mask = causal_mask(5)
    args = (x,) if inputs == "self" else (x, key, value)
    out, weights = ours(*args, mask=mask, need_weights=True)
    torch_mask = None if mask is None else ~mask  # torch: True = blocked
    if torch_mask is not None and torch_mask.dim() == 3:
        torch_mask = torch_mask.repeat_interleave(HEADS, dim=0)  # torch wants (B * heads, L, S)
    ref, ref_weights = theirs(x, key, value, attn_mask=torch_mask, average_attn_weights=False)
    torch.testing.assert_close(out, ref, **TOL)
    torch.testing.assert_close(weights, ref_weights, **TOL)


def test_multi_head_attention_state_dict_is_torchs():
    ours, theirs = _torch_mha()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.in_proj_weight.shape == (3 * D, D)


def test_sinusoidal_positional_encoding_values():
    pe = sinusoidal_positional_encoding(50, 8)
    assert pe.shape == (50, 8)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 4))
    for pos, i in [(1, 0), (3, 2), (49, 3), (17, 1)]:
        angle = pos / 10000 ** (2 * i / 8)
        assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    odd = sinusoidal_positional_encoding(4, 5)
    assert odd.shape == (4, 5)
    assert odd[2, 4].item() == pytest.approx(math.sin(2 / 10000 ** (4 / 5)), abs=1e-6)


def test_positional_encoding_module():
    layer = PositionalEncoding(D, max_len=10)
    x = torch.randn(B, 7, D)
    torch.testing.assert_close(layer(x), x + sinusoidal_positional_encoding(7, D))
    assert len(layer.state_dict()) == 0  # fixed, rebuilt from the formula
    with pytest.raises(ShapeError, match="length 11 is longer than max_len=10"):
        layer(torch.randn(B, 11, D))


def _copy_from_torch(ours: nn.Module, theirs: nn.Module) -> None:
    names = {"linear1": "ffn.linear1", "linear2": "ffn.linear2", "multihead_attn": "cross_attn"}
    state = {}
    for key, value in theirs.state_dict().items():
        head, _, rest = key.partition(".")
        state[f"{names.get(head, head)}.{rest}"] = value
    ours.load_state_dict(state)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("is_causal", [False, True])
def test_encoder_layer_matches_torch(norm_first, is_causal):
    torch.manual_seed(4)
    kwargs = {"dim_feedforward": 32, "dropout": 0.0, "norm_first": norm_first}
    theirs = nn.TransformerEncoderLayer(D, HEADS, batch_first=True, **kwargs)
    ours = TransformerEncoderLayer(D, HEADS, d_ff=32, dropout=0.0, norm_first=norm_first)
    _copy_from_torch(ours, theirs)
    x = torch.randn(B, 6, D)
    mask = nn.Transformer.generate_square_subsequent_mask(6) if is_causal else None
    ref = theirs(x, src_mask=mask, is_causal=is_causal)
    torch.testing.assert_close(ours(x, is_causal=is_causal), ref, **TOL)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    torch.manual_seed(5)
    kwargs = {"dim_feedforward": 32, "dropout": 0.0, "norm_first": norm_first}
    theirs = nn.TransformerDecoderLayer(D, HEADS, batch_first=True, **kwargs)
    ours = TransformerDecoderLayer(D, HEADS, d_ff=32, dropout=0.0, norm_first=norm_first)
    _copy_from_torch(ours, theirs)
    x, memory = torch.randn(B, 6, D), torch.randn(B, 9, D)
    causal = nn.Transformer.generate_square_subsequent_mask(6)
    ref = theirs(x, memory, tgt_mask=causal, tgt_is_causal=True)
    torch.testing.assert_close(ours(x, memory), ref, **TOL)


@pytest.mark.parametrize("layer", ["encoder", "decoder"])
def test_causal_output_does_not_see_the_future(layer):
    torch.manual_seed(6)
    if layer == "encoder":
        block = TransformerEncoderLayer(D, HEADS, d_ff=32).eval()
        memory = None
    else:
        block = TransformerDecoderLayer(D, HEADS, d_ff=32).eval()
        memory = torch.randn(B, 4, D)

    def run(x):
        return block(x, is_causal=True) if memory is None else block(x, memory)

    x = torch.randn(B, 6, D)
    changed = x.clone()
    changed[:, 3:] = torch.randn(B, 3, D)
    torch.testing.assert_close(run(changed)[:, :3], run(x)[:, :3])
    assert not torch.allclose(run(changed)[:, 3:], run(x)[:, 3:])
    probe = torch.randn(D)  # not a plain sum: LayerNorm's outputs sum to a constant
    jacobian = torch.autograd.functional.jacobian(lambda y: run(y)[0, 2] @ probe, x)  # (B, 6, D)
    assert jacobian[0, 3:].abs().max() == 0 and jacobian[0, :3].abs().max() > 0


@pytest.mark.parametrize("norm_first", [False, True])
def test_layers_shapes_and_every_parameter_learns(norm_first):
    encoder = TransformerEncoderLayer(D, HEADS, d_ff=32, norm_first=norm_first)
    decoder = TransformerDecoderLayer(D, HEADS, d_ff=32, norm_first=norm_first)
    x, memory = torch.randn(B, 5, D), torch.randn(B, 7, D)
    encoded = encoder(memory)
    out = decoder(x, encoded)
    assert encoded.shape == (B, 7, D) and out.shape == (B, 5, D)
    out.sum().backward()
    for name, p in [*encoder.named_parameters(), *decoder.named_parameters()]:
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert PositionwiseFFN(D, 32, activation="gelu")(x).shape == x.shape


def test_bad_inputs_raise_one_clear_error():
    with pytest.raises(ClassicnetsError, match="d_model=10 must be a positive multiple of"):
        MultiHeadAttention(10, 3)
    mha = MultiHeadAttention(D, HEADS)
    with pytest.raises(ShapeError, match=rf"query of shape \(B, T, {D}\), got \(2, 5, 8\)"):
        mha(torch.randn(B, 5, 8))
    with pytest.raises(ShapeError, match="batch size 3 but the query has 2"):
        mha(torch.randn(B, 5, D), torch.randn(3, 5, D))
    with pytest.raises(ShapeError, match="4 keys but 5 values"):
        mha(torch.randn(B, 5, D), torch.randn(B, 4, D), torch.randn(B, 5, D))
    q, k, v = _qkv()
    with pytest.raises(ShapeError, match="does not broadcast"):
        scaled_dot_product_attention(q, k, v, torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ShapeError, match="queries have 8 features but keys have 3"):
        scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(ClassicnetsError, match="boolean or floating point"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 6, dtype=torch.long))
    with pytest.raises(UnknownNameError, match="Unknown activation 'swish'"):
        PositionwiseFFN(D, 32, activation="swish")
