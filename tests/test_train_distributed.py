"""Data-parallel training: N processes on gloo train the model one process trains with an N
times larger batch, only rank 0 writes, two "nodes" agree with one, and failures end every
rank with one sentence. Every subprocess has a timeout, so a hung rank fails the test."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.errors import ClassicnetsError
from classicnets.runs import resume
from classicnets.train.batching import TensorBatches
from classicnets.train.distributed import FAULT_ENV, DataParallel

TIMEOUT = 120  # seconds for one multi-process run on a busy 2-core machine
# 95 examples in global batches of 32: the last batch (31) splits unevenly, 15 + 16
LENET = ["lenet5", "--epochs", "1", "--limit", "95", "--val-split", "0", "--device", "cpu"]
LENET += ["--precision", "fp32", "--optimizer", "sgd", "--lr", "0.1"]
RESNET = ["resnet20", "--epochs", "1", "--limit", "95", "--val-split", "0", "--device", "cpu"]
RESNET += ["--precision", "fp32", "--optimizer", "sgd", "--lr", "0.1", "--image-size", "8"]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


def _classicnets(args: list[str], cwd, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "classicnets", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _weights(run_dir) -> dict[str, torch.Tensor]:
    tensors = load_file(os.path.join(run_dir, "last.safetensors"))
    return {k: v for k, v in tensors.items() if k.startswith("model.")}


def _assert_same(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    assert worst <= atol, f"weights differ by {worst:.3g}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """LeNet-5 on 2 processes of batch 16, into the default run directory under cwd."""
    cwd = tmp_path_factory.mktemp("nproc2")
    done = _classicnets(["train", *LENET, "--batch-size", "16", "--nproc", "2"], cwd)
    assert done.returncode == 0, done.stderr
    runs = list((cwd / "runs").iterdir())
    return runs, done


def test_two_processes_train_the_weights_of_one_with_twice_the_batch(tmp_path, two_processes):
    runs, _ = two_processes
    one = tmp_path / "one"
    assert main(["train", *LENET, "--batch-size", "32", "--out", str(one)]) == 0
    _assert_same(_weights(one), _weights(runs[0]), atol=1e-5)
    assert json.loads((runs[0] / "config.json").read_text())["nproc"] == 2


def test_only_rank_0_writes_and_prints(two_processes):
    runs, done = two_processes
    assert len(runs) == 1  # the default name holds the time: two writers would make two
    assert done.stdout.count("test accuracy") == 1
    assert done.stderr.count("training lenet5 on digits") == 1


def test_sync_bn_trains_the_batchnorm_model_of_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", *RESNET, "--batch-size", "32", "--out", str(one)]) == 0
    args = ["train", *RESNET, "--batch-size", "16", "--nproc", "2", "--sync-bn"]
    done = _classicnets([*args, "--out", str(two)], tmp_path)
    assert done.returncode == 0, done.stderr
    _assert_same(_weights(one), _weights(two), atol=1e-5)  # running statistics included


def test_two_nodes_train_what_one_node_of_two_processes_trains(tmp_path, two_processes):
    port = str(_free_port())
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                "2",
                "--node-rank",
                str(rank),
                "--nproc-per-node",
                "1",
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                port,
                "-m",
                "classicnets",
                "train",
                *LENET,
                "--batch-size",
                "16",
                "--out",
                str(tmp_path / "run"),
            ],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for rank in (0, 1)
    ]
    try:
        codes = [node.wait(timeout=TIMEOUT) for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert codes == [0, 0], nodes[0].stderr.read()
    _assert_same(_weights(tmp_path / "run"), _weights(two_processes[0][0]), atol=1e-6)


def test_a_rank_that_dies_ends_the_run_with_one_sentence(tmp_path):
    args = ["train", *LENET, "--batch-size", "16", "--nproc", "2", "--out", str(tmp_path / "r")]
    done = _classicnets(args, tmp_path, **{FAULT_ENV: "1:2"})  # rank 1 exits after update 2
    assert done.returncode == 2
    assert "rank 1" in done.stderr.lower()
    assert "Traceback" not in done.stderr


def test_nproc_0_is_one_sentence(capsys):
    assert main(["train", "--nproc", "0"]) == 2
    err = capsys.readouterr().err
    assert "--nproc must be a positive whole number, got 0." in err
    assert "Traceback" not in err


def test_a_two_process_run_resumes_in_two_processes(tmp_path, two_processes):
    run = tmp_path / "run"
    shutil.copytree(two_processes[0][0], run)
    with pytest.raises(ClassicnetsError, match="continue it with --nproc 2"):
        resume(run, epochs=2, device="cpu")  # one process cannot take up a run of two
    done = _classicnets(["train", "--resume", str(run), "--epochs", "2"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resuming lenet5 on digits at epoch 2 of 2" in done.stderr
    results = json.loads((run / "results.json").read_text())
    assert results["epochs"] == 2
    assert len((run / "metrics.csv").read_text().splitlines()) == 3  # header + 2 epochs


def test_the_shards_of_all_ranks_are_the_one_process_batches():
    x, y = torch.arange(95).view(95, 1), torch.arange(95)
    whole = list(TensorBatches(x, y, 32, seed=3).epoch(1))
    pieces, shares = [], []
    for rank in range(3):
        context = DataParallel(rank, 3, torch.device("cpu"))
        sharded = context.shard(TensorBatches(x, y, 32, seed=3))
        assert sharded.steps == len(whole) == 3
        batches = []
        for _, batch in sharded.epoch(1):
            batches.append(batch[1])
            shares.append(context.share)
        pieces.append(batches)
    for step, (_, (_, targets)) in enumerate(whole):
        joined = torch.cat([pieces[rank][step] for rank in range(3)])
        assert torch.equal(joined, targets)  # contiguous pieces, in rank order
        for rank in range(3):  # each share (which weighs the gradients) is the piece's size
            assert shares[rank * 3 + step] == len(pieces[rank][step]) / len(targets)
    assert [len(pieces[rank][2]) for rank in range(3)] == [10, 10, 11]  # the last 31


def test_more_processes_than_a_batch_has_examples_is_one_sentence():
    x, y = torch.zeros(9, 1), torch.arange(9)  # batches of 4 x 2: the last holds 1 example
    with pytest.raises(ClassicnetsError, match=r"leave 1 for the last batch, fewer than the 2"):
        DataParallel(0, 2, torch.device("cpu")).shard(TensorBatches(x, y, 8))
    with pytest.raises(ClassicnetsError, match="fewer than the 4 processes"):
        DataParallel(0, 4, torch.device("cpu")).shard(TensorBatches(x[:3], y[:3], 8))
