"""
pytest collects docs/ for its doctests.  The site's build helpers import mkdocs and griffe
(the ``docs`` extra), which the test suite does not install: without them, skip those files.
"""

import importlib.util

collect_ignore = [
    name
    for name, needs in (("_griffe_docstrings.py", "griffe"), ("_hooks.py", "mkdocs"))
    if importlib.util.find_spec(needs) is None
]
