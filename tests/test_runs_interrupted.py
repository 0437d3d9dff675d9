"""Exact resume through the command line, whatever stopped the run: for an image run with
augmentation and one-cycle and for a language model, a run that was never stopped, one stopped
by SIGINT mid-epoch and resumed, and one killed by SIGKILL mid-epoch (or in the middle of
writing its checkpoint) and resumed end with the same weights, bit for bit.

The interrupted runs are real processes that signal themselves at a chosen update, so the
interruption falls mid-epoch every time."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

import classicnets as cn
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main

TEXT = (
    "KING:\nWhat news, my lord? Speak, and be brief.\n\n"
    "QUEEN:\nThe news is good, my liege; the field is ours.\n\n"
) * 12

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    import classicnets as cn
    from classicnets.cli import main
    from classicnets.train import checkpoint

    how, at = sys.argv[1], int(sys.argv[2])
    if how == "write":  # die in the middle of the at-th checkpoint write
        calls, save = [0], checkpoint.save_file

        def dying(tensors, path, metadata):
            calls[0] += 1
            if calls[0] == at:
                open(path, "wb").write(b"half a checkpoint")
                os.kill(os.getpid(), signal.SIGKILL)
            return save(tensors, path, metadata=metadata)

        checkpoint.save_file = dying
    else:
        step = cn.Model.train_step

        def stepping(self, batch):
            logs = step(self, batch)
            if self.global_step + 1 == at:  # this update is the at-th
                os.kill(os.getpid(), signal.SIGINT if how == "int" else signal.SIGKILL)
            return logs

        cn.Model.train_step = stepping
    sys.exit(main(sys.argv[3:]))
    """
)


def interrupted(how: str, at: int, argv: list[str], cwd) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, how, str(at), *argv],
        cwd=cwd,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode


def final_weights(run_dir) -> dict[str, torch.Tensor]:
    return cn.load(run_dir / "last", device="cpu").module.state_dict()


def logged(run_dir) -> list[dict]:
    with open(run_dir / "metrics.csv") as f:
        timing = ("seconds", "examples_per_second")
        return [{k: v for k, v in row.items() if k not in timing} for row in csv.DictReader(f)]


def check_three_ways(tmp_path, argv: list[str], sigint_at: int, sigkill_at: int) -> None:
    straight = tmp_path / "straight"
    assert main([*argv, "--out", str(straight)]) == 0
    for how, at in (("int", sigint_at), ("kill", sigkill_at)):
        out = tmp_path / how
        code = interrupted(how, at, [*argv, "--out", str(out)], tmp_path)
        assert code == (130 if how == "int" else -signal.SIGKILL), how
        position = cn.load(out / "last").resume_point["position"]
        assert position[1] > 0, (how, position)  # the checkpoint is from mid-epoch
        assert main(["train", "--resume", str(out)]) == 0
        expected = final_weights(straight)
        for name, tensor in final_weights(out).items():
            assert torch.equal(tensor, expected[name]), (how, name)
        assert logged(out) == logged(straight), how


def test_an_image_run_with_augmentation_and_onecycle(tmp_path):
    argv = ["train", "mlp", "--epochs", "3", "--batch-size", "64", "--schedule", "onecycle"]
    argv += ["--augment", "crop:1,flip,cutout:3", "--seed", "3", "--save-every", "5"]
    argv += ["--device", "cpu", "--precision", "fp32"]  # the subprocesses see the real CPU
    # 19 updates per epoch: Ctrl-C after update 30 (epoch 2, step 11); SIGKILL after update
    # 33, when the last save was after update 30
    check_three_ways(tmp_path, argv, sigint_at=30, sigkill_at=33)


def test_a_language_model_run(tmp_path):
    corpus = tmp_path / "play.txt"
    corpus.write_text(TEXT)
    argv = ["train", "char_lstm", "--data", str(corpus), "--hidden", "32", "--layers", "1"]
    argv += ["--seq-len", "16", "--batch-size", "4", "--epochs", "2", "--save-every", "3"]
    argv += ["--seed", "2", "--device", "cpu", "--precision", "fp32"]
    # 15 updates per epoch: Ctrl-C after update 20; SIGKILL after 22 (saved after 21)
    check_three_ways(tmp_path, argv, sigint_at=20, sigkill_at=22)


def test_a_kill_during_the_checkpoint_write_keeps_the_previous_one(tmp_path):
    argv = ["train", "mlp", "--epochs", "2", "--batch-size", "64", "--save-every", "7"]
    argv += ["--seed", "1", "--device", "cpu", "--precision", "fp32"]
    straight = tmp_path / "straight"
    assert main([*argv, "--out", str(straight)]) == 0
    out = tmp_path / "killed"
    # writes: after updates 7 and 14, at the end of epoch 1 (update 19), then after 21: die
    assert interrupted("write", 4, [*argv, "--out", str(out)], tmp_path) == -signal.SIGKILL
    survivor = cn.load(out / "last")
    assert survivor.global_step == 19 and survivor.resume_point["position"] == (1, 0)
    assert main(["train", "--resume", str(out)]) == 0
    expected = final_weights(straight)
    for name, tensor in final_weights(out).items():
        assert torch.equal(tensor, expected[name]), name


@pytest.mark.parametrize("save_every", ["auto", "epoch"])
def test_saving_within_epochs_changes_nothing(tmp_path, save_every):
    """Saves read the random streams' state but never draw from them."""
    argv = ["train", "mlp", "--epochs", "2", "--augment", "cutout:3", "--device", "cpu"]
    assert main([*argv, "--save-every", "3", "--out", str(tmp_path / "often")]) == 0
    assert main([*argv, "--save-every", save_every, "--out", str(tmp_path / "rarely")]) == 0
    often, rarely = final_weights(tmp_path / "often"), final_weights(tmp_path / "rarely")
    assert all(torch.equal(often[k], rarely[k]) for k in often)
