"""Exact resume in the trainer: a fit stopped at any step (by a callback, or by Ctrl-C between
two updates), saved, loaded and continued with ``fit(resume=True)`` ends with the very weights
and logs of a fit that never stopped, for every form of data and for a language model's
carried state. (The command line's SIGINT/SIGKILL runs are in test_runs_interrupted.py.)"""

from __future__ import annotations

import os
import signal

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import classicnets as cn
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data.text import Vocabulary
from classicnets.errors import ClassicnetsError
from classicnets.train import EarlyStopping, SequenceModel

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"


class StopAt(cn.Callback):
    """Stop after update ``at`` (mid-epoch), as a crash or a time budget would."""

    def __init__(self, at: int, interrupt: bool = False) -> None:
        self.at, self.interrupt = at, interrupt

    def on_train_batch_end(self, step, logs):
        if self.model.global_step == self.at:
            if self.interrupt:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, in the middle of fit
            else:
                self.model.stop_training = True


def image_model(seed=0):
    model = cn.Model(cn.create_model("mlp", image_size=8, dropout=0.2, seed=seed), device="cpu")
    return model.compile(optimizer="adam", lr=3e-3, schedule="onecycle")


@pytest.fixture(scope="module")
def digits():
    return cn.load_dataset("digits", "train").validation_split(0.1)


def weights(model) -> list[torch.Tensor]:
    return [t.clone() for t in model.module.state_dict().values()]


def assert_same(a, b) -> None:
    for x, y in zip(weights(a), weights(b), strict=True):
        assert torch.equal(x, y)


def run_interrupted(make, data, tmp_path, at, interrupt=False, callbacks=(), **fit):
    first = make()
    if interrupt:
        with pytest.raises(KeyboardInterrupt):
            first.fit(data, callbacks=[StopAt(at, True), *callbacks], **fit)
    else:
        first.fit(data, callbacks=[StopAt(at), *callbacks], **fit)
    assert first.global_step == at and first.position[1] > 0  # stopped mid-epoch
    first.save(tmp_path / "ck")
    resumed = cn.load(tmp_path / "ck", device="cpu")
    history = resumed.fit(data, resume=True, callbacks=list(callbacks), **fit)
    return resumed, history


@pytest.mark.parametrize("interrupt", [False, True], ids=["stopped", "ctrl-c"])
def test_image_run_with_augmentation_and_onecycle(digits, tmp_path, interrupt):
    train, val = digits
    fit = dict(epochs=3, batch_size=64, seed=4, augment="crop:1,flip,cutout:3", validation_data=val)
    straight = image_model()
    whole = straight.fit(train, **fit)
    resumed, rest = run_interrupted(image_model, train, tmp_path, 30, interrupt, **fit)
    assert_same(straight, resumed)
    assert resumed.global_step == straight.global_step == 3 * 19
    assert rest.epoch == [1, 2]  # the interrupted epoch's logs include its first 11 steps
    for key in ("loss", "accuracy", "val_loss", "lr"):
        assert rest[key] == whole[key][1:], key


def test_ctrl_c_waits_for_the_update_to_finish(digits):
    train, _ = digits
    model = image_model()
    # Python's own handler, whatever this process inherited (a background job ignores SIGINT)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(train, epochs=2, batch_size=64, callbacks=[StopAt(5, interrupt=True)])
        assert model.position == (0, 5) and model.resume_point["position"] == (0, 5)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler put back
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_an_ignored_ctrl_c_stays_ignored_after_fit(digits):
    train, _ = digits
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as nohup or `cmd &` leave it
    try:
        image_model().fit(train, epochs=1, batch_size=64, callbacks=[StopAt(3)])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)


@pytest.mark.parametrize("form", ["torch_dataset", "dataloader"])
def test_loaders_resume_exactly(digits, tmp_path, form):
    train, _ = digits
    x = train.images.float() / 255
    if form == "dataloader":
        data = DataLoader(TensorDataset(x, train.labels), batch_size=50, shuffle=True)
    else:
        data = TensorDataset(x, train.labels)
    fit = dict(epochs=2, batch_size=50, seed=2)
    straight = image_model()
    straight.fit(data, **fit)
    resumed, _ = run_interrupted(image_model, data, tmp_path, 33, **fit)
    assert_same(straight, resumed)


def test_early_stopping_counts_across_a_resume(digits, tmp_path):
    train, val = digits

    def make():
        model = cn.Model(cn.create_model("mlp", image_size=8, seed=0), device="cpu")
        return model.compile(optimizer="sgd", lr=1e-9)  # nothing improves

    fit = dict(epochs=10, batch_size=128, validation_data=val)
    straight = make()
    whole = straight.fit(train, callbacks=[EarlyStopping(patience=3, min_delta=0.01)], **fit)
    resumed, rest = run_interrupted(
        make, train, tmp_path, 25, callbacks=[EarlyStopping(patience=3, min_delta=0.01)], **fit
    )
    assert len(whole) == 4 and rest.epoch[-1] == whole.epoch[-1] == 3


def test_resume_refuses_other_data_or_settings(digits, tmp_path):
    train, _ = digits
    model = image_model()
    model.fit(train, epochs=2, batch_size=64, callbacks=[StopAt(10)])
    with pytest.raises(ClassicnetsError, match="resume on the same data with the same batch"):
        model.fit(train, epochs=2, batch_size=32, resume=True)
    with pytest.raises(ClassicnetsError, match="trained with seed 0, not 5"):
        model.fit(train, epochs=2, batch_size=64, seed=5, resume=True)
    with pytest.raises(ClassicnetsError, match="resume on the same data"):
        model.fit(train.subset(slice(0, 500)), epochs=2, batch_size=64, resume=True)


def lstm(seed=0, **kwargs):
    vocab = Vocabulary.from_text(TEXT)
    module = cn.create_model("char_lstm", vocab_size=len(vocab), hidden=24, seed=seed)
    model = SequenceModel(module, vocabulary=vocab, device="cpu", seq_len=8, **kwargs)
    return model.compile(lr=1e-2, grad_clip=1.0)


def test_a_language_model_resumes_with_its_carried_state(tmp_path):
    ids = Vocabulary.from_text(TEXT).encode(TEXT * 8)
    fit = dict(epochs=2, batch_size=4, seed=3, validation_data=ids[:200])
    straight = lstm()
    whole = straight.fit(ids, **fit)
    steps = straight.steps_per_epoch
    resumed, rest = run_interrupted(lstm, ids, tmp_path, steps + 7, **fit)
    meta = resumed.checkpoint_meta["training_state"]
    assert meta["position"] == [1, 7]  # the checkpoint kept the state carried into step 8
    assert_same(straight, resumed)
    assert rest["loss"] == whole["loss"][1:] and rest["val_loss"] == whole["val_loss"][1:]


def test_without_the_carried_state_the_resume_would_differ(tmp_path):
    """The state matters: dropping it changes the weights (so the test above can fail)."""
    ids = Vocabulary.from_text(TEXT).encode(TEXT * 8)
    fit = dict(epochs=1, batch_size=4, seed=3)
    straight = lstm()
    straight.fit(ids, **fit)
    first = lstm()
    first.fit(ids, callbacks=[StopAt(7)], **fit)
    first.save(tmp_path / "ck")
    resumed = cn.load(tmp_path / "ck", device="cpu")
    resumed.resume_point["state"] = {}
    resumed.fit(ids, resume=True, **fit)
    assert not all(
        torch.equal(a, b) for a, b in zip(weights(straight), weights(resumed), strict=True)
    )
