"""The CRF against brute-force enumeration of every tag sequence; the BiLSTM tagger's shapes,
gradients and padding; the trainer's accuracy and F1 against independent counts; and a tagger
that learns real parts of speech from a slice of the Turkish Web Treebank."""

from __future__ import annotations

import collections
import itertools

import pytest
import torch
from sklearn.metrics import f1_score

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis import summary
from classicnets.data.tagging import IGNORE, chunks, load_tagged_corpus
from classicnets.data.text import Vocabulary
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.layers.crf import CRF
from classicnets.layers.lstm_variants import VariantLSTM, reverse_within_lengths
from classicnets.models import create_model, model_info
from classicnets.models.tagger import BiLSTMTagger
from classicnets.train.tagging import TaggingModel

K, T = 3, 4
LENGTHS = [4, 2, 1]


def _random_crf(seed: int = 0) -> tuple[CRF, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    crf = CRF(K)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    emissions = torch.randn(len(LENGTHS), T, K, dtype=torch.float64)
    mask = torch.tensor([[t < n for t in range(T)] for n in LENGTHS])
    return crf.double(), emissions, mask


def _path_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    """s(y) written out term by term, for one sentence."""
    total = crf.start[path[0]] + emissions[0, path[0]] + crf.end[path[-1]]
    for t in range(1, len(path)):
        total = total + crf.transitions[path[t - 1], path[t]] + emissions[t, path[t]]
    return total


def test_log_partition_and_score_match_brute_force_enumeration():
    crf, emissions, mask = _random_crf()
    log_z = crf.log_partition(emissions, mask)
    tags = torch.randint(K, (len(LENGTHS), T))
    scores = crf.score(emissions, tags, mask)
    for b, n in enumerate(LENGTHS):
        every = [_path_score(crf, emissions[b], p) for p in itertools.product(range(K), repeat=n)]
        assert len(every) == K**n
        torch.testing.assert_close(log_z[b], torch.logsumexp(torch.stack(every), 0))
        own = tuple(tags[b, :n].tolist())
        torch.testing.assert_close(scores[b], _path_score(crf, emissions[b], own))
    probabilities = torch.exp(-crf.nll(emissions, tags, mask))
    assert ((probabilities > 0) & (probabilities < 1)).all()


def test_viterbi_matches_brute_force_argmax():
    for seed in range(5):
        crf, emissions, mask = _random_crf(seed)
        decoded = crf.decode(emissions, mask)
        assert decoded.shape == (len(LENGTHS), T) and decoded.dtype == torch.int64
        for b, n in enumerate(LENGTHS):
            paths = list(itertools.product(range(K), repeat=n))
            scores = torch.stack([_path_score(crf, emissions[b], p) for p in paths])
            assert tuple(decoded[b, :n].tolist()) == paths[int(scores.argmax())]
            assert (decoded[b, n:] == decoded[b, n - 1]).all()  # padding repeats the last tag


def test_crf_rejects_bad_shapes():
    crf = CRF(K)
    with pytest.raises(ShapeError, match=r"emissions \(B, T, 3\)"):
        crf.log_partition(torch.zeros(2, 4, 5))
    with pytest.raises(ShapeError, match="does not match"):
        crf.decode(torch.zeros(2, 4, K), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ClassicnetsError, match="at least one token"):
        crf.nll(torch.zeros(1, 2, K), torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2) > 0)
    with pytest.raises(ClassicnetsError, match="num_tags"):
        CRF(0)


@pytest.mark.parametrize("name", ["bilstm_tagger", "bilstm_crf_tagger"])
def test_registered_taggers_run_and_every_parameter_learns(name):
    assert {"sequence", "tagging"} <= set(model_info(name).tags)
    torch.manual_seed(0)
    model = create_model(name, vocab_size=30, num_tags=5, embed_dim=8, hidden=6, layers=2)
    tokens = torch.randint(1, 30, (3, 7))
    tokens[1, 4:] = 0  # a shorter sentence, padded
    tags = torch.randint(5, (3, 7)).masked_fill(tokens == 0, IGNORE)
    emissions = model(tokens)
    assert emissions.shape == (3, 7, 5) and torch.isfinite(emissions).all()
    model.loss(emissions, tags).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, f"{name}: no gradient for {missing}"
    assert (model.crf is not None) == (name == "bilstm_crf_tagger")


