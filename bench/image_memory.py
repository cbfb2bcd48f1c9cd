"""Peak memory of one image job at the 50 MP cap, per source mode (the worst cases).

Each source is rendered in a fresh child process that resets its peak resident set
(/proc/self/clear_refs) and reads VmHWM after `make_renditions`: the memory the job added.
The ratio is to the 24-bit RGB PNG of the same size (3 bytes a pixel, decoded in full).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

# 49.97 MP, just under core.photos.safety.MAX_PIXELS.
SIZE = (8660, 5770)

_CHILD = """
import sys, tempfile
from pathlib import Path
from core.photos.renditions import make_renditions
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = hwm()
with tempfile.TemporaryDirectory() as out:
    make_renditions(Path(sys.argv[1]), Path(out))
print(hwm() - base)
"""


def sources(folder: Path) -> dict[str, Path]:
    made = {
        "RGB PNG (baseline)": folder / "rgb.png",
        "16-bit grey PNG": folder / "grey16.png",
        "palette PNG + transparency": folder / "palette.png",
        "RGB JPEG": folder / "rgb.jpg",
    }
    Image.new("RGB", SIZE, (10, 200, 30)).save(made["RGB PNG (baseline)"])
    Image.new("I;16", SIZE, 40000).save(made["16-bit grey PNG"])
    palette = Image.new("P", SIZE, 3)
    palette.putpalette([i % 256 for i in range(768)])
    palette.save(made["palette PNG + transparency"], transparency=0)
    Image.new("RGB", SIZE, (10, 200, 30)).save(made["RGB JPEG"], quality=90)
    return made


def peak_mb(path: Path) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    )
    return int(run.stdout.strip())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        peaks = {name: peak_mb(path) for name, path in sources(Path(tmp)).items()}
    baseline = peaks["RGB PNG (baseline)"]
    for name, mb in peaks.items():
        print(f"{name}: peak +{mb} MB, {mb / baseline:.2f}× the RGB PNG")


if __name__ == "__main__":
    main()
