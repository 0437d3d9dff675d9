"""``classicnets reproduce`` on its arithmetic and model checks (quick mode): every line is
explained, the worked examples come out as the course prints them, numbers are checked against
hand computations, a wrong figure is caught, and mistakes get one sentence and exit code 2."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest
import torch
import torch.nn.functional as F

import classicnets.cli as cli
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError
from classicnets.runs import reproduce
from classicnets.runs.reproduce_arithmetic import ARITHMETIC_CHECKS, printed
from classicnets.runs.reproduce_models import MODEL_CHECKS
from classicnets.runs.reproduce_outcome import (
    CLOSE,
    DIFFERENT,
    EQUAL,
    NO_FIGURE,
    NOT_RUN,
    Outcome,
    compare,
)

MINE = [*ARITHMETIC_CHECKS, *MODEL_CHECKS]  # the checks that train nothing


def _add_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line with ``reproduce`` among its commands (until cli/__init__ lists it)."""
    if "reproduce" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "reproduce"))


@pytest.fixture(autouse=True)
def _reproduce_command(monkeypatch):
    _add_command(monkeypatch)
    monkeypatch.setenv("COLUMNS", "160")  # a wide terminal: table lines are not folded


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def document() -> dict:
    with pytest.MonkeyPatch.context() as patch:  # the autouse fixture is per test
        _add_command(patch)
        code, out, err = run("reproduce", "--quick", "--only", *MINE, "--json")
    assert code == 0, err
    return json.loads(out)


def line(document: dict, group: str, what: str) -> dict:
    found = [o for o in document["outcomes"] if o["group"] == group and o["what"] == what]
    assert len(found) == 1, (group, what)
    return found[0]


def test_every_line_of_the_non_training_checks_is_explained(document):
    assert document["checks"] == MINE and document["mode"] == "quick"
    assert document["ok"] and document["unexplained"] == 0
    assert all(o["explained"] for o in document["outcomes"])
    assert all(o["why"] for o in document["outcomes"] if o["mark"] != EQUAL)
    assert sum(document["counts"].values()) == len(document["outcomes"]) > 80


def test_json_shape(document):
    assert set(document) == {"mode", "checks", "only", "counts", "unexplained", "ok", "outcomes"}
    assert set(document["counts"]) == {EQUAL, CLOSE, DIFFERENT, NO_FIGURE, NOT_RUN}
    keys = {"group", "what", "course", "ours", "mark", "why", "source", "explained"}
    assert all(set(o) == keys for o in document["outcomes"])
    assert all(o["source"] for o in document["outcomes"])


def test_the_worked_convolution_is_19_25_37_43_as_torch_computes_it(document):
    outcome = line(document, "conv", "3x3 input 0..8 ⋆ 2x2 kernel 0..3")
    assert outcome["mark"] == EQUAL and outcome["course"] == [[19, 25], [37, 43]]
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    k = torch.arange(4.0).reshape(1, 1, 2, 2)
    assert outcome["ours"] == F.conv2d(x, k)[0, 0].int().tolist()
    strided = line(document, "conv", "padding 1, stride 3 down and 2 across")
    assert strided["ours"] == F.conv2d(x, k, padding=1, stride=(3, 2))[0, 0].int().tolist()


def test_pooling_lines_match_torch(document):
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    top = line(document, "pool", "max 2x2, stride 1, of 0..8")
    mean = line(document, "pool", "average 2x2, stride 1, of 0..8")
    assert top["mark"] == mean["mark"] == EQUAL
    assert top["ours"] == F.max_pool2d(x, 2, 1)[0, 0].int().tolist() == [[4, 5], [7, 8]]
    assert mean["ours"] == F.avg_pool2d(x, 2, 1)[0, 0].tolist() == [[2, 3], [5, 6]]


