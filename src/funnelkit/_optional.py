"""
The optional extras, imported when they are used and installed: funnelkit
itself needs none of them, and imports none when it is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import MissingDependencyError


def module(name: str) -> Any:
    """
    The optional module *name* (``numpy``, ``pandas``, ``pyarrow``) when it
    is installed; ``None`` otherwise.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def numpy() -> Any:
    """
    numpy, when it is installed (an optional extra); ``None`` otherwise.
    """
    return module("numpy")


def required(name: str, what: str) -> Any:
    """
    The optional module *name*, which *what* needs (``"to_frame()"``); when
    it is not installed, a MissingDependencyError saying what to install.
    """
    found = module(name)
    if found is None:
        msg = f"{what} needs {name}, an optional extra: pip install 'funnelkit[{name}]'"
        raise MissingDependencyError(msg)
    return found
