"""compile() with names or torch objects, and checkpoints: what they rebuild, what they refuse,
and that a damaged file is refused with its name rather than loaded."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import classicnets as cn
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, CorruptFileError


@pytest.fixture(scope="module")
def digits():
    return cn.load_dataset("digits", "train")


def mlp(seed=0):
    return cn.create_model("mlp", image_size=8, seed=seed)


def test_torch_optimizer_loss_and_scheduler(digits, tmp_path):
    def make():
        module = mlp()
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
        model = cn.Model(module, device="cpu")
        return model.compile(
            optimizer=optimizer,
            loss=nn.CrossEntropyLoss(label_smoothing=0.1),
            schedule=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
        )

    straight = make()
    history = straight.fit(digits, epochs=3, batch_size=128)
    assert history["lr"] == [0.1, 0.05, 0.025]  # stepped once per epoch
    assert history["loss"][-1] < history["loss"][0]
    half = make()
    half.fit(digits, epochs=3, batch_size=128, callbacks=[StopAfter(16)])
    half.save(tmp_path / "ck")
    meta = json.loads((tmp_path / "ck.json").read_text())["compile"]
    assert meta["optimizer"] == "torch.optim.SGD" and meta["loss"] == "torch.nn.CrossEntropyLoss"
    assert meta["schedule"] == "torch.optim.lr_scheduler.StepLR"
    resumed = cn.load(tmp_path / "ck", device="cpu")
    assert isinstance(resumed.optimizer, torch.optim.SGD)
    resumed.fit(digits, epochs=3, batch_size=128, resume=True)
    for a, b in zip(straight.module.parameters(), resumed.module.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_scheduler_stepped_per_update(digits):
    module = mlp()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    model = cn.Model(module, device="cpu").compile(
        optimizer=optimizer,
        schedule=torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=22),
        schedule_interval="step",
    )
    rates = []

    class Record(cn.Callback):
        def on_train_batch_begin(self, step):
            rates.append(self.model.optimizer.param_groups[0]["lr"])

    model.fit(digits, epochs=2, batch_size=128, callbacks=[Record()])  # 11 updates an epoch
    assert len(rates) == 22 and max(rates) == pytest.approx(0.1, rel=0.02)
    assert rates[0] < 0.01 and rates[-1] < 0.001  # warmed up, then annealed, update by update


class StopAfter(cn.Callback):
    def __init__(self, updates):
        self.updates = updates

    def on_train_batch_end(self, step, logs):
        self.model.stop_training = self.model.global_step == self.updates


def test_a_custom_loss_must_be_given_again_after_loading(digits, tmp_path):
    def my_loss(outputs, targets):
        return nn.functional.cross_entropy(outputs, targets)

    model = cn.Model(mlp(), device="cpu").compile(loss=my_loss, metrics=["accuracy", "top5"])
    model.fit(digits, epochs=1)
    model.save(tmp_path / "ck")
    loaded = cn.load(tmp_path / "ck", device="cpu")
    assert loaded.config.loss.startswith("custom:") and loaded.config.loss.endswith("my_loss")
    with pytest.raises(ClassicnetsError, match=r"custom loss.*compile\(loss=\.\.\.\) again"):
        loaded.evaluate(digits)
    loaded.compile(loss=my_loss)
    assert loaded.evaluate(digits)["accuracy"] == pytest.approx(model.evaluate(digits)["accuracy"])


def test_compile_refuses_objects_of_another_model():
    other = torch.optim.SGD(mlp().parameters(), lr=0.1)
    with pytest.raises(ClassicnetsError, match="updates parameters that are not this model's"):
        cn.Model(mlp()).compile(optimizer=other)
    module = mlp()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    stray = torch.optim.lr_scheduler.StepLR(torch.optim.SGD(mlp().parameters(), lr=1), 1)
    with pytest.raises(ClassicnetsError, match="steps another optimizer"):
        cn.Model(module).compile(optimizer=optimizer, schedule=stray)
    with pytest.raises(ClassicnetsError, match="optimizer must be a name"):
        cn.Model(mlp()).compile(optimizer=3)
    with pytest.raises(ClassicnetsError, match="loss must be a name"):
        cn.Model(mlp()).compile(loss=3)
    with pytest.raises(ClassicnetsError, match="Gradient clipping needs a positive norm"):
        cn.Model(mlp()).compile(grad_clip=-1)


def test_load_into_your_own_module(digits, tmp_path):
    class Mine(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

        def forward(self, x):
            return self.net(x)

    model = cn.Model(Mine(), device="cpu").compile(lr=1e-2)
    model.fit(digits, epochs=2)
    model.save(tmp_path / "mine")
    with pytest.raises(ClassicnetsError, match=r"not registered.*module=YourNetwork\(\)"):
        cn.load(tmp_path / "mine")
    loaded = cn.load(tmp_path / "mine", module=Mine(), device="cpu")
    assert torch.equal(loaded.predict(digits.images[:5]), model.predict(digits.images[:5]))
    with pytest.raises(ClassicnetsError, match="do not fit Linear"):
        cn.load(tmp_path / "mine", module=nn.Linear(3, 3))


def test_checkpoint_holds_no_pickle_and_names_the_model(digits, tmp_path):
    model = cn.Model(cn.create_model("lenet5_relu", image_size=28, seed=0), device="cpu")
    model.compile().fit(digits.subset(slice(0, 64)).resized(28), epochs=1)
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["model"] == "lenet5_relu" and meta["model_kwargs"] == {"image_size": 28}
    assert meta["input_shape"] == [1, 28, 28] and meta["data"] == "digits"
    assert meta["classes"] == list(digits.classes) and meta["mean"] == list(digits.mean)
    raw = (tmp_path / "m.safetensors").read_bytes()
    header = int.from_bytes(raw[:8], "little")  # safetensors: a length, then a JSON header
    assert json.loads(raw[8 : 8 + header])["__metadata__"]["classicnets"]
    assert b"\x80\x04\x95" not in raw and b"(cmodule" not in raw  # no pickle stream at all
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ClassicnetsError, match="junk.safetensors"):
        cn.load(tmp_path / "junk")


@pytest.mark.parametrize("where", [0.2, 0.5, 0.9, 0.999])
def test_a_flipped_bit_anywhere_is_refused(digits, tmp_path, where):
    model = cn.Model(mlp(), device="cpu").compile()
    model.fit(digits, epochs=1)
    model.save(tmp_path / "m")
    path = tmp_path / "m.safetensors"
    raw = bytearray(path.read_bytes())
    header = int.from_bytes(raw[:8], "little")
    # in the tensor bytes (the header's own flips are caught by its parser or the checksum)
    position = 8 + header + int((len(raw) - 8 - header) * where)
    raw[position] ^= 0x04
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match=r"m\.safetensors is damaged .* checksum"):
        cn.load(tmp_path / "m")


def test_an_interrupted_write_leaves_the_previous_checkpoint(digits, tmp_path, monkeypatch):
    from classicnets.train import checkpoint

    model = cn.Model(mlp(), device="cpu").compile()
    model.fit(digits, epochs=1)
    model.save(tmp_path / "last")
    before = (tmp_path / "last.safetensors").read_bytes()

    def dies_half_way(tensors, path, metadata):
        open(path, "wb").write(b"\x00" * 1000)
        raise KeyboardInterrupt  # as a kill would, in the middle of the write

    monkeypatch.setattr(checkpoint, "save_file", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "last")
    assert (tmp_path / "last.safetensors").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert cn.load(tmp_path / "last").epochs_done == 1