@pytest.mark.parametrize("cell", ["lstm", "gru", "lstm_peephole", "gru_cho"])
def test_padding_does_not_change_a_sentence_tags_scores(cell):
    """Packed (fused) or reversed within its length (step by step), the backward direction
    starts at each sentence's own last token."""
    torch.manual_seed(0)
    model = BiLSTMTagger(20, 4, embed_dim=5, hidden=6, layers=2, cell=cell).eval()
    sentence = torch.randint(1, 20, (1, 3))
    batch = torch.zeros(2, 6, dtype=torch.long)
    batch[0, :3], batch[1] = sentence[0], torch.randint(1, 20, (6,))
    with torch.no_grad():
        alone, padded = model(sentence), model(batch)
    torch.testing.assert_close(padded[0, :3], alone[0], atol=1e-6, rtol=1e-5)


def test_step_by_step_lengths_equal_torch_packing():
    torch.manual_seed(0)
    fused = VariantLSTM(5, 6, "lstm", 2, True).double()
    scratch = VariantLSTM(5, 6, "lstm", 2, True, fused=False).double()
    scratch.load_state_dict(fused.state_dict())
    x = torch.randn(3, 7, 5, dtype=torch.float64)
    lengths = torch.tensor([7, 2, 4])
    ours, theirs = scratch(x, lengths=lengths)[0], fused(x, lengths=lengths)[0]
    for b, n in enumerate(lengths):
        torch.testing.assert_close(ours[b, :n], theirs[b, :n], atol=1e-10, rtol=0)
    flipped = reverse_within_lengths(torch.arange(6.0).view(2, 3, 1), torch.tensor([3, 2]))
    assert flipped[..., 0].tolist() == [[2, 1, 0], [4, 3, 5]]


def test_summary_counts_parameters_and_macs_per_sentence():
    """The summary's shape run (meta tensors, no values) goes through the tagger; its MACs are
    the recurrent weights once per token and direction plus the output layer per token."""
    result = summary("bilstm_crf_tagger", input_size=(1, 1, 9), vocab_size=50, hidden=8)
    model = create_model("bilstm_crf_tagger", vocab_size=50, hidden=8)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    recurrent = sum(p.numel() for n, p in model.rnn.named_parameters() if ".weight_" in n)
    assert result.total_macs == 9 * recurrent + 9 * model.head.weight.numel()


def test_one_hot_input_and_bad_inputs():
    model = BiLSTMTagger(12, 3, embed_dim=None, hidden=4)
    assert model.embedding is None and model.rnn.rnn.input_size == 12
    assert model(torch.randint(1, 12, (2, 3))).shape == (2, 3, 3)
    with pytest.raises(ShapeError, match=r"int64 token ids of shape \(B, T\)"):
        model(torch.zeros(2, 3))
    with pytest.raises(ClassicnetsError, match="empty sentence"):
        model(torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ClassicnetsError, match="num_tags"):
        BiLSTMTagger(10, 1)


class _Fixed(torch.nn.Module):
    """A 'tagger' whose scores are given: the trainer's metrics, checked without training."""

    def __init__(self, scores: torch.Tensor) -> None:
        super().__init__()
        self.scores = scores
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, tokens):
        return self.scores[tokens[:, 0] - 1, : tokens.shape[1]] + self.w

    def loss(self, emissions, tags):
        return torch.nn.functional.cross_entropy(emissions.flatten(0, 1), tags.flatten())

    def decode(self, emissions, mask):
        return emissions.argmax(-1)


