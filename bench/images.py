"""Renditions benchmark: the naive copy-and-thumbnail loop against core.photos.renditions,
12 and 24 MP.

Time: each variant runs REPEATS times per image in this process, interleaved, each into a
fresh directory (ours would otherwise reuse its content-addressed files); the median counts.

Peak memory: tracemalloc cannot see Pillow's C allocations, so each measurement runs in a
fresh child process that imports Pillow and core.photos.renditions, resets its peak resident set
(writing 5 to /proc/self/clear_refs), runs the variant once and reads VmHWM: the peak the
work added on top of the interpreter. Not ru_maxrss: Linux carries the parent's peak into
a forked-and-exec'd child, so with this (large) benchmark process as parent the children's
baseline would already exceed the work. The median of MEMORY_REPEATS children counts.

Similarity: every output pair (naive vs ours, same size) is compared as RGB: PSNR from the
mean squared difference and the mean absolute difference, via ImageChops and ImageStat
(numpy is not a dependency). Both are also compared with an "ideal" reference (full decode,
one plain LANCZOS pass, no JPEG) to show which one a difference comes from.
"""

from __future__ import annotations

import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from core.photos.renditions import RENDITIONS, make_renditions

REPO = Path(__file__).resolve().parents[1]
PHOTOS = Path(__file__).resolve().parents[1] / "tests" / "data" / "exif-orientation"
SOURCE = PHOTOS / "Landscape_1.jpg"
SIZES = tuple((r.box_w, r.box_h) for r in RENDITIONS)
# 3:2 like the 1800x1200 source, so the enlargement keeps its aspect.
IMAGES = {"12 MP": (4242, 2828), "24 MP": (6000, 4000)}
REPEATS = 5
MEMORY_REPEATS = 3
GOAL_SPEEDUP = 3.0
GOAL_MEMORY = 1 / 3
GOAL_PSNR = 35.0

Variant = Callable[[Path, Path], list[Path]]


def naive(path: Path, out_dir: Path) -> list[Path]:
    """The baseline: open, then copy and thumbnail() once per size."""
    img = Image.open(path)
    outputs = []
    for size in SIZES:
        out = out_dir / f"naive-{size[0]}x{size[1]}.jpg"
        c = img.copy()
        c.thumbnail(size)
        c.save(out, optimize=True, quality=85)
        outputs.append(out)
    return outputs


def ours(path: Path, out_dir: Path) -> list[Path]:
    """core.photos.renditions: one downscaled decode, chained LANCZOS resizes."""
    return [f.path for f in make_renditions(path, out_dir)]


VARIANTS: dict[str, Variant] = {"naive": naive, "ours": ours}


def make_source(size: tuple[int, int], out: Path) -> Path:
    """A camera-like baseline JPEG: the real photo enlarged with LANCZOS."""
    with Image.open(SOURCE) as photo:
        photo.resize(size, Image.Resampling.LANCZOS).save(out, quality=92, progressive=False)
    return out


def _timed(variant: Variant, path: Path, work_dir: Path) -> float:
    """Seconds for one run into a fresh directory."""
    out_dir = Path(tempfile.mkdtemp(dir=work_dir))
    start = time.perf_counter()
    variant(path, out_dir)
    return time.perf_counter() - start


def _status_kib(field: str) -> int:
    """A VmXXX field of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def _child_peak(variant_name: str, path: str, out_dir: str) -> int:
    """In a fresh child: KiB of peak resident memory the variant adds over the imports."""
    Image.init()  # load every plugin now so it lands in the baseline, not in the work
    run = VARIANTS[variant_name]
    try:
        # Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS.
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kib("VmRSS")
    except OSError:
        # Not Linux: ru_maxrss still works, as long as the imports' peak stays below the work's.
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run(Path(path), Path(out_dir))
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    run(Path(path), Path(out_dir))
    return _status_kib("VmHWM") - before


def _peak_kib(variant_name: str, path: Path, work_dir: Path) -> int:
    """Median peak-memory delta over MEMORY_REPEATS fresh child processes."""
    # A plain subprocess rather than multiprocessing: no dependence on how bench was started.
    code = "import sys; from bench.images import _child_peak; print(_child_peak(*sys.argv[1:]))"
    peaks = []
    for _ in range(MEMORY_REPEATS):
        out_dir = tempfile.mkdtemp(dir=work_dir)
        done = subprocess.run(
            [sys.executable, "-c", code, variant_name, str(path), out_dir],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        peaks.append(int(done.stdout.strip()))
    return int(statistics.median(peaks))


def _rgb(image: Path | Image.Image) -> Image.Image:
    """An image file or image as RGB."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    with Image.open(image) as im:
        return im.convert("RGB")


