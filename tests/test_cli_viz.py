"""``classicnets viz`` and ``lr-find`` through the command line: every picture of a real image
run and a real text run, the vanishing-gradient comparison, and the bad input the issue lists
(each one sentence, exit 2, nothing written)."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.runs.pictures import PICTURES

TEXT = (
    "KING:\nWhat news, my lord? Speak, and be brief.\n\n" * 6 + "QUEEN:\nThe field is ours.\n\n"
) * 4


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    args = ["train", "lenet5", "--data", "digits", "--epochs", "2", "--batch-size", "64"]
    assert main([*args, "--out", str(out), "--device", "cpu", "--json"]) == 0
    return out


@pytest.fixture(scope="module")
def text_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    corpus = root / "play.txt"
    corpus.write_text(TEXT)
    runs = {}
    for model, extra in (
        ("char_transformer", ["--window", "24"]),
        ("char_lstm", ["--seq-len", "16"]),
    ):
        out = root / model
        args = ["train", model, "--data", str(corpus), "--hidden", "32", "--layers", "1"]
        args += [*extra, "--batch-size", "8", "--epochs", "1", "--out", str(out), "--json"]
        assert main([*args, "--device", "cpu"]) == 0
        runs[model] = out
    return runs


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


IMAGE_PICTURES = [n for n, p in PICTURES.items() if "image" in p.kinds]


@pytest.mark.parametrize("what", IMAGE_PICTURES)
def test_every_image_picture_of_a_run(image_run, what, capsys):
    extra = ["--steps", "5"] if what == "gradients" else []
    assert main(["viz", str(image_run), what, *extra]) == 0
    path = image_run / f"{what}.png"
    assert f"wrote {path}" in capsys.readouterr().out
    width, height = _png_size(path)
    assert 200 < width < 5000 and 150 < height < 5000
    assert not list(image_run.glob(".*.tmp.png"))


@pytest.mark.parametrize("what", ["attention", "gates", "curves", "lr"])
def test_text_pictures(text_runs, what, tmp_path):
    model = "char_lstm" if what == "gates" else "char_transformer"
    out = tmp_path / f"{what}.png"
    args = ["viz", str(text_runs[model]), what, "--out", str(out)]
    assert main([*args, "--prompt", "KING:\nWhat"] if what in ("attention", "gates") else args) == 0
    assert _png_size(out)[0] > 200
    if what in ("attention", "gates"):  # without --prompt: the start of the run's test text
        assert main(args) == 0


def test_features_of_an_image_file_and_receptive_unit(image_run, tmp_path):
    photo = tmp_path / "digit.png"
    Image.new("L", (40, 40), 0).save(photo)
    out = tmp_path / "f.png"
    assert main(["viz", str(image_run), "features", "--image", str(photo), "--out", str(out)]) == 0
    out = tmp_path / "r.png"
    args = ["viz", str(image_run), "receptive", "--layer", "features.3", "--unit", "0,0"]
    assert main([*args, "--out", str(out)]) == 0


def test_compare_shows_the_vanishing_gradient(tmp_path, capsys):
    out = tmp_path / "cmp.png"
    args = ["viz", "--compare", "lenet5", "lenet5_relu", "--steps", "3", "--out", str(out)]
    assert main(args) == 0
    lines = capsys.readouterr().err
    ratios = {
        line.split(":")[0]: float(line.rsplit("last/first ", 1)[1].rstrip(")"))
        for line in lines.splitlines()
        if "last/first" in line
    }
    sigmoid = next(v for k, v in ratios.items() if k.startswith("lenet5 "))
    relu = next(v for k, v in ratios.items() if k.startswith("lenet5_relu"))
    assert sigmoid > relu  # the sigmoid net's first layer gets the smaller share
    assert _png_size(out)[0] > 200


def test_lr_find_suggests_a_rate(tmp_path, capsys):
    out = tmp_path / "lr.png"
    args = ["lr-find", "lenet5_relu", "--data", "digits", "--steps", "40", "--out", str(out)]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 1e-7 <= result["suggested"] < result["minimum"] <= 10
    assert len(result["rates"]) == len(result["losses"]) <= 40
    assert _png_size(out)[0] > 200


@pytest.mark.parametrize(
    "extra, message",
    [
        (["filterz"], "Did you mean 'filters'"),
        (["attention"], "'attention' is a picture of text and seq2seq runs"),
        (["features", "--index", "100000"], "--index 100000 is out of range"),
        (["features", "--image", "/nonexistent/x.png"], "does not exist"),
        (["features", "--out", "/nonexistent/dir/x.png"], "does not exist"),
        (["features", "--out", "x.jpg"], "must name a .png file"),
        (["receptive", "--layer", "featurez.3"], "features.3"),
    ],
)
def test_bad_input_on_an_image_run(image_run, extra, message, capsys, tmp_path):
    before = sorted(p.name for p in image_run.iterdir())
    assert main(["viz", str(image_run), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert sorted(p.name for p in image_run.iterdir()) == before


def test_bad_input_elsewhere(text_runs, image_run, tmp_path, capsys):
    assert main(["viz", str(text_runs["char_lstm"]), "confusion"]) == 2
    assert "picture of image runs" in capsys.readouterr().err
    assert main(["viz", str(text_runs["char_lstm"]), "attention"]) == 2
    assert "gates" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(image_run, broken)
    for checkpoint in broken.glob("*.safetensors"):
        checkpoint.unlink()
    assert main(["viz", str(broken), "filters"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["viz", str(tmp_path / "nothing"), "filters"]) == 2
    assert main(["viz"]) == 2
    assert "viz needs a run and a picture" in capsys.readouterr().err
    assert main(["lr-find", "lenet55"]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_model_specs_carry_builder_arguments():
    from classicnets.errors import ClassicnetsError
    from classicnets.runs.probes import parse_model_spec

    assert parse_model_spec("mlp:activation=sigmoid:hidden=32*3,16") == (
        "mlp",
        {"activation": "sigmoid", "hidden": (32, 32, 32, 16)},
    )
    assert parse_model_spec("lenet5") == ("lenet5", {})
    with pytest.raises(ClassicnetsError, match="takes no argument 'depth'"):
        parse_model_spec("mlp:depth=3")
    with pytest.raises(ClassicnetsError, match="is not KEY=VALUE"):
        parse_model_spec("mlp:hidden")


def test_a_deep_sigmoid_mlp_starves_its_first_layer(tmp_path, capsys):
    out = tmp_path / "mlp.png"
    specs = ["mlp:activation=sigmoid:hidden=32*9", "mlp:activation=relu:hidden=32*9"]
    assert main(["viz", "--compare", *specs, "--steps", "2", "--out", str(out)]) == 0
    ratios = [
        float(line.rsplit("last/first ", 1)[1].rstrip(")"))
        for line in capsys.readouterr().err.splitlines()
        if "last/first" in line
    ]
    assert ratios[0] > 1e5 and ratios[0] > 100 * ratios[1]
