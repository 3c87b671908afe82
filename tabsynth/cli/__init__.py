"""The ``tabsynth`` command line: thin wrappers over the public API."""

from ._app import main

__all__ = ["main"]
