"""The layout's rule that imports point down the data flow, checked on every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "aggregator"
# package → packages of the aggregator it must never import (ARCHITECTURE.md's layout)
FORBIDDEN = {
    "harvest": ("store", "index", "web", "oai", "pipeline"),
    "oai": ("harvest", "web", "index", "pipeline"),
    "web": ("harvest", "pipeline"),
    "store": ("harvest", "web", "oai", "index", "pipeline"),
}


def imported(path: Path) -> set[str]:
    """Every aggregator module a source file imports (at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("aggregator.")}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down_the_data_flow(package: str) -> None:
    files = sorted((SRC / package).rglob("*.py"))
    assert files
    for path in files:
        for module in imported(path):
            top = module.split(".")[1]
            assert top not in FORBIDDEN[package], f"{path.relative_to(SRC)} imports {module}"