def test_alexnet_total_and_the_missing_fc8_biases(document):
    convs = [(3, 96, 11, 1), (96, 256, 5, 2), (256, 384, 3, 1), (384, 384, 3, 2), (384, 256, 3, 2)]
    by_hand = sum(i // g * o * k * k + o for i, o, k, g in convs)  # two towers: groups 2
    by_hand += 9216 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    total = line(document, "alexnet", "parameters, total")
    assert total["ours"] == by_hand == 60_965_224 and total["course"] == 60_964_224
    assert total["mark"] == CLOSE and "1,000 biases" in total["why"]
    fc8 = line(document, "alexnet", "fc8 parameters")
    assert fc8["ours"] - fc8["course"] == 1000 and fc8["mark"] == CLOSE
    others = [o for o in document["outcomes"] if o["group"] == "alexnet" and "fc8" not in o["what"]]
    assert all(o["mark"] == EQUAL for o in others if o["what"] != "parameters, total")
    neurons = line(document, "alexnet", "neurons (outputs of conv1-5 and fc6-8)")
    sides = 96 * 55 * 55 + 256 * 27 * 27 + 2 * 384 * 13 * 13 + 256 * 13 * 13
    assert neurons["ours"] == sides + 4096 + 4096 + 1000 == 659_272 and neurons["mark"] == EQUAL


def test_vgg16_is_138_million(document):
    d = line(document, "vgg", "VGG D (vgg16) parameters (M)")
    assert d["mark"] == EQUAL and d["course"] == 138 and round(d["ours"]) == 138
    marks = [o["mark"] for o in document["outcomes"] if o["group"] == "vgg"]
    assert marks == [EQUAL] * 6


def test_the_lenet_row_off_by_ten_is_said_so(document):
    conv1 = line(document, "complexity", "LeNet conv1 FLOPs (mult-adds, M)")
    assert conv1["mark"] == DIFFERENT and "10x" in conv1["why"] and conv1["explained"]
    assert conv1["ours"] == pytest.approx(28 * 28 * 6 * 25 / 1e6, abs=1e-3)  # 0.1176 M


def test_the_inception_argument(document):
    three = line(document, "inception", "3x3 convolution: parameters (M)")
    assert three["mark"] == EQUAL
    assert three["ours"] == pytest.approx((192 * 9 * 256 + 256) / 1e6, abs=1e-4)  # 0.4426
    five = line(document, "inception", "5x5 convolution: parameters (M)")
    assert five["mark"] == CLOSE and "truncates" in five["why"]  # 1.2291 printed as 1.22


def test_the_36_million_input_mlp(document):
    params = line(document, "mlp", "one hidden layer of 100 units: parameters (B)")
    assert params["mark"] == EQUAL and params["ours"] == pytest.approx(3.6)
    estimate = line(document, "mlp", "compute of the estimate (PFLOP)")
    assert estimate["mark"] == CLOSE and "not found" in estimate["why"]


def test_a_wrong_course_figure_is_a_difference():
    wrong = compare("alexnet", "parameters, total", 61_000_000, 60_965_224)
    assert wrong.mark == DIFFERENT and not wrong.explained
    assert printed("vgg", "VGG D", 140, 138_357_544, 1e6, 0, source="-").mark == DIFFERENT
    assert printed("vgg", "VGG D", 138, 138_357_544, 1e6, 0, source="-").mark == EQUAL


def test_an_unexplained_difference_fails_the_command(monkeypatch):
    def wrong(mode: str) -> list[Outcome]:
        return [compare("wrong", "a figure nobody explained", 1, 2, source="a test")]

    monkeypatch.setitem(reproduce.ARITHMETIC_CHECKS, "wrong", wrong)
    code, out, _ = run("reproduce", "--only", "wrong", "conv")
    assert code == 1
    assert re.search(r"✗!\s+a figure nobody explained\s+1\s+2", out)
    assert "6 ✓, 0 ≈, 1 ✗ (1 not explained)" in out


def test_table_groups_lines_by_check():
    code, out, err = run("reproduce", "--only", "pool", "conv")
    assert code == 0 and not err
    assert out.index("conv") < out.index("pool")  # table order, not the order asked
    assert "conv  Dive into Deep Learning, 7.2.1, Fig. 7.3.2, Fig. 7.3.3, 7.4.1" in out
    assert re.search(r"✓\s+3x3 input 0\.\.8 ⋆ 2x2 kernel 0\.\.3\s+\[\[19, 25\], \[37, 43\]\]", out)
    assert out.rstrip().endswith("13 ✓, 0 ≈, 0 ✗ (all explained)")


def test_unknown_only_name_gives_the_closest_names_and_exit_2():
    code, out, err = run("reproduce", "--only", "alexnt")
    assert code == 2 and not out
    assert "Unknown check 'alexnt'. Did you mean 'alexnet'?" in err
    assert "Known checks:" in err and "googlenet" in err
    with pytest.raises(ClassicnetsError, match="mode must be 'quick' or 'full'"):
        reproduce.run_checks(["conv"], "slow")
    with pytest.raises(SystemExit) as exit_:
        run("reproduce", "--quick", "--full")
    assert exit_.value.code == 2


def test_names_list_every_check_in_order():
    from classicnets.runs.reproduce_training import TRAINING_CHECKS

    names = reproduce.check_names()
    assert names[: len(MINE)] == MINE
    assert names[len(MINE) :] == list(TRAINING_CHECKS)
    assert len(set(names)) == len(names)
