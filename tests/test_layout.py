"""The package is laid out by pipeline stage, and dependencies point one way.

A stage may import an earlier stage, never a later one; views (``viz``) may read any stage but
import no training code; nothing in the pipeline imports the exercises or the artifact registry.
Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
import importlib
from pathlib import Path

import pytest

from workbench.lazy import module_path

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"

# Lower numbers come first in the pipeline. Modules at the package root not listed are shared ground (0).
STAGES = {
    "organisms": 1,
    "models": 1,
    "toys": 1,
    "activations": 2,
    "saes": 3,
    "transcoders": 3,
    "circuits": 4,
    "case_studies": 5,
    "steering": 5,
    "viz": 10,
    "exercises": 10,
    "artifacts": 11,
}
SUBPACKAGES = [name for name in STAGES if (PACKAGE / name / "__init__.py").exists()]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``workbench`` module ``path`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("workbench")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workbench"):
            found.add(node.module)
            # ``from workbench import organisms`` imports the subpackage ``workbench.organisms``
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).exists()
                      or (PACKAGE.parent / (f"{node.module}.{alias.name}".replace(".", "/") + ".py")).exists()}
    return found


def stage(module: str) -> int:
    parts = module.split(".")
    return STAGES.get(parts[1], 0) if len(parts) > 1 else 0


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_no_module_imports_a_later_stage(path):
    importer = module_name(path)
    later = sorted(m for m in imported_modules(path) if stage(m) > stage(importer))
    assert not later, f"{importer} (stage {stage(importer)}) imports later stages: {later}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "viz").rglob("*.py")), ids=lambda p: p.stem)
def test_views_import_no_training(path):
    training = sorted(m for m in imported_modules(path) if m.split(".")[-1] == "training")
    assert not training, f"{module_name(path)} imports training code: {training}"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_exported_name_exists(package):
    """Each subpackage's lazy namespace hands out names its modules really define."""
    namespace = importlib.import_module(f"workbench.{package}")
    for module, names in getattr(namespace, "EXPORTS", {}).items():
        source = importlib.import_module(module_path(f"workbench.{package}", module))
        for name in names:
            assert hasattr(source, name), f"{package}: {source.__name__}.{name}"
            assert getattr(namespace, name) is getattr(source, name)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_names_handed_out_from_another_stage_are_defined_there(package):
    """A subpackage may hand out another stage's name (``artifacts.model_sae``), but only one that stage
    defines itself (no name imported into it from elsewhere) and only from a stage it may import."""
    namespace = importlib.import_module(f"workbench.{package}")
    for module, names in getattr(namespace, "EXPORTS", {}).items():
        if module.startswith("workbench."):
            assert stage(module) <= stage(f"workbench.{package}"), f"{package} hands out names of a later stage: {module}"
            source = importlib.import_module(module)
            assert all(getattr(source, name).__module__ == module for name in names), (package, module, names)


def test_no_flat_prefixes_left():
    """File names that share a prefix with their neighbours want to be a folder (the style guide)."""
    prefixes = {p.stem.split("_")[0] for p in PACKAGE.glob("*_*.py")}
    shared = {prefix for prefix in prefixes if len(list(PACKAGE.glob(f"{prefix}_*.py"))) > 1}
    assert not shared, f"modules sharing a prefix at the package root: {shared}"


def test_hook_names_are_spelled_only_in_hooks():
    """Every place in a model is named through ``workbench.hooks`` (TransformerLens's vocabulary), never rebuilt."""
    spelled = [f"{module_name(path)}: {line.strip()}" for path in MODULES if path.name != "hooks.py"
               for line in path.read_text().splitlines() if re.search(r"""f?["']blocks\.""", line)]
    assert not spelled, "hook names built outside workbench.hooks:\n" + "\n".join(spelled)