def _fixed_case(tag_names, n=40, length=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    k = len(tag_names)
    lengths = torch.randint(1, length + 1, (n,), generator=generator)
    ids = torch.zeros(n, length, dtype=torch.long)
    tags = torch.full((n, length), IGNORE)
    for i, m in enumerate(lengths):
        ids[i, :m] = i + 1  # the first id tells _Fixed which row of scores to give
        tags[i, :m] = torch.randint(k, (int(m),), generator=generator)
    scores = torch.randn(n, length, k, generator=generator)
    scores += (
        2.0
        * torch.nn.functional.one_hot(tags.clamp(min=0), k)
        * (torch.rand(n, length, 1, generator=generator) < 0.6)
    )
    trainer = TaggingModel(
        _Fixed(scores),
        words=Vocabulary(["<pad>", "<unk>"], "word", unknown="<unk>"),
        tags=Vocabulary(tag_names, "word"),
        device="cpu",
    ).compile("sgd", lr=1e-3)  # fmt: skip  (evaluate never updates)
    return trainer, ids, tags, scores.argmax(-1)


def test_accuracy_and_macro_f1_match_sklearn_at_any_batch_size():
    trainer, ids, tags, predicted = _fixed_case(["NOUN", "VERB", "ADJ", "PUNCT"])
    mask = tags != IGNORE
    truth, guess = tags[mask].numpy(), predicted[mask].numpy()
    expected_f1 = f1_score(truth, guess, average="macro")
    for batch_size in (1, 7, 1000):  # padded sizes differ per batch; the counts stay exact
        logs = trainer.evaluate((ids, tags), batch_size=batch_size)
        assert logs["accuracy"] == pytest.approx((truth == guess).mean(), abs=1e-12)
        assert logs["f1"] == pytest.approx(expected_f1, abs=1e-12)
        assert not [k for k in logs if k.startswith("_")]


def test_bio_tags_get_chunk_f1():
    names = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
    trainer, ids, tags, predicted = _fixed_case(names, seed=1)
    assert trainer.scheme == "bio"
    found = gold = matched = 0
    for row in range(len(ids)):
        n = int((tags[row] != IGNORE).sum())
        truth = chunks([names[i] for i in tags[row, :n]])
        guess = chunks([names[i] for i in predicted[row, :n]])
        found, gold, matched = found + len(guess), gold + len(truth), matched + len(truth & guess)
    precision, recall = matched / found, matched / gold
    logs = trainer.evaluate((ids, tags), batch_size=5)
    assert logs["f1"] == pytest.approx(2 * precision * recall / (precision + recall), abs=1e-12)


def test_a_tagger_learns_turkish_parts_of_speech():
    corpus = load_tagged_corpus("twt", max_sentences=900)
    test_ids, test_tags = corpus.tensors("test")
    # The baseline to beat: each word's most frequent training tag, NOUN for unseen words.
    seen = collections.defaultdict(collections.Counter)
    for tokens, labels in corpus.train:
        for w, t in zip(tokens, labels, strict=True):
            seen[w][t] += 1
    pairs = [(w, t) for tokens, labels in corpus.test for w, t in zip(tokens, labels, strict=True)]
    baseline = sum(
        (seen[w].most_common(1)[0][0] if w in seen else "NOUN") == t for w, t in pairs
    ) / len(pairs)
    results = {}
    for crf in (False, True):
        torch.manual_seed(0)
        model = BiLSTMTagger(
            len(corpus.words), len(corpus.tags), embed_dim=64, hidden=64, dropout=0.3, crf=crf
        )
        trainer = TaggingModel(model, words=corpus.words, tags=corpus.tags, device="cpu")
        trainer.compile("adam", lr=0.01).fit(corpus.tensors("train"), epochs=8, batch_size=32)
        results[crf] = trainer.evaluate((test_ids, test_tags))
        assert results[crf]["accuracy"] > 0.85 and results[crf]["f1"] > 0.55, results
    # Context beats the per-word lookup (the treebank splits words into inflectional groups).
    assert results[False]["accuracy"] > baseline + 0.01, (baseline, results)
    tagged = trainer.tag([list(corpus.test[0][0])])
    assert len(tagged[0]) == len(corpus.test[0][0]) and set(tagged[0]) <= set(corpus.tags.tokens)


def test_vocabularies_travel_with_the_checkpoint_metadata():
    words = Vocabulary(["<pad>", "<unk>", "ev"], "word", unknown="<unk>")
    tags = Vocabulary(["NOUN", "VERB"], "word")
    trainer = TaggingModel(BiLSTMTagger(3, 2, hidden=4), words=words, tags=tags, device="cpu")
    meta = trainer.checkpoint_extras()
    fresh = TaggingModel(BiLSTMTagger(3, 2, hidden=4), device="cpu")
    fresh.restore_extras(meta)
    assert fresh.words.tokens == words.tokens and fresh.tags.tokens == tags.tokens
    assert meta["trainer"] == "tagging"
    with pytest.raises(ClassicnetsError, match="not written by a tagger"):
        fresh.restore_extras({"words": Vocabulary(["a", "b"], "word").to_dict()})
    with pytest.raises(ClassicnetsError, match=r"Linear has no loss\(\)"):
        TaggingModel(torch.nn.Linear(2, 2), device="cpu")
