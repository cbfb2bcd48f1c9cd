"""Run every benchmark module's main(): `python -m bench`."""

from __future__ import annotations

import importlib
import pkgutil

import bench


def main() -> None:
    """Import each bench.* module and run its main()."""
    for module_info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        # Profiles (bench.profile_*) say where time goes; they measure no ratio.
        if module_info.name.startswith(("_", "profile_")):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        print(f"== bench.{module_info.name}")
        module.main()


if __name__ == "__main__":
    main()
