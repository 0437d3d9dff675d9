"""Datasets: the embedded digits, the real MNIST / Fashion-MNIST, and the offline failure."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import urllib.request

import pytest
import torch

import classicnets
from classicnets.data import download, list_datasets, load_dataset, locate_dataset
from classicnets.errors import ClassicnetsError, DatasetNotFoundError, UnknownNameError


def test_registry_names():
    assert {"digits", "mnist", "fashion-mnist"} <= set(list_datasets())
    assert classicnets.list_datasets() == list_datasets()


def test_unknown_dataset_suggests_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'mnist'.*Known datasets"):
        load_dataset("mnsit")


def test_bad_split_and_size():
    with pytest.raises(ClassicnetsError, match="split"):
        load_dataset("digits", "validation")
    with pytest.raises(ClassicnetsError, match="positive"):
        load_dataset("digits", image_size=0)


def test_digits_split_is_stratified_fixed_and_complete():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert len(train) + len(test) == 1797
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (1, 8, 8)
    assert int(train.images.max()) == 255 and int(train.images.min()) == 0
    # every class is about 25 % test
    share = torch.bincount(test.labels, minlength=10) / (
        torch.bincount(test.labels, minlength=10) + torch.bincount(train.labels, minlength=10)
    )
    assert torch.all((share - 0.25).abs() < 0.01)
    again = load_dataset("digits", "test")
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)
    assert len(train.mean) == 1 and 0.2 < train.mean[0] < 0.4


def test_resize_at_load_time():
    data = load_dataset("digits", "test", image_size=28)
    assert data.images.shape[1:] == (1, 28, 28) and data.images.dtype == torch.uint8


@pytest.mark.data
@pytest.mark.parametrize(
    ("name", "mean", "first_labels"),
    [("mnist", 0.1307, [5, 0, 4, 1, 9]), ("fashion-mnist", 0.2860, [9, 0, 0, 3, 0])],
)
def test_real_idx_datasets(data_root, name, mean, first_labels):
    train = load_dataset(name, "train")
    test = load_dataset(name, "test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.labels[:5].tolist() == first_labels
    assert torch.bincount(test.labels).tolist() == (
        [1000] * 10
        if name == "fashion-mnist"
        else [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    measured = train.images.float().mean().item() / 255
    assert abs(measured - mean) < 5e-4 and train.mean == (mean,)
    assert locate_dataset(name) == data_root / name


def test_root_argument_wins(data_root, tmp_path):
    shutil.copytree(data_root / "mnist", tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"broken")
    with pytest.raises(ClassicnetsError, match=r"t10k-labels-idx1-ubyte\.gz.*md5"):
        load_dataset("mnist", "test", root=tmp_path)


def test_offline_message_names_places_files_and_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSICNETS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion-mnist", "test")
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "--data-dir" in message
    assert str(tmp_path / "nowhere" / "fashion-mnist") in message
    assert "/usr/share/datasets/fashion-mnist" in message
    assert "\n" not in message


class _FakeResponse(io.BytesIO):
    status = 200
    headers = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_checks_md5_and_writes_atomically(tmp_path, monkeypatch):
    payload = gzip.compress(b"hello")
    good = download.RemoteFile("f.gz", hashlib.md5(payload).hexdigest(), ("http://x/f.gz",))
    bad = download.RemoteFile("g.gz", "0" * 32, ("http://x/g.gz",))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: _FakeResponse(payload))
    path = download.fetch(good, tmp_path)
    assert path.read_bytes() == payload and not list(tmp_path.glob("*.part"))
    with pytest.raises(ClassicnetsError, match="md5"):
        download.fetch(bad, tmp_path)
    assert not (tmp_path / "g.gz").exists() and not list(tmp_path.glob("*.part"))
