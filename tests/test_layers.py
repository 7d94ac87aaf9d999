"""The package's import layers: every import inside src/unrated goes down a floor, never up.

Read from the source (ast), function-level and TYPE_CHECKING imports included, so a lazy
import cannot hide a cycle. ``unrated/__init__.py`` is the public face: it may import
anything, and nothing inside the package imports it (``__version__`` lives in ``_version``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import unrated

SOURCE = Path(unrated.__file__).parent

#: Top-level module or package -> (floor, group). An import must go to a lower floor or stay
#: in its own group: the two groups of floor 4 (and the three of floor 5) do not import each
#: other. Private top-level helpers and the errors sit on floor 1, below the data.
LAYERS = {
    "errors": (1, "base"),
    "_atomic": (1, "base"),
    "_checks": (1, "base"),
    "_memory": (1, "base"),
    "_parallel": (1, "base"),
    "_progress": (1, "base"),
    "_ranking": (1, "base"),
    "_safetensors": (1, "base"),
    "_version": (1, "base"),
    "data": (2, "data"),
    "models": (3, "models"),
    "modelfile": (4, "modelfile"),
    "evaluation": (4, "evaluation"),
    "serving": (5, "serving"),
    "engines": (5, "engines"),
    "tuning": (5, "tuning"),
    "choosing": (5, "tuning"),
    "cli": (6, "cli"),
    "__main__": (6, "cli"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str) -> list[tuple[int, str]]:
    """(line, module name) of every import of an ``unrated`` module in ``source``.

    A relative import comes back as ``"."`` (the package uses absolute imports only).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "."))
                continue
            base = node.module or ""
            found.append((node.lineno, base))
            # ``from unrated.models import _ials_kernels`` imports a submodule: check it too
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] in ("unrated", "")]


def _existing(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (SOURCE / relative).with_suffix(".py").exists() or (SOURCE / relative).is_dir()


def violations(module: str, source: str) -> list[str]:
    """What is wrong with the imports of ``module`` (dotted name) given its ``source``."""
    top = module.split(".")[1]
    if top not in LAYERS:
        return [f"{module}: top-level name {top!r} has no floor in LAYERS"]
    floor, group = LAYERS[top]
    problems = []
    for line, name in _imports(source):
        if name == ".":
            problems.append(f"{module}:{line} has a relative import: write it absolute")
            continue
        if name == "unrated":
            problems.append(f"{module}:{line} imports unrated/__init__.py")
            continue
        if not _existing(name):
            continue  # a name imported from a module, not a module
        target = name.split(".")[1]
        if target not in LAYERS:
            problems.append(f"{module}:{line} imports {name}, which has no floor in LAYERS")
            continue
        their_floor, their_group = LAYERS[target]
        if their_group != group and their_floor >= floor:
            problems.append(
                f"{module}:{line} imports {name}: floor {floor} ({group}) may not import "
                f"floor {their_floor} ({their_group})"
            )
    return problems


def test_no_import_runs_up_a_floor_or_into_the_package_init() -> None:
    modules = sorted(SOURCE.rglob("*.py"))
    assert len(modules) > 50
    problems = [
        problem
        for path in modules
        if path != SOURCE / "__init__.py"
        for problem in violations(_module_name(path), path.read_text(encoding="utf-8"))
    ]
    assert problems == []


def test_every_top_level_module_has_a_floor() -> None:
    names = {p.stem for p in SOURCE.glob("*.py")} | {
        p.name for p in SOURCE.iterdir() if (p / "__init__.py").exists()
    }
    assert names - {"__init__"} == set(LAYERS)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("unrated.models.base", "from unrated import __version__", "imports unrated/__init__"),
        ("unrated.cli.fit", "import unrated", "imports unrated/__init__"),
        ("unrated.models.base", "from unrated.evaluation.metrics import ndcg_at_k", "floor 3"),
        ("unrated.data.io", "def f():\n    from unrated.models import base", "floor 2"),
        ("unrated.evaluation.compare", "from unrated import modelfile", "floor 4 (evaluation)"),
        ("unrated._checks", "from .data import ids", "relative import"),
        ("unrated.serving.app", "from unrated.engines import spark", "floor 5 (serving)"),
    ],
)
def test_the_check_catches(module: str, source: str, expected: str) -> None:
    assert any(expected in problem for problem in violations(module, source))


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("unrated.models.ials", "from unrated.models import _ials_kernels as kernels"),
        ("unrated.serving.served", "from unrated.modelfile import load_model"),
        ("unrated.cli.fit", "from unrated.cli import app"),
        ("unrated.models._validation", "from unrated._ranking import hit_matrix"),
    ],
)
def test_the_check_lets_through(module: str, source: str) -> None:
    assert violations(module, source) == []
