"""The trainer: learning, seeds, Keras semantics, the forms of data, overriding steps,
callbacks, divergence and bad arguments."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import classicnets as cn
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, TrainingDivergedError
from classicnets.train import CSVLogger, EarlyStopping, ModelCheckpoint


@pytest.fixture(scope="module")
def digits():
    return cn.load_dataset("digits", "train"), cn.load_dataset("digits", "test")


def fresh(name="mlp", seed=0, **kw):
    return cn.Model(cn.create_model(name, image_size=8, seed=seed, **kw), device="cpu")


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.module.parameters()])


def test_fit_learns_digits_and_picks_up_the_data(digits):
    train, test = digits
    model = fresh().compile(optimizer="adam", lr=3e-3)
    history = model.fit(train, epochs=8, batch_size=64, validation_split=0.1)
    assert len(history) == 8
    assert history["loss"][-1] < history["loss"][0] / 4
    assert history["val_accuracy"][-1] > 0.9
    assert model.evaluate(test)["accuracy"] > 0.9
    assert model.mean == train.mean and model.classes == train.classes
    assert model.data_name == "digits" and model.input_shape == (1, 8, 8)


def test_the_seed_fixes_the_weights_and_everything_after(digits):
    train, _ = digits
    a, b = fresh(seed=7), fresh(seed=7)
    assert torch.equal(weights(a), weights(b))
    assert not torch.equal(weights(a), weights(fresh(seed=8)))
    for model in (a, b):
        model.compile(optimizer="momentum", lr=0.05).fit(train, epochs=2, seed=7)
    assert torch.equal(weights(a), weights(b))
    c = fresh(seed=7).compile(optimizer="momentum", lr=0.05)
    c.fit(train, epochs=2, seed=8)  # same weights, another data order
    assert not torch.equal(weights(a), weights(c))


def test_fit_leaves_the_callers_random_streams_alone(digits):
    train, _ = digits
    model = fresh(dropout=0.3).compile()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    model.fit(train, epochs=1, augment="crop:1")
    cn.create_model("mlp", image_size=8, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_a_second_fit_trains_again(digits):
    train, _ = digits
    model = fresh().compile(lr=3e-3)
    first = model.fit(train, epochs=2, batch_size=256)
    before = weights(model).clone()
    second = model.fit(train, epochs=2, batch_size=256)  # Keras: from initial_epoch=0 again
    assert len(first) == len(second) == 2 and second.epoch == [0, 1]
    assert not torch.equal(weights(model), before)
    assert model.global_step == 2 * 2 * 6
    third = model.fit(train, epochs=3, batch_size=256, initial_epoch=2)
    assert third.epoch == [2]


@pytest.mark.parametrize("form", ["dataset", "tensors", "pair", "torch_dataset", "dataloader"])
def test_fit_takes_every_form_of_data(digits, form):
    train, test = digits
    x = (train.images.float() / 255 - train.mean[0]) / train.std[0]
    data = {
        "dataset": (train,),
        "tensors": (x, train.labels),
        "pair": ((x, train.labels),),
        "torch_dataset": (TensorDataset(x, train.labels),),
        "dataloader": (DataLoader(TensorDataset(x, train.labels), batch_size=64, shuffle=True),),
    }[form]
    model = fresh().compile(lr=3e-3)
    history = model.fit(*data, epochs=4, batch_size=64, seed=1)
    assert history["loss"][-1] < history["loss"][0] / 2
    again = fresh().compile(lr=3e-3)
    again.fit(*data, epochs=4, batch_size=64, seed=1)
    assert torch.equal(weights(model), weights(again))  # repeatable in every form
    xt = (test.images.float() / 255 - train.mean[0]) / train.std[0]
    assert model.evaluate(TensorDataset(xt, test.labels))["accuracy"] > 0.8


def test_validation_split_is_stratified_and_fixed(digits):
    train, _ = digits
    part, val = train.validation_split(0.1, seed=0)
    assert len(part) + len(val) == len(train) and val.split == "val"
    counts = torch.bincount(val.labels, minlength=10)
    assert counts.min() >= 13 and counts.max() <= 14  # 10 % of each class's ~135
    again, _ = train.validation_split(0.1, seed=0)
    assert torch.equal(part.labels, again.labels) and torch.equal(part.images, again.images)
    few = train.subset(torch.nonzero(train.labels < 2)[:, 0])  # classes 0 and 1 only
    assert len(few.validation_split(0.001)[1]) == 2  # at least one of each class
    one = cn.ImageDataset("x", "train", train.images[:3], torch.tensor([0, 0, 1]), ("a", "b"),
                          (0.5,), (0.5,))  # fmt: skip
    with pytest.raises(ClassicnetsError, match=r"class 'b' \(1 training example\) with none"):
        one.validation_split(0.1)
    with pytest.raises(ClassicnetsError, match=r"--val-split must be in \[0, 1\)"):
        train.validation_split(1.5)


def test_train_step_can_be_overridden(digits):
    class Counting(cn.Model):
        calls = 0

        def train_step(self, batch):
            Counting.calls += 1
            logs = super().train_step(batch)
            logs["double_loss"] = logs["loss"] * 2
            return logs

    train, _ = digits
    model = Counting(cn.create_model("mlp", image_size=8, seed=0), device="cpu").compile()
    history = model.fit(train, epochs=1, batch_size=100)
    assert Counting.calls == 14  # ceil(1347 / 100)
    assert history["double_loss"][0] == pytest.approx(2 * history["loss"][0], rel=1e-6)


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
    model.fit(x, y, epochs=1, batch_size=4)
    assert model.predict(x).shape == (8, 3)


def test_callbacks(digits, tmp_path):
    train, val = digits[0].validation_split(0.1)
    model = fresh().compile(optimizer="sgd", lr=1e-9)  # nothing improves
    stop = EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-3)
    history = model.fit(
        train,
        epochs=20,
        validation_data=val,
        callbacks=[stop, CSVLogger(tmp_path / "m.csv"), ModelCheckpoint(tmp_path)],
    )
    # epoch 0 sets the best value, epochs 1 and 2 fail to improve it: stop after epoch 2
    assert len(history) == 3 and stop.stopped_epoch == 2
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy") and len(rows) == 4
    assert (tmp_path / "last.safetensors").is_file() and (tmp_path / "best.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_nan_loss_stops_with_the_epoch_and_step(digits):
    train, _ = digits
    model = fresh().compile(optimizer="sgd", lr=1e4)
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, step \d+ .*lower the learning"):
        model.fit(train, epochs=3)
    assert model.resume_point is None  # a diverged state is no place to continue from


def test_adam_at_1e6_stops_at_once(digits):
    train, _ = digits
    model = cn.Model(cn.create_model("lenet5_relu", image_size=28, seed=0), device="cpu")
    model.compile(optimizer="adam", lr=1e6)
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, step [1-9] .*it was 1e\+06"):
        model.fit(train.subset(slice(0, 320)).resized(28), epochs=3, batch_size=32)


def test_a_finite_blow_up_stops_too(digits):
    """A loss of 1e36 is finite, so no NaN check fires; it is 1e4 times past the usual."""

    class BlowingUp(cn.Model):
        def train_step(self, batch):
            logs = super().train_step(batch)
            if self.global_step >= 15:  # the 16th update, in the second epoch of 11
                logs["loss"] = logs["loss"] * 0 + 8.8e36
            return logs

    train, _ = digits
    model = BlowingUp(cn.create_model("mlp", image_size=8, seed=0), device="cpu").compile()
    with pytest.raises(TrainingDivergedError) as caught:
        model.fit(train, epochs=3, batch_size=128)
    message = str(caught.value)
    assert "8.8e+36 at epoch 2, step 5 (update 16)" in message
    assert "over 10,000 times the first epoch's mean" in message


def test_running_means_never_overflow():
    from classicnets.train.state import RunningMeans

    means = RunningMeans()
    for _ in range(100):
        means.add({"loss": torch.tensor(3e38)}, 32)  # float32 sums overflow at 3.4e38
    assert means.result()["loss"] == pytest.approx(3e38, rel=1e-6)


def test_bad_arguments(digits):
    train, _ = digits
    with pytest.raises(ClassicnetsError, match="compile"):
        fresh().fit(train)
    with pytest.raises(ClassicnetsError, match="unknown options"):
        fresh().compile(optimiser="adam")
    with pytest.raises(ClassicnetsError, match="epochs must be an integer of at least 1"):
        fresh().compile().fit(train, epochs=0)
    with pytest.raises(ClassicnetsError, match="batch size must be a positive integer, got 0"):
        fresh().compile().fit(train, batch_size=0)
    with pytest.raises(ClassicnetsError, match="without targets"):
        fresh().compile().fit(train.images)
    with pytest.raises(ClassicnetsError, match="Got 1347 inputs but 5 targets"):
        fresh().compile().fit(train.images, train.labels[:5])
    with pytest.raises(ClassicnetsError, match="nothing to resume"):
        fresh().compile().fit(train, resume=True)
    with pytest.raises(ClassicnetsError, match="cuda"):
        cn.Model(nn.Linear(2, 2), device="cuda" if not torch.cuda.is_available() else "cpu:x")
    with pytest.raises(ClassicnetsError, match="wraps an nn.Module"):
        cn.Model("mlp")
    with pytest.raises(ClassicnetsError, match="precision must be fp32, bf16 or fp16"):
        fresh().compile(precision="auto")
    with pytest.raises(ClassicnetsError, match="float16 training needs a CUDA GPU"):
        fresh().compile(precision="fp16")


def test_channels_last_and_bf16_train(digits):
    train, _ = digits
    model = cn.Model(cn.create_model("lenet5_relu", image_size=28, seed=0), device="cpu")
    model.compile(optimizer="adam", lr=3e-3, channels_last=True, precision="bf16")
    small = train.subset(slice(0, 512)).resized(28)
    history = model.fit(small, epochs=3, batch_size=64)
    assert history["loss"][-1] < history["loss"][0]
    assert model.prepare_inputs(small.images[:2]).is_contiguous(memory_format=torch.channels_last)
    assert model.predict(small.images[:4]).dtype == torch.float32


def test_best_checkpoint_survives_a_worse_last(digits, tmp_path):
    train, val = digits[0].validation_split(0.1)
    model = fresh().compile(optimizer="adam", lr=3e-3)
    checkpoint = ModelCheckpoint(tmp_path)
    model.fit(train, epochs=2, validation_data=val, callbacks=[checkpoint])
    best = (tmp_path / "best.safetensors").read_bytes()
    assert best == (tmp_path / "last.safetensors").read_bytes()
    checkpoint.best = 2.0  # no later epoch can beat this: best must stay as it is
    model.fit(train, epochs=3, initial_epoch=2, validation_data=val, callbacks=[checkpoint])
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
