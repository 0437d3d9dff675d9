"""The decoded-dataset cache: reuse, rebuild when the source changes or the entry is damaged,
atomic files, and a cache that cannot be written."""

from __future__ import annotations

import os

import numpy as np
import pytest

from classicnets.data.cache import cached, channel_stats, fingerprint
from classicnets.data.download import cache_dir


class Builder:
    """Counts its calls; returns arrays that depend on the source's content."""

    def __init__(self, source):
        self.source, self.calls = source, 0

    def __call__(self):
        self.calls += 1
        data = np.frombuffer(self.source.read_bytes(), np.uint8)
        return {"images": data.reshape(1, 1, 1, -1), "labels": np.arange(3)}, {"n": len(data)}


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"abcd")
    return path


def test_second_load_comes_from_the_cache(source):
    build = Builder(source)
    first = cached("toy", [source], {"size": 1}, build)
    second = cached("toy", [source], {"size": 1}, build)
    assert build.calls == 1
    assert np.array_equal(second["images"], first["images"]) and second.info == {"n": 4}
    assert second.folder.parent == cache_dir() / "decoded" / "toy"
    assert sorted(p.name.split("-")[0] for p in second.folder.iterdir()) == [
        "images",
        "labels",
        "meta.json",
    ]


def test_options_and_sources_key_separate_entries(source, tmp_path):
    build = Builder(source)
    a = cached("toy", [source], {"size": 1}, build)
    b = cached("toy", [source], {"size": 2}, build)
    other = tmp_path / "other.bin"
    other.write_bytes(b"abcd")
    c = cached("toy", [other], {"size": 1}, Builder(other))
    assert build.calls == 2 and len({a.folder, b.folder, c.folder}) == 3


def test_a_changed_source_is_rebuilt_and_old_arrays_removed(source):
    build = Builder(source)
    old = cached("toy", [source], {}, build)
    old_files = set(os.listdir(old.folder))
    source.write_bytes(b"abcdef")  # new size
    new = cached("toy", [source], {}, build)
    assert build.calls == 2 and new["images"].size == 6 and new.info == {"n": 6}
    assert cached("toy", [source], {}, build)["images"].size == 6 and build.calls == 2
    assert not old_files - {"meta.json"} & set(os.listdir(new.folder))
    os.utime(source, ns=(10**9, 10**9))  # same size, new mtime
    cached("toy", [source], {}, build)
    assert build.calls == 3


def test_a_folder_source_notices_a_new_file(tmp_path):
    folder = tmp_path / "tree"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "1.png").write_bytes(b"x")
    before = fingerprint([folder])
    assert fingerprint([folder]) == before
    (folder / "a" / "2.png").write_bytes(b"y")
    assert fingerprint([folder]) != before


@pytest.mark.parametrize("damage", ["meta", "array"])
def test_a_damaged_entry_is_rebuilt(source, damage):
    build = Builder(source)
    entry = cached("toy", [source], {}, build)
    if damage == "meta":
        (entry.folder / "meta.json").write_text("{not json")
    else:
        (entry.folder / entry.files["images"]).unlink()
    again = cached("toy", [source], {}, build)
    assert build.calls == 2 and np.array_equal(again["images"], entry["images"])


def test_writes_leave_no_temporary_files(source):
    entry = cached("toy", [source], {}, Builder(source))
    assert not [p for p in entry.folder.iterdir() if ".tmp" in p.name]


def test_an_unwritable_cache_warns_and_still_returns_the_data(source, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CLASSICNETS_CACHE", str(blocker))  # cannot hold folders
    with pytest.warns(UserWarning, match="Could not cache decoded toy"):
        entry = cached("toy", [source], {}, Builder(source))
    assert entry["images"].size == 4


def test_channel_stats_are_exact():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 3, 5, 7), dtype=np.uint8)
    mean, std = channel_stats(images)
    values = images.transpose(1, 0, 2, 3).reshape(3, -1) / 255
    assert np.allclose(mean, values.mean(1), atol=5e-5)
    assert np.allclose(std, values.std(1), atol=5e-5)