def similarity(a: Path | Image.Image, b: Path | Image.Image) -> tuple[float, float]:
    """PSNR in dB and mean absolute difference (0-255) of two images, compared as RGB."""
    rgb_a, rgb_b = _rgb(a), _rgb(b)
    if rgb_a.size != rgb_b.size:
        rgb_b = rgb_b.resize(rgb_a.size, Image.Resampling.LANCZOS)
    stat = ImageStat.Stat(ImageChops.difference(rgb_a, rgb_b))
    mse = statistics.fmean(value**2 for value in stat.rms)
    psnr = math.inf if mse == 0 else 10 * math.log10(255**2 / mse)
    return psnr, statistics.fmean(stat.mean)


def references(path: Path, sizes: list[tuple[int, int]]) -> list[Image.Image]:
    """The slow ideal: full-resolution decode, one plain LANCZOS pass per size, no JPEG."""
    with Image.open(path) as im:
        im.load()
        return [im.resize(size, Image.Resampling.LANCZOS) for size in sizes]


def _sizes(paths: list[Path]) -> list[tuple[int, int]]:
    """Pixel sizes of image files."""
    sizes = []
    for path in paths:
        with Image.open(path) as im:
            sizes.append(im.size)
    return sizes


def bench_image(label: str, path: Path, work_dir: Path) -> bool:
    """Time, memory and similarity for one source image; True when every goal is met."""
    # Warm-up: page cache, lazy imports, first-call costs in both variants.
    outputs = {
        name: variant(path, Path(tempfile.mkdtemp(dir=work_dir)))
        for name, variant in VARIANTS.items()
    }
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(REPEATS):
        for name, variant in VARIANTS.items():
            times[name].append(_timed(variant, path, work_dir))
    median = {name: statistics.median(values) for name, values in times.items()}
    peak = {name: _peak_kib(name, path, work_dir) for name in VARIANTS}

    speedup = median["naive"] / median["ours"]
    memory_ratio = peak["ours"] / peak["naive"]
    print(f"\n{label} source {path.stat().st_size / 1e6:.1f} MB")
    for name in VARIANTS:
        print(
            f"  {name:6} median {median[name] * 1000:7.1f} ms   peak +{peak[name] / 1024:6.1f} MiB"
        )
    print(f"  speed-up x{speedup:.2f} (goal >= x{GOAL_SPEEDUP:.0f})")
    print(f"  peak memory ratio {memory_ratio:.3f} (goal <= {GOAL_MEMORY:.3f})")

    ok = speedup >= GOAL_SPEEDUP and memory_ratio <= GOAL_MEMORY
    naive_sizes = _sizes(outputs["naive"])
    our_sizes = _sizes(outputs["ours"])
    ideal = references(path, naive_sizes)
    for box, a, b, size_a, size_b, reference in zip(
        SIZES, outputs["naive"], outputs["ours"], naive_sizes, our_sizes, ideal, strict=True
    ):
        psnr, mae = similarity(a, b)
        naive_ideal, _ = similarity(reference, a)
        ours_ideal, _ = similarity(reference, b)
        same = "same size" if size_a == size_b else f"ours {size_b[0]}x{size_b[1]}!"
        print(
            f"  {box[0]}x{box[1]} box -> {size_a[0]}x{size_a[1]} ({same}):"
            f" naive vs ours PSNR {psnr:4.1f} dB, mean abs diff {mae:.2f};"
            f" vs ideal: naive {naive_ideal:4.1f} dB, ours {ours_ideal:4.1f} dB"
        )
        ok = ok and psnr > GOAL_PSNR and size_a == size_b
    return ok


def main() -> None:
    """Run the benchmark on freshly generated 12 and 24 MP JPEGs and print the comparison."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"renditions {', '.join(f'{w}x{h}' for w, h in SIZES)}; {REPEATS} timed runs each;"
        f" {os.cpu_count()} CPUs, load average {load:.1f} (timings are noisy when busy)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        work_dir = Path(tmp)
        results = []
        for label, size in IMAGES.items():
            source = make_source(size, work_dir / f"source-{size[0]}x{size[1]}.jpg")
            results.append(bench_image(label, source, work_dir))
    print("\nall goals met" if all(results) else "\nsome goals missed")


if __name__ == "__main__":
    main()
