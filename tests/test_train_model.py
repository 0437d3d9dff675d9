"""The trainer: learning, repeatability, resuming, overriding steps, callbacks, checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import classicnets as cn
from classicnets.errors import ClassicnetsError, TrainingDivergedError
from classicnets.train import CSVLogger, EarlyStopping, ModelCheckpoint


@pytest.fixture(scope="module")
def digits():
    return cn.load_dataset("digits", "train"), cn.load_dataset("digits", "test")


def fresh(name="mlp", seed=0, **kw):
    torch.manual_seed(seed)
    return cn.Model(cn.create_model(name, image_size=8, **kw), device="cpu")


def test_fit_learns_digits(digits):
    train, test = digits
    model = fresh().compile(optimizer="adam", lr=3e-3)
    history = model.fit(train, epochs=8, batch_size=64, validation_data=test)
    assert len(history) == 8
    assert history["loss"][-1] < history["loss"][0] / 4
    assert history["val_accuracy"][-1] > 0.93
    assert model.evaluate(test)["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    assert model.mean == train.mean and model.classes == train.classes


def test_same_seed_same_weights_bit_for_bit(digits):
    train, _ = digits
    a = fresh().compile(optimizer="momentum", lr=0.05)
    b = fresh().compile(optimizer="momentum", lr=0.05)
    a.fit(train, epochs=2, seed=7)
    b.fit(train, epochs=2, seed=7)
    for pa, pb in zip(a.module.parameters(), b.module.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = fresh().compile(optimizer="momentum", lr=0.05)
    c.fit(train, epochs=2, seed=8)
    assert not torch.equal(next(a.module.parameters()), next(c.module.parameters()))


def test_save_load_resume_equals_uninterrupted(digits, tmp_path):
    train, _ = digits
    straight = fresh("mlp", dropout=0.2).compile(optimizer="adam", lr=2e-3, schedule="cosine")
    straight.fit(train, epochs=4, seed=3)

    class StopAfterTwo(cn.Callback):  # an interruption after epoch 2 of a 4-epoch plan
        def on_epoch_end(self, epoch, logs):
            self.model.stop_training = epoch == 1

    half = fresh("mlp", dropout=0.2).compile(optimizer="adam", lr=2e-3, schedule="cosine")
    half.fit(train, epochs=4, seed=3, callbacks=[StopAfterTwo()])
    half.save(tmp_path / "ck")
    assert (tmp_path / "ck.json").is_file() and (tmp_path / "ck.safetensors").is_file()
    resumed = cn.load(tmp_path / "ck", device="cpu")
    assert resumed.epochs_done == 2 and resumed.global_step == half.global_step
    resumed.fit(train, epochs=4, seed=3)
    for p, q in zip(straight.module.parameters(), resumed.module.parameters(), strict=True):
        assert torch.equal(p, q)


def test_checkpoint_holds_no_pickle_and_names_the_model(digits, tmp_path):
    train, _ = digits
    torch.manual_seed(0)
    model = cn.Model(cn.create_model("lenet5_relu", image_size=28), device="cpu").compile()
    model.fit(train.subset(slice(0, 64)).resized(28), epochs=1)
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["model"] == "lenet5_relu" and meta["model_kwargs"] == {"image_size": 28}
    assert meta["input_shape"] == [1, 28, 28]
    assert meta["classes"] == list(train.classes) and meta["mean"] == list(train.mean)
    assert b"\x80\x04" not in (tmp_path / "m.safetensors").read_bytes()[:16]
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ClassicnetsError, match="junk.safetensors"):
        cn.load(tmp_path / "junk")


def test_train_step_can_be_overridden(digits):
    class Counting(cn.Model):
        calls = 0

        def train_step(self, x, y):
            Counting.calls += 1
            logs = super().train_step(x, y)
            logs["double_loss"] = logs["loss"] * 2
            return logs

    train, _ = digits
    torch.manual_seed(0)
    model = Counting(cn.create_model("mlp", image_size=8), device="cpu").compile()
    history = model.fit(train, epochs=1, batch_size=100)
    assert Counting.calls == 14  # ceil(1347 / 100)
    assert history["double_loss"][0] == pytest.approx(2 * history["loss"][0], rel=1e-5)


def test_auxiliary_outputs_add_weighted_loss():
    class TwoHeads(nn.Module):
        aux_loss_weight = 0.3

        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 3)

        def forward(self, x):
            return (self.a(x), self.b(x)) if self.training else self.a(x)

    model = cn.Model(TwoHeads(), device="cpu").compile()
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    out = model.module(x)
    ce = nn.functional.cross_entropy
    assert torch.isclose(model.compute_loss(out, y), ce(out[0], y) + 0.3 * ce(out[1], y))
    model.fit((x, y), epochs=1, batch_size=4)
    assert model.predict(x).shape == (8, 3)


def test_callbacks(digits, tmp_path):
    train, test = digits
    model = fresh().compile(optimizer="sgd", lr=1e-9)  # nothing improves
    stop = EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-3)
    history = model.fit(
        train,
        epochs=20,
        validation_data=test,
        callbacks=[stop, CSVLogger(tmp_path / "m.csv"), ModelCheckpoint(tmp_path)],
    )
    # epoch 0 sets the best value, epochs 1 and 2 fail to improve it: stop after epoch 2
    assert len(history) == 3 and stop.stopped_epoch == 2
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy") and len(rows) == 4
    assert (tmp_path / "last.safetensors").is_file() and (tmp_path / "best.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_nan_loss_stops_with_the_step(digits):
    train, _ = digits
    model = fresh().compile(optimizer="sgd", lr=1e4)
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, step \d+"):
        model.fit(train, epochs=3)


def test_bad_arguments(digits):
    train, _ = digits
    with pytest.raises(ClassicnetsError, match="compile"):
        fresh().fit(train)
    with pytest.raises(ClassicnetsError, match="unknown options"):
        fresh().compile(optimiser="adam")
    with pytest.raises(ClassicnetsError, match="positive"):
        fresh().compile().fit(train, epochs=0)
    with pytest.raises(ClassicnetsError, match="cuda"):
        cn.Model(nn.Linear(2, 2), device="cuda" if not torch.cuda.is_available() else "cpu:x")


def test_channels_last_and_bf16_train(digits):
    train, _ = digits
    torch.manual_seed(0)
    model = cn.Model(cn.create_model("lenet5_relu", image_size=28), device="cpu")
    model.compile(optimizer="adam", lr=3e-3, channels_last=True, bf16=True)
    small = train.subset(slice(0, 512)).resized(28)
    history = model.fit(small, epochs=3, batch_size=64)
    assert history["loss"][-1] < history["loss"][0]
    assert model.prepare_inputs(small.images[:2]).is_contiguous(memory_format=torch.channels_last)
    assert model.predict(small.images[:4]).dtype == torch.float32


def test_best_checkpoint_survives_a_worse_last(digits, tmp_path):
    train, test = digits
    model = fresh().compile(optimizer="adam", lr=3e-3)
    checkpoint = ModelCheckpoint(tmp_path)
    model.fit(train, epochs=2, validation_data=test, callbacks=[checkpoint])
    best = (tmp_path / "best.safetensors").read_bytes()
    assert best == (tmp_path / "last.safetensors").read_bytes()
    checkpoint.best = 2.0  # no later epoch can beat this: best must stay as it is
    model.fit(train, epochs=3, validation_data=test, callbacks=[checkpoint])
    assert (tmp_path / "best.safetensors").read_bytes() == best
    assert (tmp_path / "last.safetensors").read_bytes() != best
    assert json.loads((tmp_path / "last.json").read_text())["epochs_done"] == 3
    assert cn.load(tmp_path / "best").epochs_done == 2


def test_a_callback_can_set_each_batch_learning_rate(digits):
    class Freeze(cn.train.Callback):
        """Rate 0 on every other batch, after the schedule has set its own."""

        def __init__(self):
            self.before, self.after, self.rates = [], [], []

        def on_train_batch_begin(self, step):
            self.before.append([p.detach().clone() for p in self.model.module.parameters()])
            if step % 2:
                for group in self.model.optimizer.param_groups:
                    group["lr"] = 0.0
            self.rates.append(self.model.optimizer.param_groups[0]["lr"])

        def on_train_batch_end(self, step, logs):
            self.after.append([p.detach().clone() for p in self.model.module.parameters()])

    train, _ = digits
    model = cn.Model(cn.create_model("mlp", in_channels=1, image_size=8, num_classes=10))
    model.compile(optimizer="sgd", lr=0.1, schedule="onecycle")
    freeze = Freeze()
    model.fit(train.subset(slice(0, 64)), epochs=1, batch_size=16, callbacks=[freeze])
    assert freeze.rates[1] == freeze.rates[3] == 0.0 and 0.0 < freeze.rates[0] < 0.1
    for step, (before, after) in enumerate(zip(freeze.before, freeze.after, strict=True)):
        moved = any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
        assert moved == (step % 2 == 0), step
