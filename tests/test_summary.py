"""The summary's MACs against torch's own FLOP counter and the published numbers."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from classicnets.analysis import summary
from classicnets.errors import ShapeError
from classicnets.models import create_model, model_info


def _flop_counter_macs(model: nn.Module, input_size: tuple[int, ...]) -> int:
    # torch counts 2 FLOPs per multiply-accumulate of a convolution or a matrix product.
    device = next(model.parameters()).device
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *input_size, device=device))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize(
    "name", ["alexnet_original", "vgg11_lrn", "nin", "googlenet", "inception_v3", "resnet50"]
)
def test_macs_match_torch_flop_counter(name):
    input_size = model_info(name).input_size
    with torch.device("meta"):
        model = create_model(name).eval()
    assert summary(model, input_size).total_macs == _flop_counter_macs(model, input_size)


def test_macs_of_grouped_dilated_1d_transposed_and_batched_linear_layers():
    class Mixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.grouped = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2)
            self.dilated = nn.Conv2d(8, 8, 3, dilation=2, bias=False)
            self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
            self.conv1d = nn.Conv1d(4, 6, 5)
            self.linear = nn.Linear(6, 3)  # applied to a (B, L, 6) sequence

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.up(self.dilated(self.grouped(x)))  # (B, 4, 12, 12)
            x = self.conv1d(x.flatten(2))  # (B, 6, 140)
            return self.linear(x.transpose(1, 2))  # (B, 140, 3)

    model = Mixed()
    result = summary(model, (4, 20, 20))
    assert result.total_macs == _flop_counter_macs(model, (4, 20, 20))
    macs = {row.name: row.macs for row in result.rows}
    assert macs["grouped"] == 8 * 10 * 10 * (4 // 2) * 9
    assert macs["linear"] == 140 * 6 * 3


@pytest.mark.parametrize(
    "name, published",
    [
        ("resnet18", 1.814e9),  # torchvision's GFLOPS column (which counts MACs)
        ("resnet50", 4.09e9),
        ("vgg16", 15.47e9),
        ("alexnet_original", 724e6),  # Sze et al. 2017, Table 3: 666M conv + 58.6M FC
    ],
)
def test_published_mac_totals(name, published):
    assert summary(name).total_macs == pytest.approx(published, rel=0.01)


def test_the_inception_argument():
    # GoogLeNet's 3a module against single wide convolutions on the same 192x28x28 input.
    block = create_model("googlenet").features.inception3a
    assert summary(block, (192, 28, 28)).total_macs == pytest.approx(128.0e6, abs=0.05e6)
    conv3 = summary(nn.Conv2d(192, 256, 3, padding=1), (192, 28, 28))
    conv5 = summary(nn.Conv2d(192, 256, 5, padding=2), (192, 28, 28))
    assert round(conv3.total_params / 1e6, 2) == 0.44
    assert conv3.total_macs == pytest.approx(346.8e6, abs=0.05e6)
    assert round(conv5.total_params / 1e6, 2) == 1.23
    assert conv5.total_macs == pytest.approx(963.4e6, abs=0.05e6)


@pytest.mark.parametrize("depth", [None, 1, 2, 3])
def test_rows_add_up_to_the_totals(depth):
    result = summary("googlenet", depth=depth)
    assert sum(row.params for row in result.rows) == result.total_params == 13_378_280
    assert sum(row.macs for row in result.rows) == result.total_macs
    if depth == 1:  # the calls the model makes, then the idle auxiliary classifiers
        names = ["features", "head", "aux.inception4a", "aux.inception4d"]
        assert [row.name for row in result.rows] == names
    if depth == 3:  # the ModuleDict holding a module's branches is no call, so costs no level
        assert "features.inception3a.branches.b1x1" in {row.name for row in result.rows}


def test_modules_the_forward_skips_still_have_rows():
    rows = {row.name: row for row in summary("googlenet", depth=2).rows}
    assert rows["features.inception3a"].output_shape == (256, 28, 28)
    assert rows["aux.inception4a"].output_shape is None  # idle in eval mode
    assert rows["aux.inception4a"].params == 3_188_840


def test_json_has_exactly_the_documented_keys():
    data = json.loads(json.dumps(summary("lenet5").to_json()))
    assert set(data) == {
        "model", "input", "total_params", "trainable_params", "total_macs", "layers"
    }  # fmt: skip
    assert data["model"] == "lenet5" and data["input"] == [1, 28, 28]
    assert data["total_params"] == data["trainable_params"] == 61_706
    assert all(
        set(layer) == {"name", "type", "output_shape", "params", "macs"} for layer in data["layers"]
    )
    assert data["layers"][0]["output_shape"] == [6, 28, 28]


def test_a_real_module_is_restored_to_its_mode_and_counts_frozen_parameters():
    model = create_model("resnet18", num_classes=10, image_size=32)
    model.head.fc.requires_grad_(False)
    model.train()
    result = summary(model, (3, 32, 32))
    assert model.training
    assert result.total_params - result.trainable_params == 512 * 10 + 10
    assert result.total_macs == summary("resnet18", (3, 32, 32), num_classes=10).total_macs


def test_text_rendering_shows_totals_and_flops():
    text = str(summary("alexnet_original"))
    assert "features.conv1" in text and "96x55x55" in text
    assert "60,965,224" in text and "FLOPs (2 x MACs)" in text


def test_bad_inputs_raise_shape_errors():
    with pytest.raises(ShapeError, match="three positive integers"):
        summary("resnet18", (3, 224))
    with pytest.raises(ShapeError, match="at least 32x32"):
        summary("vgg16", (3, 16, 16))
    with pytest.raises(ShapeError, match="cannot take a 3x8x8 input"):
        summary(nn.Conv2d(1, 1, 3), (3, 8, 8))


def _flop_counter_token_macs(model: nn.Module, length: int) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, length, dtype=torch.long))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("char_rnn", {"fused": False}),
        ("char_lstm", {"fused": False}),
        ("char_gru", {"fused": False, "layers": 1}),
        ("word_lstm", {"fused": False, "vocab_size": 500}),
        ("char_transformer", {}),
    ],
)
def test_language_model_macs_match_torch_flop_counter(name, kwargs):
    # The step-by-step path runs plain matrix products torch can count; the fused path runs
    # the same products in one kernel torch's counter does not know.
    model = create_model(name, **kwargs).eval()
    length = model_info(name).input_size[-1]
    counted = summary(model, model_info(name).input_size).total_macs
    assert counted == _flop_counter_token_macs(model, length)
    fused = {k: v for k, v in kwargs.items() if k != "fused"}
    assert summary(name, **fused).total_macs == counted  # fused: same count


def test_language_model_summary_reads_tokens():
    result = summary("char_lstm")
    assert result.tokens and result.input_size == (1, 1, 128)
    rows = {row.name: row for row in result.rows}
    assert rows["rnn"].output_shape[0] == (128, 256)
    # two layers of 4 gates x 256: (64 + 256) and (256 + 256) inputs, at each of 128 steps
    assert rows["rnn"].macs == 128 * 4 * 256 * ((64 + 256) + (256 + 256))
    assert result.total_params == 876_929
    assert "char_lstm on 128 tokens" in str(result)
    longer = summary("char_transformer", (1, 1, 256), num_classes=80)
    assert longer.rows[-1].name == "head" and longer.rows[-1].output_shape == (256, 80)


def test_encoder_decoder_macs_match_torch_flop_counter():
    # the summary feeds one (1, T) sequence of a real token (id 3) to both sides
    model = create_model("transformer_seq2seq", d_model=32, heads=2, d_ff=64).eval()
    ids = torch.full((1, 20), 3)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(ids, ids)
    counted = summary(model, model_info("transformer_seq2seq").input_size)
    assert counted.tokens and counted.total_macs == counter.get_total_flops() // 2
    assert sum(row.params for row in counted.rows) == counted.total_params


@pytest.mark.parametrize("name", ["transformer_seq2seq", "lstm_seq2seq"])
def test_an_encoder_decoders_classes_are_its_target_tokens(name):
    result = summary(name, num_classes=40)
    assert result.rows[-1].name == "head" and result.rows[-1].output_shape == (20, 40)
    assert sum(row.params for row in result.rows) == result.total_params


def test_a_taggers_classes_are_its_tags():
    result = summary("bilstm_tagger", num_classes=9)
    assert result.tokens and result.rows[-1].output_shape == (40, 9)
    # embedding 20,000 x 100; per direction 4 gates x 128 over (100 + 128) inputs and two
    # biases (torch's LSTM layout); the head reads both directions
    lstm = 2 * (4 * 128 * (100 + 128) + 2 * 4 * 128)
    assert result.total_params == 20_000 * 100 + lstm + (2 * 128 + 1) * 9
