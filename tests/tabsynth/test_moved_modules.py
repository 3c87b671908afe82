"""Former module paths (moved into tabsynth.sampling) still import, with a DeprecationWarning,
as the very same module object, which keeps its own spec."""

from __future__ import annotations

import importlib
import sys

import pytest

from tabsynth._lazy import MOVED


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_former_path_is_the_new_module(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match="moved to"):
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)
    assert mod.__name__ == new and mod.__spec__.name == new  # not the former path's spec
