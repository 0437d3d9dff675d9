"""The encoder–decoders and their decoding: shapes and gradients, padding and causal masks,
parity of the Transformer's stacks with torch.nn's, attention maps, greedy and beam search
(width 1 is greedy; wide beams find the exhaustive optimum and beat greedy on a built model)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError
from classicnets.models import create_model, model_info
from classicnets.models import seq2seq as _seq2seq  # noqa: F401  (registers)
from classicnets.models.decoding import (
    BOS,
    EOS,
    PAD,
    beam_search,
    greedy_decode,
    length_penalty,
    pad_hypotheses,
    sequence_log_prob,
)

V_SRC, V_TGT = 9, 7
CONFIGS = {
    "transformer": ("transformer_seq2seq", {"d_model": 16, "heads": 2, "d_ff": 32}),
    "transformer_prenorm": (
        "transformer_seq2seq",
        {"d_model": 16, "heads": 2, "d_ff": 32, "norm_first": True, "decoder_layers": 1},
    ),
    "bahdanau": ("lstm_seq2seq", {"embed_dim": 8, "hidden": 12}),
    "luong": ("lstm_seq2seq", {"embed_dim": 8, "hidden": 12, "attention": "luong", "layers": 2}),
    "none": ("lstm_seq2seq", {"embed_dim": 8, "hidden": 12, "attention": "none"}),
    "none_unidirectional": (
        "lstm_seq2seq",
        {"embed_dim": 8, "hidden": 12, "attention": "none", "bidirectional": False},
    ),
}


def build(key: str, **extra) -> nn.Module:
    name, kwargs = CONFIGS[key]
    model = create_model(
        name, seed=0, source_vocab_size=V_SRC, target_vocab_size=V_TGT, **kwargs, **extra
    )
    return model.eval()


def sources(lengths, width=None, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    src = torch.full((len(lengths), width), PAD)
    for i, n in enumerate(lengths):
        src[i, :n] = torch.randint(3, V_SRC, (n,), generator=g)
    return src


def targets(batch, length, seed=1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    tgt = torch.randint(3, V_TGT, (batch, length), generator=g)
    tgt[:, 0] = BOS
    return tgt


def test_registered_as_sequence_and_seq2seq():
    for name in ("transformer_seq2seq", "lstm_seq2seq"):
        assert {"sequence", "seq2seq"} <= set(model_info(name).tags)


@pytest.mark.parametrize("key", ["transformer", "bahdanau"])
def test_the_same_seed_builds_the_same_weights(key):
    one, two = build(key).state_dict(), build(key).state_dict()
    assert all(torch.equal(one[k], two[k]) for k in one)


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_shapes_and_every_parameter_gets_a_gradient(key):
    model = build(key, dropout=0.0).train()
    logits = model(sources([5, 3, 1]), targets(3, 4))
    assert logits.shape == (3, 4, V_TGT) and torch.isfinite(logits).all()
    logits.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"{key}: no gradient for {missing}"


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_padding_never_changes_the_output(key):
    model = build(key)
    src, tgt = sources([4, 2, 6]), targets(3, 5)
    with torch.no_grad():
        base = model(src, tgt)
        wider = model(torch.nn.functional.pad(src, (0, 3), value=PAD), tgt)  # more padding
        alone = model(src[1:2, :2], tgt[1:2])  # the short one without its batch's padding
    torch.testing.assert_close(wider, base, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, base[1:2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_the_decoder_cannot_see_the_future(key):
    model = build(key)
    src, tgt = sources([5, 5]), targets(2, 6)
    for t in range(5):
        changed = tgt.clone()
        changed[:, t + 1] = (changed[:, t + 1] - 3 + 1) % (V_TGT - 3) + 3  # another token
        with torch.no_grad():
            before, after = model(src, tgt), model(src, changed)
        torch.testing.assert_close(after[:, : t + 1], before[:, : t + 1], atol=1e-5, rtol=1e-5)
        assert not torch.allclose(after[:, t + 1 :], before[:, t + 1 :])  # it does see the past


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_decode_step_reproduces_teacher_forcing(key):
    model = build(key)
    src, tgt = sources([5, 2, 4]), targets(3, 5)
    with torch.no_grad():
        whole = model(src, tgt)
        memory, state = model.encode(src), None
        for t in range(tgt.shape[1]):
            step, state = model.decode_step(memory, tgt[:, : t + 1], state)
            torch.testing.assert_close(step, whole[:, t], atol=1e-5, rtol=1e-5)


def test_transformer_stacks_match_torch_nn_transformer():
    torch.manual_seed(0)
    model = build("transformer", dropout=0.0)
    d, heads = 16, 2
    make_enc = nn.TransformerEncoderLayer(d, heads, 32, 0.0, batch_first=True)
    make_dec = nn.TransformerDecoderLayer(d, heads, 32, 0.0, batch_first=True)
    encoder = nn.TransformerEncoder(make_enc, 2, enable_nested_tensor=False).eval()
    decoder = nn.TransformerDecoder(make_dec, 2).eval()

    def torch_names(state: dict) -> dict:
        return {
            k.replace("ffn.", "").replace("cross_attn", "multihead_attn"): v
            for k, v in state.items()
        }

    encoder.layers.load_state_dict(torch_names(model.encoder.state_dict()))
    decoder.layers.load_state_dict(torch_names(model.decoder.state_dict()))
    src, tgt = sources([5, 3]), targets(2, 4)
    with torch.no_grad():
        memory, keep = model.encode(src)
        x = model.positions(model.source_embedding(src) * math.sqrt(d))
        theirs = encoder(x, src_key_padding_mask=~keep)
        torch.testing.assert_close(memory[keep], theirs[keep], atol=1e-5, rtol=1e-5)
        y = model.positions(model.target_embedding(tgt) * math.sqrt(d))
        causal = nn.Transformer.generate_square_subsequent_mask(4)
        out = decoder(y, memory, tgt_mask=causal, memory_key_padding_mask=~keep)
        torch.testing.assert_close(
            model.decode((memory, keep), tgt), model.head(out), atol=1e-5, rtol=1e-5
        )


def test_tied_and_shared_embeddings():
    tied = build("transformer")
    assert tied.head.weight is tied.target_embedding.weight
    assert tied.source_embedding is not tied.target_embedding
    shared = create_model("transformer_seq2seq", d_model=16, heads=2, share_embeddings=True)
    assert shared.source_embedding is shared.target_embedding
    assert shared.head.weight is shared.target_embedding.weight


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("transformer_seq2seq", {"source_vocab_size": 9, "share_embeddings": True}, "share"),
        ("transformer_seq2seq", {"d_model": 10, "heads": 4}, "multiple of heads"),
        ("transformer_seq2seq", {"dropout": 1.0}, "dropout"),
        ("lstm_seq2seq", {"attention": "dot"}, "bahdanau, luong, none"),
        ("lstm_seq2seq", {"hidden": 0}, "hidden"),
    ],
)
def test_bad_arguments_are_one_sentence(name, kwargs, match):
    with pytest.raises(ClassicnetsError, match=match):
        create_model(name, **kwargs)


def test_ids_outside_the_vocabulary_are_refused():
    model = build("transformer")
    with pytest.raises(ClassicnetsError, match="outside the vocabulary"):
        model(torch.tensor([[V_SRC]]), targets(1, 2))


@pytest.mark.parametrize("key", ["transformer", "bahdanau", "luong"])
def test_attention_maps_are_distributions_over_what_each_query_may_see(key):
    model = build(key).train()
    src, tgt = sources([5, 3]), targets(2, 4)
    maps = model.attention_maps(src, tgt)
    assert model.training  # its mode is put back
    cross = maps["cross"]  # (L, B, heads, T, S)
    assert cross.shape[1] == 2 and cross.shape[-2:] == (4, 5)
    torch.testing.assert_close(cross.sum(-1), torch.ones_like(cross.sum(-1)))
    assert cross[:, 1, ..., 3:].abs().max() == 0  # no weight on the short source's padding
    if key == "transformer":
        assert maps["encoder"].shape == (2, 2, 2, 5, 5) and maps["decoder"].shape == (2, 2, 2, 4, 4)
        assert maps["decoder"].triu(1).abs().max() == 0  # nothing on later target positions
        assert maps["encoder"][:, 1, ..., 3:].abs().max() == 0


def test_an_lstm_without_attention_has_no_maps():
    with pytest.raises(ClassicnetsError, match="attention='none'"):
        build("none").attention_maps(sources([2]), targets(1, 2))


# ---------------------------------------------------------------------- decoding
@pytest.mark.parametrize("key", ["transformer", "bahdanau"])
def test_beam_width_one_is_greedy(key):
    model = build(key)
    src = sources([5, 3, 4, 1], seed=4)
    greedy = greedy_decode(model, src, max_len=6)
    beam = pad_hypotheses(beam_search(model, src, 6, beam_width=1))
    width = max(greedy.shape[1], beam.shape[1])
    pad = torch.nn.functional.pad
    assert torch.equal(
        pad(greedy, (0, width - greedy.shape[1])), pad(beam, (0, width - beam.shape[1]))
    )


def test_greedy_pads_after_eos_and_scores_agree():
    model = build("luong")
    with torch.no_grad():
        model.head.bias[EOS] += 4.0  # ends early, but not at once for every row
    src = sources([4, 2, 5], seed=2)
    out = greedy_decode(model, src, max_len=8)
    for row in out.tolist():
        if EOS in row:
            assert all(t == PAD for t in row[row.index(EOS) + 1 :])
    found = beam_search(model, src, 8, beam_width=3, alpha=0.7)
    for b, hyp in enumerate(found):  # each score is its sequence's log-probability, penalised
        tokens = torch.tensor([hyp.tokens])
        log_prob = float(sequence_log_prob(model, src[b : b + 1], tokens))
        assert hyp.log_prob == pytest.approx(log_prob, abs=1e-4)
        assert hyp.score == pytest.approx(log_prob / ((5 + len(hyp.tokens)) / 6) ** 0.7, abs=1e-4)


def test_a_wide_beam_finds_the_exhaustive_best():
    model = build("transformer")
    src = sources([3], seed=7)
    with torch.no_grad():
        model.head.weight[EOS] = 0.0  # EOS's logit 0: neither certain nor out of reach
    max_len, alpha, words = 3, 0.6, range(3, V_TGT)
    candidates = [(EOS,)]
    for n in range(1, max_len):
        candidates += [(*w, EOS) for w in itertools.product(words, repeat=n)]
    candidates += list(itertools.product(words, repeat=max_len))  # cut at max_len
    best = max(
        candidates,
        key=lambda c: (
            float(sequence_log_prob(model, src, torch.tensor([c]))) / length_penalty(len(c), alpha)
        ),
    )
    found = beam_search(model, src, max_len, beam_width=200, alpha=alpha)[0]  # keeps all 156
    assert found.tokens == best


class ToyModel(nn.Module):
    """Next-token probabilities from a table of prefixes: greedy takes 'a' (0.55) and then
    can only reach 0.55 * 0.3; the path through 'b' (0.45) ends at once with 0.45 * 0.9."""

    A, B, C, D, E = 3, 4, 5, 6, 7
    TABLE = {
        (BOS,): {A: 0.55, B: 0.45},
        (BOS, A): {C: 0.3, D: 0.3, E: 0.3, EOS: 0.1},
        (BOS, B): {EOS: 0.9, C: 0.1},
    }

    def encode(self, src):
        return (src,)

    def _logits(self, prefix):
        probs = torch.full((8,), 1e-9)
        for token, p in self.TABLE.get(tuple(prefix), {EOS: 1.0}).items():
            probs[token] = p
        return probs.log()

    def decode_step(self, memory, prefix, state=None):
        return torch.stack([self._logits(row) for row in prefix.tolist()]), None

    def forward(self, src, tgt_in):
        rows = [[self._logits(row[: t + 1]) for t in range(len(row))] for row in tgt_in.tolist()]
        return torch.stack([torch.stack(r) for r in rows])


def test_beam_search_beats_greedy_on_a_built_model():
    toy, src = ToyModel(), torch.tensor([[3, 4]])
    greedy = greedy_decode(toy, src, max_len=4)
    assert greedy.tolist() == [[ToyModel.A, ToyModel.C, EOS]]
    found = beam_search(toy, src, 4, beam_width=2, alpha=0.0)[0]
    assert found.tokens == (ToyModel.B, EOS)
    greedy_score = float(sequence_log_prob(toy, src, greedy))
    assert greedy_score == pytest.approx(math.log(0.55 * 0.3), abs=1e-6)
    assert found.log_prob == pytest.approx(math.log(0.45 * 0.9), abs=1e-6)
    assert found.log_prob > greedy_score


def test_a_batch_decodes_as_each_source_alone():
    model = build("bahdanau")
    src = sources([5, 2, 4], seed=3)
    together = beam_search(model, src, 6, beam_width=3)
    for b in range(3):
        alone = beam_search(model, src[b : b + 1, : int((src[b] != PAD).sum())], 6, beam_width=3)
        assert alone[0].tokens == together[b].tokens


@pytest.mark.parametrize("width", [0, -2, 1.5, True])
def test_a_beam_width_under_one_is_one_sentence(width):
    with pytest.raises(ClassicnetsError, match="beam width"):
        beam_search(build("transformer"), sources([2]), 4, beam_width=width)


def test_max_len_under_one_is_refused():
    with pytest.raises(ClassicnetsError, match="max_len"):
        greedy_decode(build("transformer"), sources([2]), 0)
