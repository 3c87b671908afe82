"""Lazy attributes of a package (so ``import tabsynth`` does not import torch or scikit-learn)
and the deprecated aliases of module paths that moved.

:func:`lazy_attributes` gives a package its module ``__getattr__``/``__dir__`` from a map
``{attribute: (module, name)}``; the value is imported on first access and cached in the
package's namespace. :data:`MOVED` maps the former module paths of this package to their new
homes: importing a former path gives the new module itself (same object, so monkeypatching
either name patches both) with a :class:`DeprecationWarning`. No file is left at the former
path, so git follows the move.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["MOVED", "install_moved_modules", "lazy_attributes"]


def lazy_attributes(
    package: str, lazy: Mapping[str, tuple[str, str]], namespace: dict[str, Any],
    public: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose attributes ``lazy`` load on use."""

    def __getattr__(name: str) -> Any:
        if name in lazy:
            module, attr = lazy[name]
            value = getattr(import_module(module), attr)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public) | set(lazy))

    return __getattr__, __dir__


#: Former module path -> where it lives now (issue 13: the sampling package).
MOVED: dict[str, str] = {
    "tabsynth.oversampling": "tabsynth.sampling.oversampler",
    "tabsynth.augment": "tabsynth.sampling.augment",
    "tabsynth.rare": "tabsynth.sampling.rare",
    "tabsynth.postprocess": "tabsynth.sampling.correction",
    "tabsynth.sampling_strategy": "tabsynth.sampling.strategy",
    "tabsynth.models.conditions": "tabsynth.sampling.conditions",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a former module path as its new module (with a DeprecationWarning)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there (the old path will "
                      "be removed in a later version).", DeprecationWarning, stacklevel=2)
        module = import_module(new)
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module: Any) -> None:
        """The new module is already executed; importlib set its ``__spec__`` to the former
        path's, so put back its own (``importlib.reload`` and tools read it)."""
        module.__spec__ = self._own_spec


def install_moved_modules() -> None:
    """Make the former module paths of :data:`MOVED` importable (idempotent)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
