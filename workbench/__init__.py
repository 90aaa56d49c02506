"""workbench: a CPU-only, offline lab bench for mechanistic interpretability.

One subpackage per stage of the pipeline the course walks along:

    organisms (world + model) → activations → saes, transcoders → circuits (replacement model,
    attribution graph, interventions)

beside ``toys`` (toy models of superposition), ``viz`` (figures and widgets), ``exercises`` (the
notebooks' checks), ``hooks`` (every hook name) and ``artifacts`` (everything shipped, one command
line). Importing the package is cheap: a subpackage, and the torch, transformer-lens or sae-lens
it needs, loads when first used, so a notebook opens with ``from workbench import organisms, viz``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

__all__ = ["setup_notebook", "__version__"]


def setup_notebook(*args, **kwargs) -> dict:
    """The first call of every notebook; see ``workbench.notebook.setup_notebook``."""
    from workbench.notebook import setup_notebook as _setup

    return _setup(*args, **kwargs)


def __getattr__(name: str):
    """Import submodules on first attribute access, so ``import workbench`` stays fast."""
    try:
        module = importlib.import_module(f"workbench.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"workbench.{name}":
            raise
        raise AttributeError(f"module 'workbench' has no attribute {name!r}") from None
    globals()[name] = module
    return module
