"""The dependency directions of DESIGN.md, checked in fresh interpreters.

- ``import tabsynth`` and ``import tabsynth.evaluation`` do not import torch;
- ``tabsynth.evaluation`` never imports tabsynth's models, transforms or privacy internals;
- ``tabsynth.privacy`` never imports anything of ``tabsynth`` outside itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("stmt", ["import tabsynth", "import tabsynth.evaluation",
                                  "from tabsynth import datasets, Metadata"])
def test_light_imports_do_not_load_torch(stmt: str) -> None:
    mods = _modules_after(stmt)
    assert "torch" not in mods
    assert "tabsynth.models" not in mods


def test_evaluation_does_not_import_models_or_transforms() -> None:
    mods = _modules_after("import tabsynth.evaluation")
    forbidden = {m for m in mods if m.startswith(("tabsynth.models", "tabsynth.transformer",
                                                   "tabsynth.artifact", "opacus"))}
    assert not forbidden


def _imports_of(folder: Path) -> list[tuple[Path, str, int]]:
    found = []
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path, a.name, 0) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                found.append((path, node.module or "", node.level))
    return found


@pytest.mark.parametrize("folder,own", [("privacy", "tabsynth.privacy"),
                                        ("evaluation", "tabsynth.evaluation")])
def test_subpackages_import_nothing_of_tabsynth_outside_themselves(folder: str, own: str) -> None:
    bad = []
    for path, module, level in _imports_of(ROOT / folder):
        if level >= 2:  # relative import climbing out of the subpackage
            bad.append(f"{path.name}: {'.' * level}{module}")
        if level == 0 and module.startswith("tabsynth") and not module.startswith(own):
            bad.append(f"{path.name}: {module}")
    assert not bad, f"{folder}/ reaches outside itself: {bad}"


def test_evaluation_never_imports_torch_statically() -> None:
    bad = [f"{p.name}: {m}" for p, m, lvl in _imports_of(ROOT / "evaluation")
           if lvl == 0 and m.split(".")[0] in {"torch", "opacus"}]
    assert not bad
