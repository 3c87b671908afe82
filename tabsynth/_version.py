"""The package version: the one place it is written (read by ``tabsynth.__version__``, the
model files' ``versions`` and, through ``[tool.setuptools.dynamic]``, pyproject.toml)."""

__version__ = "0.1.0"
