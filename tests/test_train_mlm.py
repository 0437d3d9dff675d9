"""The BERT trainers: the loss and accuracy over masked positions only, seeded and resumable
dynamic masking, a tiny BERT learning to unmask, fine-tuning from a pre-trained encoder (loaded
exactly, from a module or a checkpoint) and the errors a user can cause."""

from __future__ import annotations

import math

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data.mlm import IGNORE, MASK, mask_tokens, mlm_vocabulary, windows
from classicnets.errors import ClassicnetsError
from classicnets.train.mlm import (
    MaskedBatches,
    MaskedLMModel,
    SequenceClassifierModel,
    load_encoder,
)

TEXT = "abcdefghij" * 200  # every masked letter is fixed by its neighbours


@pytest.fixture(scope="module")
def bert():
    from classicnets.models import bert  # registers bert_mini: see test_models_bert.py

    return bert


def tiny(bert, seed=0, **kwargs):
    torch.manual_seed(seed)
    options = {"hidden": 32, "layers": 2, "heads": 2, "max_len": 22, "dropout": 0.0}
    return bert.bert_mini(vocab_size=len(mlm_vocabulary([TEXT])), **{**options, **kwargs})


def corpus():
    vocabulary = mlm_vocabulary([TEXT])
    return vocabulary, windows(vocabulary, TEXT, 22)


def test_loss_and_accuracy_count_the_masked_positions_only(bert):
    vocabulary, tokens = corpus()
    trainer = MaskedLMModel(tiny(bert), vocabulary=vocabulary, device="cpu").compile("adam")
    inputs, labels = mask_tokens(
        tokens[:8], vocab_size=len(vocabulary), generator=torch.Generator().manual_seed(0)
    )
    logits = torch.randn(8, 22, len(vocabulary), generator=torch.Generator().manual_seed(1))
    losses, right = [], 0
    for b, t in (labels != IGNORE).nonzero().tolist():
        losses.append(-logits[b, t].log_softmax(-1)[labels[b, t]].item())
        right += int(logits[b, t].argmax() == labels[b, t])
    loss = trainer.compute_loss(logits, labels).item()
    assert math.isclose(loss, sum(losses) / len(losses), rel_tol=1e-5)
    accuracy = trainer.compute_metrics(logits, labels)["mlm_accuracy"].item()
    assert math.isclose(accuracy, right / len(losses))


def test_dynamic_masks_are_seeded_by_epoch_and_step_and_resume_exactly():
    _, tokens = corpus()
    batches = MaskedBatches(tokens, 16, vocab_size=14, seed=3)
    whole = list(batches.epoch(0))
    resumed = list(batches.epoch(0, start=2))
    assert [s for s, _ in resumed] == list(range(2, batches.steps))
    for (_, a), (_, b) in zip(whole[2:], resumed, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    again = list(MaskedBatches(tokens, 16, vocab_size=14, seed=3).epoch(0))
    assert all(torch.equal(a[1][1], b[1][1]) for a, b in zip(whole, again, strict=True))
    next_epoch = list(batches.epoch(1))
    assert not torch.equal(whole[0][1][1], next_epoch[0][1][1])  # masked afresh
    assert (whole[0][1][0] == MASK).any() and batches.plan()["mask_rate"] == 0.15


def test_a_tiny_bert_learns_to_unmask_and_evaluation_masks_the_same_each_time(bert):
    vocabulary, tokens = corpus()
    trainer = MaskedLMModel(tiny(bert), vocabulary=vocabulary, device="cpu")
    trainer.compile("adamw", lr=3e-3)
    before = trainer.evaluate(tokens)
    history = trainer.fit(tokens, epochs=8, batch_size=32, seed=0)
    after = trainer.evaluate(tokens)
    assert before["mlm_accuracy"] < 0.3 and after["mlm_accuracy"] > 0.95
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert trainer.evaluate(tokens) == after  # one fixed masking
    assert trainer.checkpoint_extras()["trainer"] == "mlm"


def test_fine_tuning_loads_the_encoder_exactly_and_keeps_its_own_head(bert, tmp_path):
    vocabulary, tokens = corpus()
    pretrained = MaskedLMModel(tiny(bert), vocabulary=vocabulary, device="cpu")
    pretrained.compile("adamw", lr=3e-3).fit(tokens, epochs=1, batch_size=32)
    pretrained.save(tmp_path / "mlm")
    for source in (pretrained.module, tmp_path / "mlm"):
        fresh = tiny(bert, seed=1)
        head = {k: v.clone() for k, v in fresh.state_dict().items() if k.startswith("classifier")}
        names = load_encoder(fresh, source)
        assert names and all(n.startswith(("embeddings.", "layers.")) for n in names)
        ours, theirs = fresh.state_dict(), pretrained.module.state_dict()
        assert all(torch.equal(ours[n], theirs[n]) for n in names)
        assert len(names) == len(fresh.encoder_state_dict())
        assert all(torch.equal(ours[k], v) for k, v in head.items())  # the head stays fresh
        assert not torch.equal(ours["mlm_head.dense.weight"], theirs["mlm_head.dense.weight"])


def test_the_classifier_trains_on_cls(bert):
    vocabulary, _ = corpus()
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(2, (128,), generator=g)
    # class 0 lines hold 'a'..'e', class 1 lines 'f'..'j', at random
    letters = torch.randint(5, (128, 20), generator=g) + labels[:, None] * 5
    texts = ["".join("abcdefghij"[i] for i in row) for row in letters.tolist()]
    from classicnets.data.mlm import encode_sequences

    x = encode_sequences(vocabulary, texts, 22)
    trainer = SequenceClassifierModel(tiny(bert), vocabulary=vocabulary, device="cpu")
    trainer.compile("adamw", lr=3e-3)
    trainer.fit((x, labels), epochs=6, batch_size=32, seed=0)
    assert trainer.evaluate((x, labels))["accuracy"] == 1.0
    assert trainer.predict(x).shape == (128, 2)


def test_errors_a_user_can_cause(bert):
    vocabulary, tokens = corpus()
    with pytest.raises(ClassicnetsError, match="strictly between 0 and 1"):
        MaskedLMModel(tiny(bert), mask_rate=1.0, device="cpu")
    trainer = MaskedLMModel(tiny(bert), device="cpu").compile("adam")
    with pytest.raises(ClassicnetsError, match=r"\(N, T\) int64 token windows"):
        trainer.fit(tokens.flatten(), epochs=1)
    with pytest.raises(ClassicnetsError, match="must be int64"):
        trainer.fit(tokens.int(), epochs=1)
    wider = tiny(bert, max_len=30)
    with pytest.raises(ClassicnetsError, match="position.weight has shape"):
        load_encoder(wider, tiny(bert))
    with pytest.raises(ClassicnetsError, match="lack"):
        load_encoder(tiny(bert), {"classifier.1.weight": torch.zeros(2, 32)})
