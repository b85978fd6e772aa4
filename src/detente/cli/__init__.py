"""The ``detente`` command: one module per command group (main, keys, users)."""

from detente.cli.main import main

__all__ = ["main"]
