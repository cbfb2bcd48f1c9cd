"""What uv.lock says this machine's venv must hold, and how a venv differs from it.

uv.lock is a graph: the project's own entry lists its dependencies (with extras and markers)
and its dependency groups; each package lists its own. Walking it from the project with this
interpreter's marker environment gives exactly the set `uv sync --locked` installs here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.markers import Marker, default_environment
from packaging.utils import canonicalize_name


def _wanted(dep: Mapping[str, Any], environment: dict[str, str]) -> bool:
    marker = dep.get("marker")
    return marker is None or Marker(marker).evaluate(environment)


def locked_packages(
    lock: Mapping[str, Any], project: str, groups: Iterable[str] = ("dev",)
) -> dict[str, str]:
    """name → version of every package the lock installs for `project` on this interpreter."""
    environment = {k: str(v) for k, v in default_environment().items()}
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for package in lock["package"]:
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)

    def entry(dep: Mapping[str, Any]) -> Mapping[str, Any]:
        candidates = by_name[canonicalize_name(dep["name"])]
        if "version" in dep:
            candidates = [c for c in candidates if c["version"] == dep["version"]]
        return candidates[0]

    root = entry({"name": project})
    pending: list[tuple[Mapping[str, Any], str | None]] = [(root, None)]
    for group in groups:
        pending += [(entry(d), None) for d in root.get("dev-dependencies", {}).get(group, [])]
    found: dict[str, str] = {}
    seen: set[tuple[str, str | None]] = set()
    while pending:
        package, extra = pending.pop()
        key = (canonicalize_name(package["name"]), extra)
        if key in seen:
            continue
        seen.add(key)
        found[key[0]] = package["version"]
        deps = (
            package.get("dependencies", [])
            if extra is None
            else (package.get("optional-dependencies", {}).get(extra, []))
        )
        for dep in deps:
            if not _wanted(dep, environment):
                continue
            target = entry(dep)
            pending.append((target, None))
            pending += [(target, e) for e in dep.get("extra", [])]
    return found


def installed_packages() -> dict[str, str]:
    """name → version of every distribution this interpreter sees."""
    return {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }


@dataclass(frozen=True)
class Drift:
    missing: dict[str, str]  # in the lock, not installed
    extra: dict[str, str]  # installed, not in the lock
    changed: dict[str, tuple[str, str]]  # name → (locked, installed)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.changed)


def drift(locked: Mapping[str, str], installed: Mapping[str, str]) -> Drift:
    return Drift(
        missing={n: v for n, v in locked.items() if n not in installed},
        extra={n: v for n, v in installed.items() if n not in locked},
        changed={
            n: (v, installed[n]) for n, v in locked.items() if n in installed and installed[n] != v
        },
    )


def read_lock(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())
