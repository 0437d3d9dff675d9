"""CIFAR-10 / CIFAR-100 in their binary and python forms, archived or extracted; the restricted
unpickler; bad files; and the real CIFAR-10."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from _synthetic import (
    CIFAR10_NAMES,
    cifar10_binary,
    cifar10_python,
    cifar100_binary,
    cifar100_python,
    cifar100_truth,
    write_tar,
    write_tree,
)
from classicnets.data import cifar, load_dataset, locate_dataset
from classicnets.data.safe_pickle import unpickle
from classicnets.errors import ClassicnetsError, CorruptFileError, DatasetNotFoundError


def one_sentence(err: BaseException) -> str:
    message = str(err)
    assert "\n" not in message and message.endswith(".") and "Traceback" not in message
    return message


def check_split(data, images, labels, classes):
    assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
    assert np.array_equal(data.images.numpy(), images)
    assert np.array_equal(data.labels.numpy(), labels)
    assert data.classes == tuple(classes)


@pytest.mark.parametrize("mode", ["w:gz", "w:xz"])
def test_cifar10_binary_archive(tmp_path, mode):
    files, truth = cifar10_binary(per_batch=3)
    suffix = {"w:gz": ".tar.gz", "w:xz": ".tar.xz"}[mode]
    write_tar(tmp_path / f"cifar-10-binary{suffix}", files, mode)
    train = load_dataset("cifar10", "train", tmp_path)
    test = load_dataset("cifar10", "test", tmp_path)
    check_split(train, *truth["train"], CIFAR10_NAMES)
    check_split(test, *truth["test"], CIFAR10_NAMES)
    assert len(train) == 15 and len(test) == 3
    expected = truth["train"][0].transpose(1, 0, 2, 3).reshape(3, -1) / 255
    assert np.allclose(train.mean, expected.mean(1), atol=1e-4)
    assert np.allclose(train.std, expected.std(1), atol=1e-4)
    assert test.mean == train.mean  # normalisation always comes from the training images
    assert locate_dataset("cifar10", tmp_path) == tmp_path


def test_cifar10_extracted_folder_and_the_folder_itself(tmp_path):
    files, truth = cifar10_binary(per_batch=2, seed=3)
    write_tree(tmp_path, files)
    check_split(load_dataset("cifar10", "train", tmp_path), *truth["train"], CIFAR10_NAMES)
    inner = tmp_path / "cifar-10-batches-bin"
    check_split(load_dataset("cifar10", "test", inner), *truth["test"], CIFAR10_NAMES)


def test_cifar10_python_form_as_python2_wrote_it(tmp_path):
    files, truth = cifar10_python(per_batch=2)
    write_tar(tmp_path / "cifar-10-python.tar.gz", files)
    check_split(load_dataset("cifar10", "train", tmp_path), *truth["train"], CIFAR10_NAMES)
    check_split(load_dataset("cifar10", "test", tmp_path), *truth["test"], CIFAR10_NAMES)


@pytest.mark.parametrize("form", ["binary", "python"])
def test_cifar100_fine_and_coarse(tmp_path, form):
    truth = cifar100_truth()
    if form == "binary":
        write_tar(tmp_path / "cifar-100-binary.tar.gz", cifar100_binary(truth))
    else:
        write_tree(tmp_path, cifar100_python(truth))  # the extracted python folder
    for split in ("train", "test"):
        images, coarse, fine = truth[split]
        check_split(load_dataset("cifar100", split, tmp_path), images, fine, truth["fine_names"])
        data = load_dataset("cifar100", split, tmp_path, label="coarse")
        check_split(data, images, coarse, truth["coarse_names"])
        assert data.num_classes == 20


def test_label_option_is_checked(tmp_path):
    write_tar(tmp_path / "cifar-100-binary.tar.gz", cifar100_binary(cifar100_truth()))
    with pytest.raises(ClassicnetsError, match="--label must be one of coarse, fine") as info:
        load_dataset("cifar100", "train", tmp_path, label="medium")
    one_sentence(info.value)
    with pytest.raises(ClassicnetsError, match="'cifar10' does not take the option 'label'"):
        load_dataset("cifar10", "train", tmp_path, label="coarse")


def test_second_load_reads_the_cache_and_a_changed_archive_is_decoded_again(tmp_path, monkeypatch):
    files, truth = cifar10_binary(per_batch=2)
    archive = write_tar(tmp_path / "cifar-10-binary.tar.gz", files)
    load_dataset("cifar10", "train", tmp_path)
    decoded = []
    real = cifar._decode_bin
    monkeypatch.setattr(cifar, "_decode_bin", lambda *a: decoded.append(1) or real(*a))
    check_split(load_dataset("cifar10", "train", tmp_path), *truth["train"], CIFAR10_NAMES)
    assert decoded == []
    files, truth = cifar10_binary(per_batch=4, seed=9)
    write_tar(archive, files)
    os.utime(archive, ns=(1, 1))  # a different mtime even on coarse clocks
    check_split(load_dataset("cifar10", "train", tmp_path), *truth["train"], CIFAR10_NAMES)
    assert decoded == [1]


# ------------------------------------------------------------------------------- bad input
def test_missing_member(tmp_path):
    files, _ = cifar10_binary()
    del files["cifar-10-batches-bin/data_batch_3.bin"]
    write_tar(tmp_path / "cifar-10-binary.tar.gz", files)
    with pytest.raises(CorruptFileError, match=r"cifar-10-binary\.tar\.gz lacks data_batch_3\.bin"):
        load_dataset("cifar10", "train", tmp_path)


def test_record_file_of_wrong_length(tmp_path):
    files, _ = cifar10_binary()
    files["cifar-10-batches-bin/test_batch.bin"] += b"\x00\x01"
    write_tree(tmp_path, files)
    with pytest.raises(CorruptFileError) as info:
        load_dataset("cifar10", "test", tmp_path)
    message = one_sentence(info.value)
    assert "test_batch.bin holds 9,221 bytes" in message and "3,073-byte records" in message


def test_label_out_of_range(tmp_path):
    truth = cifar100_truth()
    truth["test"][2][1] = 100  # a fine label past the last class
    write_tree(tmp_path, cifar100_binary(truth))
    with pytest.raises(CorruptFileError) as info:
        load_dataset("cifar100", "train", tmp_path)
    assert "test.bin holds fine label 100 at record 1, outside 0..99" in one_sentence(info.value)


def test_not_an_archive(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"not a tarball at all")
    with pytest.raises(CorruptFileError, match="as a tar archive") as info:
        load_dataset("cifar10", "train", tmp_path)
    one_sentence(info.value)


def test_offline_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSICNETS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("cifar100", "test")
    message = one_sentence(info.value)
    assert "cifar-100-binary.tar.gz" in message and "--data-dir" in message
    assert str(tmp_path / "nowhere" / "cifar100") in message


class _RunsCode:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("func", [os.system, eval])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, func):
    marker = tmp_path / "ran"
    command = f"touch {marker}" if func is os.system else f"open({str(marker)!r}, 'w')"
    truth = cifar100_truth()
    files = cifar100_python(truth)
    batch = {b"data": _RunsCode(func, command), b"fine_labels": [], b"coarse_labels": []}
    files["cifar-100-python/train"] = pickle.dumps(batch, protocol=2)
    assert pickle.loads(files["cifar-100-python/train"]) is not None and marker.exists()
    marker.unlink()  # the plain unpickler does run it; ours must not
    write_tar(tmp_path / "cifar-100-python.tar.gz", files)
    with pytest.raises(CorruptFileError, match="refusing to load it") as info:
        load_dataset("cifar100", "train", tmp_path)
    assert f".{func.__name__} while unpickling" in one_sentence(info.value)
    assert not marker.exists()


def test_unpickler_admits_numpy_arrays_only():
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    for protocol in (2, 4, 5):
        restored = unpickle(pickle.dumps({"a": array, "b": [1, "x"]}, protocol), "f")
        assert np.array_equal(restored["a"], array) and restored["b"] == [1, "x"]
    with pytest.raises(CorruptFileError, match="collections.OrderedDict"):
        unpickle(pickle.dumps(__import__("collections").OrderedDict()), "f")
    with pytest.raises(CorruptFileError, match="not a readable dataset pickle"):
        unpickle(b"\x80\x02}q\x00", "f")


# ------------------------------------------------------------------------- the real dataset
@pytest.mark.data
def test_real_cifar10(data_root):
    train = load_dataset("cifar10", "train")
    test = load_dataset("cifar10", "test")
    assert train.images.shape == (50000, 3, 32, 32) and test.images.shape == (10000, 3, 32, 32)
    assert torch.bincount(train.labels).tolist() == [5000] * 10
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    assert train.classes == tuple(CIFAR10_NAMES)
    # the well-known statistics of the training images
    assert np.allclose(train.mean, (0.4914, 0.4822, 0.4465), atol=1e-4)
    assert np.allclose(train.std, (0.2470, 0.2435, 0.2616), atol=1e-4)
    measured = test.images.float().mean((0, 2, 3)) / 255
    assert torch.allclose(measured, torch.tensor([0.4942, 0.4851, 0.4504]), atol=1e-4)
    assert locate_dataset("cifar10") == data_root / "cifar10"
    again = load_dataset("cifar10", "test")  # from the cache now
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)
