"""--precision: what auto picks on which hardware, the sentences for formats the hardware lacks,
what a run records, and that bfloat16 training resumes as exactly as float32."""

from __future__ import annotations

import json

import pytest
import torch

import classicnets as cn
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.errors import ClassicnetsError
from classicnets.train import precision
from classicnets.train.precision import resolve_precision

CPU = torch.device("cpu")


@pytest.fixture
def bf16_cpu(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_features", lambda: ["avx512_bf16"])


def test_auto_takes_bfloat16_and_channels_last_where_the_cpu_has_it(bf16_cpu):
    chosen = resolve_precision("auto", CPU)
    assert (chosen.name, chosen.channels_last) == ("bf16", True)
    assert "avx512_bf16" in chosen.describe() and "channels-last" in chosen.describe()
    text = resolve_precision("auto", CPU, images=False)
    assert (text.name, text.channels_last) == ("bf16", False)  # no 4-D inputs to lay out


def test_auto_takes_float32_where_the_cpu_has_no_bfloat16():
    chosen = resolve_precision("auto", CPU)
    assert (chosen.name, chosen.channels_last) == ("fp32", False)
    assert "no bfloat16 instructions" in chosen.reason


def test_formats_the_hardware_lacks_are_one_sentence():
    with pytest.raises(ClassicnetsError, match="no bfloat16 instructions .* use --precision fp32"):
        resolve_precision("bf16", CPU)
    with pytest.raises(ClassicnetsError, match="float16 training needs a CUDA GPU"):
        resolve_precision("fp16", CPU)
    with pytest.raises(ClassicnetsError, match="Unknown precision 'fp8'"):
        resolve_precision("fp8", CPU)


def test_the_cpu_flags_are_read_from_proc_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n")
    assert {"avx512_bf16", "sse2"} <= precision.cpu_flags(str(info))
    assert precision.cpu_flags(str(tmp_path / "missing")) == set()


@pytest.mark.parametrize(
    ("flag", "message"),
    [("bf16", "This CPU has no bfloat16 instructions"), ("fp16", "needs a CUDA GPU")],
)
def test_the_cli_refuses_before_anything_is_written(tmp_path, capsys, flag, message):
    out = tmp_path / "r"
    assert main(["train", "mlp", "--precision", flag, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_a_run_says_and_records_its_precision(tmp_path, capsys, bf16_cpu):
    out = tmp_path / "r"
    assert main(["train", "lenet5_relu", "--epochs", "1", "--limit", "64", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "precision: bfloat16 autocast + channels-last (auto: this CPU has avx512_bf16)" in err
    assert json.loads((out / "config.json").read_text())["precision"] == "auto"  # as asked
    used = json.loads((out / "last.json").read_text())["compile"]
    assert (used["precision"], used["channels_last"]) == ("bf16", True)  # as resolved


def test_bfloat16_training_resumes_exactly(tmp_path):
    digits = cn.load_dataset("digits", "train").resized(28)

    def make():
        module = cn.create_model("lenet5_relu", seed=1)
        model = cn.Model(module, device="cpu")
        return model.compile(lr=3e-3, schedule="onecycle", precision="bf16", channels_last=True)

    class StopAt(cn.Callback):
        def on_train_batch_end(self, step, logs):
            self.model.stop_training = self.model.global_step == 17

    straight = make()
    straight.fit(digits, epochs=2, batch_size=64, augment="crop:2")
    first = make()
    first.fit(digits, epochs=2, batch_size=64, augment="crop:2", callbacks=[StopAt()])
    first.save(tmp_path / "ck")
    resumed = cn.load(tmp_path / "ck", device="cpu")
    assert resumed.config.precision == "bf16" and resumed.config.channels_last
    resumed.fit(digits, epochs=2, batch_size=64, augment="crop:2", resume=True)
    for a, b in zip(straight.module.parameters(), resumed.module.parameters(), strict=True):
        assert torch.equal(a, b)
