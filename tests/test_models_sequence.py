"""The language models: every registered one runs and learns from every parameter; the fused and
step-by-step paths agree; state carries; the Transformer is causal and knows its context."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.models import create_model, list_models, model_info

# the language models: encoder-decoders and taggers are sequence models with tests of their own
SEQUENCE = [
    n
    for n in list_models()
    if "sequence" in model_info(n).tags
    and not {"seq2seq", "tagging", "mlm"} & set(model_info(n).tags)
]
VOCAB = 11
TINY = {"hidden": 16, "layers": 2}


def tiny(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    extra = {"heads": 2, "context": 16} if name == "char_transformer" else {}
    return create_model(name, vocab_size=VOCAB, **TINY, **extra, **kwargs)


def test_the_sequence_models_are_registered():
    assert set(SEQUENCE) == {"char_rnn", "char_lstm", "char_gru", "char_transformer", "word_lstm"}
    assert "word" in model_info("word_lstm").tags and "char" in model_info("char_lstm").tags


@pytest.mark.parametrize("name", SEQUENCE)
def test_forward_backward_every_parameter(name):
    model = tiny(name).train()
    tokens = torch.randint(VOCAB, (3, 7))
    logits, state = model(tokens)
    assert logits.shape == (3, 7, VOCAB) and torch.isfinite(logits).all()
    logits.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"{name}: no gradient for {missing}"
    assert model.classicnets_spec["kwargs"]["vocab_size"] == VOCAB


@pytest.mark.parametrize("name", ["char_rnn", "char_lstm", "char_gru", "word_lstm"])
def test_state_carries_the_text_on(name):
    model = tiny(name).eval()
    tokens = torch.randint(VOCAB, (2, 10))
    with torch.no_grad():
        whole, _ = model(tokens)
        first, state = model(tokens[:, :4])
        second, _ = model(tokens[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["char_rnn", "char_lstm", "char_gru"])
def test_fused_default_equals_the_step_by_step_equations(name):
    fused = tiny(name)
    scratch = tiny(name, fused=False)
    scratch.load_state_dict(fused.state_dict())
    tokens = torch.randint(VOCAB, (3, 9))
    out_fused, state_fused = fused(tokens)
    out_scratch, state_scratch = scratch(tokens)
    torch.testing.assert_close(out_scratch, out_fused, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state_scratch, state_fused, atol=1e-5, rtol=1e-5)
    out_fused.sum().backward()
    out_scratch.sum().backward()
    grad = dict(scratch.named_parameters())
    for key, param in fused.named_parameters():
        torch.testing.assert_close(grad[key].grad, param.grad, atol=1e-4, rtol=1e-4)


def test_input_layouts_embedding_one_hot_and_word_lstm():
    assert tiny("char_lstm").embedding.embedding_dim == 64 == tiny("char_lstm").rnn.input_size
    one_hot = tiny("char_gru", embed_dim=None)  # the course's input
    assert one_hot.embedding is None and one_hot.rnn.input_size == VOCAB
    assert one_hot(torch.randint(VOCAB, (2, 3)))[0].shape == (2, 3, VOCAB)
    model = tiny("word_lstm", embed_dim=8)
    children = [type(m).__name__ for m in model.children()]
    assert children == ["Embedding", "LSTM", "Dropout", "Linear"]  # the layout
    assert model.rnn.num_layers == 2 and model.dropout.p == 0.5
    assert model.rnn.input_size == 8 and model.head.in_features == 16


def test_transformer_is_causal():
    model = tiny("char_transformer").eval()
    tokens = torch.randint(VOCAB, (1, 12))
    changed = tokens.clone()
    changed[0, 8] = (changed[0, 8] + 1) % VOCAB
    with torch.no_grad():
        a, _ = model(tokens)
        b, _ = model(changed)
    torch.testing.assert_close(a[:, :8], b[:, :8])  # positions before 8 cannot see it
    assert not torch.allclose(a[:, 8:], b[:, 8:])


def test_transformer_refuses_sequences_longer_than_its_context():
    model = tiny("char_transformer")
    model(torch.zeros(1, 16, dtype=torch.int64))  # exactly the context: fine
    with pytest.raises(ShapeError, match="17 tokens is longer than .* context of 16") as err:
        model(torch.zeros(1, 17, dtype=torch.int64))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("char_transformer", {"hidden": 10, "heads": 4}, "multiple of heads=4"),
        ("char_lstm", {"hidden": 0}, "hidden must be a positive integer"),
        ("char_gru", {"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ("char_lstm", {"image_size": 32}, "does not take image_size"),
    ],
)
def test_bad_arguments_are_one_sentence(name, kwargs, message):
    with pytest.raises(ClassicnetsError, match=message):
        create_model(name, vocab_size=VOCAB, **kwargs)


def test_token_ids_must_be_a_batch():
    with pytest.raises(ShapeError, match=r"shape \(B, T\)"):
        tiny("char_lstm")(torch.zeros(5, dtype=torch.int64))
