"""What the commands print stays readable at 80 columns: no line of any table or help runs past
the terminal's width."""

from __future__ import annotations

import pytest

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    assert main(["train", "mlp", "--epochs", "1", "--out", str(out), "--device", "cpu"]) == 0
    return out


@pytest.mark.parametrize(
    "argv",
    [
        ["data"],
        ["models"],
        ["summary", "lenet5"],
        ["summary", "resnet18"],
        ["summary", "char_lstm"],
        ["shape", "resnet18"],
        ["shape", "googlenet"],
        ["evaluate", "RUN"],
        ["conv", "-i", "0 1 2; 3 4 5; 6 7 8", "-k", "0 1; 2 3", "--explain"],
        ["pool", "-i", "0 1 2; 3 4 5; 6 7 8", "--explain"],
        ["kernels", "--list"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_output_fits_80_columns(argv, run_dir, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main([str(run_dir) if a == "RUN" else a for a in argv]) == 0
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert lines and max(len(line) for line in lines) <= 80


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "summary", "generate"])
def test_help_fits_80_columns(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
