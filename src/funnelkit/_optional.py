"""
The optional extras, imported when they are used and installed: funnelkit
itself needs none of them, and imports none when it is imported.
"""

from __future__ import annotations

import importlib
from typing import Any


def numpy() -> Any:
    """
    numpy, when it is installed (an optional extra); ``None`` otherwise.
    """
    try:
        return importlib.import_module("numpy")
    except ImportError:
        return None
