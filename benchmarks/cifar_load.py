"""CIFAR-10 from an archive to uint8 tensors: the first load (decode, then write the cache) and the
second (read the cached .npy files), from the xz copy in ../shared/data and from a .tar.gz made
from it (the official archive is gzip; xz packs these random-looking pixels only 25 % smaller
but unpacks several times slower).

Run: CLASSICNETS_DATA=../shared/data python benchmarks/cifar_load.py
Writes benchmarks/results/cifar_load.json and prints a table. Each load uses a fresh cache
folder, so nothing from an earlier run is reused.
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import os
import shutil
import tempfile
import time
from pathlib import Path

from _machine import machine

import classicnets as cn

RESULTS = Path(__file__).parent / "results"


def timed_loads(root: Path, cache: Path) -> dict:
    """Seconds for both splits: first load into an empty cache, then again from the cache."""
    os.environ["CLASSICNETS_CACHE"] = str(cache)
    times = []
    for _ in range(2):
        began = time.perf_counter()
        train = cn.load_dataset("cifar10", "train", root)
        test = cn.load_dataset("cifar10", "test", root)
        times.append(time.perf_counter() - began)
    assert len(train) == 50000 and len(test) == 10000
    return {
        "first_s": round(times[0], 3),
        "cached_s": round(times[1], 4),
        "speedup": round(times[0] / times[1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("CLASSICNETS_DATA", "../shared/data"))
    args = parser.parse_args()
    xz = Path(args.data) / "cifar10" / "cifar-10-binary.tar.xz"
    results = {"machine": machine(), "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results["xz"] = timed_loads(xz.parent, tmp / "cache-xz")
        # The same tar, gzip-compressed at gzip's default level 6, as the official archive is.
        gz_dir = tmp / "gz"
        gz_dir.mkdir()
        with lzma.open(xz) as src, gzip.open(gz_dir / "cifar-10-binary.tar.gz", "wb", 6) as dst:
            shutil.copyfileobj(src, dst, 1 << 24)
        results["gz"] = timed_loads(gz_dir, tmp / "cache-gz")
        results["archive_mb"] = {
            "xz": round(xz.stat().st_size / 2**20, 1),
            "gz": round((gz_dir / "cifar-10-binary.tar.gz").stat().st_size / 2**20, 1),
        }
    results["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cifar_load.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'archive':8} {'MB':>6} {'first load':>11} {'cached':>8} {'speedup':>8}")
    for kind in ("gz", "xz"):
        r = results[kind]
        print(
            f"{kind:8} {results['archive_mb'][kind]:6.1f} {r['first_s']:10.2f}s "
            f"{r['cached_s']:7.3f}s {r['speedup']:7.0f}x"
        )


if __name__ == "__main__":
    main()
