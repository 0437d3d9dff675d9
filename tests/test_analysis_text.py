"""Pictures of text models: attention maps reproduce the Transformer's logits and its softmax
by hand; LSTM and GRU gates match a hand computation from PyTorch's own recurrent layers and
step back to the model's hidden states and logits; the errors a user can cause; the plots."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets import create_model
from classicnets.analysis.attention_maps import attention_maps, check_tokens, encode_prompt
from classicnets.analysis.gates import gru_gates, lstm_gates, recurrent_gates
from classicnets.data.text import Vocabulary
from classicnets.errors import ClassicnetsError
from classicnets.viz.text import active_units, plot_attention, plot_gates, visible_token

TOL = {"atol": 1e-5, "rtol": 1e-5}
TEXT = "the cat sat on\nthe mat. "
VOCAB = Vocabulary.from_text(TEXT)


def transformer(**kwargs) -> nn.Module:
    options = {"hidden": 16, "layers": 2, "heads": 2, "context": 16}
    return create_model("char_transformer", seed=0, vocab_size=len(VOCAB), **options | kwargs)


def recurrent(name: str, **kwargs) -> nn.Module:
    options = {"hidden": 8, "layers": 2, "embed_dim": 5}
    return create_model(name, seed=0, vocab_size=len(VOCAB), **options | kwargs)


def _ids(text: str = "the cat sat.") -> torch.Tensor:
    return encode_prompt(text, VOCAB)


# ------------------------------------------------------------------------- attention


def test_attention_rows_sum_to_one_and_the_future_is_unseen():
    model = transformer()
    maps = attention_maps(model, _ids())
    assert maps.shape == (2, 2, 12, 12)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 2, 12), **TOL)
    assert (maps.triu(diagonal=1) == 0).all()
    assert (maps[..., 0, 0] == 1).all()  # the first position can only look at itself
    seen = torch.ones(12, 12, dtype=torch.bool).tril()
    assert (maps[..., seen] > 0).all()  # a softmax never gives a visible position exactly 0


def test_attention_maps_are_the_softmax_and_rebuild_the_logits():
    """Recompute the model by hand with the maps in place of its attention: every head's
    weights must equal softmax(q kᵀ / sqrt(d)) masked causally, and weights @ V through the
    rest of the blocks must give the model's own logits."""
    model = transformer().eval()
    ids = _ids().unsqueeze(0)
    maps = attention_maps(model, ids)
    length, d = ids.shape[1], 16
    heads, head_dim = 2, 8
    future = torch.ones(length, length, dtype=torch.bool).triu(1)
    with torch.no_grad():
        x = model.embedding(ids) + model.positions.encoding[:length]  # (1, T, d)
        for index, block in enumerate(model.blocks):
            attn = block.self_attn
            q, k, v = F.linear(block.norm1(x), attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1)
            q, k, v = (t[0].view(length, heads, head_dim).transpose(0, 1) for t in (q, k, v))
            scores = (q @ k.transpose(-1, -2) / math.sqrt(head_dim)).masked_fill(future, -math.inf)
            torch.testing.assert_close(maps[index], scores.softmax(-1), **TOL)
            mixed = (maps[index] @ v).transpose(0, 1).reshape(1, length, d)  # from the maps
            x = x + attn.out_proj(mixed)
            x = x + block.ffn(block.norm2(x))
        logits = model.head(model.norm(x))
        expected, _ = model(ids)
    torch.testing.assert_close(logits, expected, **TOL)


def test_attention_runs_without_dropout_and_restores_training_mode():
    model = transformer(dropout=0.5).train()
    maps = attention_maps(model, _ids())
    assert model.training
    again = attention_maps(model.eval(), _ids())
    torch.testing.assert_close(maps, again, atol=0, rtol=0)


# ------------------------------------------------------------------------------ gates


