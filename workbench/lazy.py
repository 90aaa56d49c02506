"""Namespaces that import their modules on first use, so ``import workbench`` stays fast.

A subpackage's ``__init__`` lists which public names each of its modules holds; ``from workbench
import circuits`` then costs nothing, and ``circuits.attribute`` imports ``circuits.attribution``
(and torch) only when first called. Submodules are reachable too (``circuits.graph``).
"""

from __future__ import annotations

import importlib


def module_path(package: str, module: str) -> str:
    """The module that provides a name of ``package``: its own ``package.module``, or another stage's
    (``workbench.saes.loading``) whose name ``package`` hands out too."""
    return module if module.startswith("workbench.") else f"{package}.{module}"


def namespace(package: str, exports: dict[str, list[str]]):
    """``(__getattr__, __dir__)`` for ``package``, whose module ``m`` provides the names ``exports[m]``
    (``m`` is one of its own modules, or the full name of a module elsewhere in ``workbench``)."""
    owner: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in owner:
                raise ValueError(f"{package}: {name!r} is exported by both {owner[name]} and {module}")
            owner[name] = module
    shadowed = set(owner) & set(exports)
    if shadowed:
        # Once ``package.m`` is imported Python sets the attribute ``m`` to the module, hiding a name ``m``.
        raise ValueError(f"{package}: names {sorted(shadowed)} are also module names; reach them through the module")

    def __getattr__(name: str):
        if name in owner:
            return getattr(importlib.import_module(module_path(package, owner[name])), name)
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{package}.{name}":
                raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*owner, *(module for module in exports if "." not in module)})

    return __getattr__, __dir__
