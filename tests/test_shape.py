"""The shape the code keeps: small modules and functions, and a core that knows nothing of
Telegram's library or Celery (so it can be read, tested and reused on its own)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "core", "tasks")
# The local Telegram every test talks to is held to the same shape as the product.
SHAPED = (*PRODUCT, "sandbox")
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 50
# Libraries core/ must not import: it is the domain, driven by bot/ and tasks/.
FRAMEWORKS = ("telegram", "celery", "kombu", "redbeat")


def modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules(*SHAPED), ids=name)
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name(path)} has {lines} lines: split it by concern"


@pytest.mark.parametrize("path", modules(*SHAPED), ids=name)
def test_functions_stay_short(path: Path) -> None:
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{name(path)}: {', '.join(long)}"


def imported(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", modules("core"), ids=name)
def test_core_imports_no_framework(path: Path) -> None:
    used = imported(ast.parse(path.read_text())) & set(FRAMEWORKS)
    assert not used, f"{name(path)} imports {sorted(used)}: core/ stays framework-free"


def test_the_checks_see_the_code() -> None:
    # A moved folder must not make these checks pass by finding nothing.
    assert len(modules(*PRODUCT)) > 60
    assert {p.parts[-2] for p in modules("core")} >= {"orders", "photos", "telegram"}
    assert {p.parts[-2] for p in modules("sandbox")} >= {"botapi", "entities", "control"}