def _reference_layers(rnn: nn.Module, kind: str) -> list[nn.Module]:
    """One PyTorch layer per layer of ``rnn``, holding that layer's weights."""
    layers = []
    for index in range(rnn.num_layers):
        size = rnn.input_size if index == 0 else rnn.hidden_size
        layer = (nn.LSTM if kind == "lstm" else nn.GRU)(size, rnn.hidden_size)
        layer.load_state_dict(
            {
                f"{name}_l0": getattr(rnn, f"{name}_l{index}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            }
        )
        layers.append(layer)
    return layers


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_gates_match_torch_and_step_back_to_the_logits(fused):
    model = recurrent("char_lstm", fused=fused).eval()
    ids = _ids().unsqueeze(0)
    gates = lstm_gates(model, ids)
    assert set(gates) == {"input", "forget", "output", "candidate", "cell", "hidden"}
    assert all(g.shape == (2, 12, 8) for g in gates.values())
    rnn, hidden = model.rnn, 8
    with torch.no_grad():
        x = model.embedding(ids)[0]  # (T, E)
        logits, (h_n, c_n) = model(ids)
        for index, reference in enumerate(_reference_layers(rnn, "lstm")):
            out, _ = reference(x)  # torch's own hidden states of this layer, (T, H)
            before = torch.cat([torch.zeros(1, hidden), out[:-1]])  # h_(t-1)
            pre = F.linear(x, reference.weight_ih_l0, reference.bias_ih_l0) + F.linear(
                before, reference.weight_hh_l0, reference.bias_hh_l0
            )
            i, f, g, o = pre.chunk(4, -1)  # torch packs i, f, g, o
            for key, value in (("input", i), ("forget", f), ("output", o)):
                torch.testing.assert_close(gates[key][index], value.sigmoid(), **TOL)
            torch.testing.assert_close(gates["candidate"][index], g.tanh(), **TOL)
            # The cell equations on the gates alone give back torch's states.
            c, hs, cs = torch.zeros(hidden), [], []
            for t in range(ids.shape[1]):
                c = (
                    gates["forget"][index, t] * c
                    + gates["input"][index, t] * gates["candidate"][index, t]
                )
                hs.append(gates["output"][index, t] * c.tanh())
                cs.append(c)
            torch.testing.assert_close(torch.stack(hs), out, **TOL)
            torch.testing.assert_close(torch.stack(cs), gates["cell"][index], **TOL)
            torch.testing.assert_close(gates["hidden"][index], out, **TOL)
            torch.testing.assert_close(cs[-1], c_n[index, 0], **TOL)
            torch.testing.assert_close(hs[-1], h_n[index, 0], **TOL)
            x = out
        torch.testing.assert_close(model.head(torch.stack(hs)), logits[0], **TOL)


def test_gru_gates_match_torch_and_step_back_to_the_logits():
    model = recurrent("char_gru").eval()
    ids = _ids()
    gates = recurrent_gates(model, ids)
    assert set(gates) == {"reset", "update", "candidate", "hidden"}
    torch.testing.assert_close(gru_gates(model, ids)["update"], gates["update"], atol=0, rtol=0)
    with torch.no_grad():
        x = model.embedding(ids)  # (T, E)
        logits, _ = model(ids.unsqueeze(0))
        for index, reference in enumerate(_reference_layers(model.rnn, "gru")):
            out, _ = reference(x)
            before = torch.cat([torch.zeros(1, 8), out[:-1]])
            x_r, x_z, x_n = F.linear(x, reference.weight_ih_l0, reference.bias_ih_l0).chunk(3, -1)
            h_r, h_z, h_n = F.linear(before, reference.weight_hh_l0, reference.bias_hh_l0).chunk(
                3, -1
            )
            r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
            torch.testing.assert_close(gates["reset"][index], r, **TOL)
            torch.testing.assert_close(gates["update"][index], z, **TOL)
            torch.testing.assert_close(gates["candidate"][index], (x_n + r * h_n).tanh(), **TOL)
            h, hs = torch.zeros(8), []
            for t in range(len(ids)):
                z_t = gates["update"][index, t]
                h = z_t * h + (1 - z_t) * gates["candidate"][index, t]
                hs.append(h)
            torch.testing.assert_close(torch.stack(hs), out, **TOL)
            x = out
        torch.testing.assert_close(model.head(x), logits[0], **TOL)


def test_gates_of_a_loaded_run_like_object_and_training_mode_kept():
    class Trainer:  # what cn.load returns: the network in .module
        module = recurrent("char_lstm", dropout=0.3).train()

    gates = lstm_gates(Trainer(), _ids())
    assert Trainer.module.training
    expected = lstm_gates(Trainer.module.eval(), _ids())
    torch.testing.assert_close(gates["hidden"], expected["hidden"], atol=0, rtol=0)


# ----------------------------------------------------------------------------- errors


def test_the_errors_a_user_can_cause():
    with pytest.raises(ClassicnetsError, match="gates instead"):
        attention_maps(recurrent("char_lstm"), _ids())
    with pytest.raises(ClassicnetsError, match="attention instead"):
        lstm_gates(transformer(), _ids())
    with pytest.raises(ClassicnetsError, match="only LSTM and GRU"):
        recurrent_gates(recurrent("char_rnn"), _ids())
    with pytest.raises(ClassicnetsError, match="use gru_gates"):
        lstm_gates(recurrent("char_gru"), _ids())
    with pytest.raises(ClassicnetsError, match="'Z'.*'!'"):
        encode_prompt("the Zoo!", VOCAB)
    with pytest.raises(ClassicnetsError, match="empty"):
        encode_prompt("", VOCAB)
    with pytest.raises(ClassicnetsError, match="17 tokens.*at most 16"):
        attention_maps(transformer(), encode_prompt("the cat sat on th", VOCAB))
    with pytest.raises(ClassicnetsError, match="one piece of text"):
        attention_maps(transformer(), torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(ClassicnetsError, match="empty"):
        check_tokens(transformer(), torch.zeros(0, dtype=torch.int64))
    with pytest.raises(ClassicnetsError, match=f"Token id {len(VOCAB)} is outside"):
        lstm_gates(recurrent("char_lstm"), torch.tensor([0, len(VOCAB)]))


# ------------------------------------------------------------------------------ plots


def _png(path) -> bool:
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_visible_tokens():
    assert [visible_token(t) for t in [" ", "\n", "\t", "a", "\x0b"]] == [
        "␣",
        "↵",
        "⇥",
        "a",
        "\\x0b",
    ]


def test_plot_attention_grid_and_one_layer(tmp_path):
    text = "the cat sat."
    maps = attention_maps(transformer(), encode_prompt(text, VOCAB))
    grid = plot_attention(maps, list(text), tmp_path / "grid.png", "char_transformer on toy")
    one = plot_attention(maps, text, tmp_path / "sub" / "one.png", "toy", layer=-1)
    assert _png(grid) and _png(one)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["grid.png", "one.png", "sub"]
    with pytest.raises(ClassicnetsError, match="layers 0 to 1"):
        plot_attention(maps, text, tmp_path / "x.png", "toy", layer=2)
    with pytest.raises(ClassicnetsError, match="12 tokens but 3"):
        plot_attention(maps, "the", tmp_path / "x.png", "toy")


def test_plot_gates_picks_the_most_active_units(tmp_path):
    text = "the cat sat on\nthe mat."
    gates = lstm_gates(recurrent("char_lstm"), encode_prompt(text, VOCAB))
    chosen = active_units(gates, 1, 3)
    spread = gates["hidden"][1].std(0, unbiased=False)
    assert chosen == spread.argsort(descending=True)[:3].tolist()
    path = plot_gates(gates, text, tmp_path / "gates.png", "char_lstm on toy", units=4)
    gru = recurrent_gates(recurrent("char_gru"), encode_prompt(text, VOCAB))
    other = plot_gates(gru, text, tmp_path / "gru.png", "char_gru on toy", layer=0)
    assert _png(path) and _png(other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gates.png", "gru.png"]
    with pytest.raises(ClassicnetsError, match="units must be a positive integer"):
        plot_gates(gates, text, tmp_path / "x.png", "toy", units=0)
