"""BERT-Mini: the paper's sizes, post-norm GELU layers, the tied MLM head, the padding mask,
bidirectional attention and the classification head on [CLS].

``classicnets.models.bert`` is imported inside the tests, not at collection: importing it
registers ``bert_mini``, and other test modules list the registry's "sequence" models when they
are collected (see the module's report to the lead).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, ShapeError

VOCAB = 12


@pytest.fixture(scope="module")
def bert():
    from classicnets.models import bert

    return bert


def tiny(bert, **kwargs):
    torch.manual_seed(0)
    options = {"hidden": 16, "layers": 2, "heads": 2, "max_len": 10, "vocab_size": VOCAB}
    return bert.bert_mini(**{**options, **kwargs})


def test_bert_mini_has_the_sizes_of_turc_et_al_and_counts_as_computed(bert):
    from classicnets.models import create_model, model_info

    model = create_model("bert_mini", vocab_size=76, max_len=128, num_classes=2)
    assert {"sequence", "mlm"} <= set(model_info("bert_mini").tags)
    assert len(model.layers) == 4
    layer = model.layers[0]
    assert layer.self_attn.d_model == 256 and layer.self_attn.num_heads == 4
    assert layer.ffn.linear1.out_features == 1024 and isinstance(
        layer.ffn.activation, torch.nn.GELU
    )
    assert layer.norm_first is False  # BERT is post-norm, as the Transformer paper
    v, t, h, f, k = 76, 128, 256, 1024, 2
    embeddings = v * h + t * h + 2 * h + 2 * h  # token, position, segment, LayerNorm
    per_layer = (4 * h * h + 4 * h) + (2 * h * f + f + h) + 2 * 2 * h
    mlm_head = h * h + h + 2 * h + v  # dense, LayerNorm, output bias (weights tied)
    classifier = h * k + k
    total = embeddings + 4 * per_layer + mlm_head + classifier
    assert sum(p.numel() for p in model.parameters()) == total


def test_the_mlm_head_is_tied_to_the_token_embedding(bert):
    model = tiny(bert).eval()
    tokens = torch.tensor([[1, 4, 5, 3, 6, 2]])  # ids 7..11 are not in the input
    logits = model.mlm_logits(tokens)
    hidden = model(tokens)
    head = model.mlm_head
    expected = F.linear(
        F.layer_norm(F.gelu(head.dense(hidden)), (16,), head.norm.weight, head.norm.bias, 1e-12),
        model.embeddings.token.weight,
        head.bias,
    )
    torch.testing.assert_close(logits, expected)
    assert not [
        n for n, p in model.named_parameters() if p.shape == (VOCAB, 16) and "token" not in n
    ]
    logits[0, 3].log_softmax(-1)[4].backward()
    # an output weight only a tied decoder can give: the rows of tokens absent from the input
    assert model.embeddings.token.weight.grad[7:].abs().sum(1).gt(0).all()


def test_padding_changes_no_hidden_state_of_the_real_tokens(bert):
    model = tiny(bert).eval()
    short = torch.tensor([[1, 5, 6, 7, 2]])
    padded = torch.tensor([[1, 5, 6, 7, 2, 0, 0, 0], [1, 8, 2, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        alone, together = model(short), model(padded)
        torch.testing.assert_close(together[:1, :5], alone, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.classify(padded)[:1], model.classify(short))
        # and the mask is what does it: without it the padding would leak into [CLS]
        unmasked = model.embeddings(padded[:1])
        for layer in model.layers:
            unmasked = layer(unmasked)
        assert (unmasked[0, 0] - alone[0, 0]).abs().max() > 1e-3


def test_attention_is_bidirectional(bert):
    model = tiny(bert).eval()
    a = torch.tensor([[1, 5, 6, 7, 2]])
    b = torch.tensor([[1, 5, 6, 8, 2]])
    with torch.no_grad():
        assert (model(a)[0, 0] - model(b)[0, 0]).abs().max() > 1e-4  # [CLS] sees the future


def test_every_parameter_learns_from_both_heads(bert):
    model = tiny(bert, num_classes=3).train()
    tokens = torch.randint(4, VOCAB, (3, 7))
    segments = torch.tensor([[0] * 4 + [1] * 3] * 3)
    loss = model.mlm_logits(tokens, segments).square().mean()
    loss = loss + model.classify(tokens, segments).square().mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert model.classify(tokens).shape == (3, 3)


def test_segments_position_and_the_classifier_reset(bert):
    model = tiny(bert).eval()
    tokens = torch.tensor([[1, 5, 6, 2]])
    with torch.no_grad():
        plain = model(tokens)
        other = model(tokens, torch.ones_like(tokens))
        assert (plain - other).abs().max() > 1e-4
        assert (model(tokens[:, [0, 2, 1, 3]])[0, 1] - plain[0, 2]).abs().max() > 1e-4
    encoder = {k: v.clone() for k, v in model.encoder_state_dict().items()}
    model.reset_classifier(5)
    assert model.classify(tokens).shape == (1, 5)
    assert all(torch.equal(v, model.encoder_state_dict()[k]) for k, v in encoder.items())
    assert not any(k.startswith(("mlm_head", "classifier")) for k in encoder)


def test_bad_shapes_and_sizes_are_one_sentence(bert):
    model = tiny(bert)
    with pytest.raises(ShapeError, match="longer than this BERT's max_len of 10"):
        model(torch.ones(1, 11, dtype=torch.long))
    with pytest.raises(ShapeError, match=r"shape \(B, T\)"):
        model(torch.ones(11, dtype=torch.long))
    with pytest.raises(ClassicnetsError, match="multiple of heads=3"):
        tiny(bert, heads=3)
    with pytest.raises(ClassicnetsError, match="max_len must be a positive integer"):
        tiny(bert, max_len=0)
