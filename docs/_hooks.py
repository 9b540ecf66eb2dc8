"""
mkdocs hooks (``hooks:`` in mkdocs.yml): the "Pictures" page, drawn by funnelkit itself
while the site is built.

Each picture in ``_pictures.PICTURES`` is written to ``pictures/<name>.svg`` in the site,
and the ``<!-- pictures -->`` marker in ``pictures.md`` is replaced with one section per
picture: its title, a link to the method that draws it and the image.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

PAGE = "pictures.md"
MARKER = "<!-- pictures -->"

#: The pictures of the current build: (title, method, path of the SVG in the site).
_drawn: list[tuple[str, str, str]] = []


def _load_pictures() -> ModuleType:
    """``_pictures.py`` beside this file, read afresh on every build (``mkdocs serve``)."""
    path = Path(__file__).with_name("_pictures.py")
    spec = importlib.util.spec_from_file_location("funnelkit_docs_pictures", path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:  # noqa: ARG001
    from mkdocs.structure.files import File

    _drawn.clear()
    for picture in _load_pictures().PICTURES:
        svg = picture.draw()
        if not svg.lstrip().startswith("<svg"):
            msg = f"picture {picture.title!r} drew {svg[:40]!r}, not an <svg> element"
            raise ValueError(msg)
        uri = f"pictures/{picture.name}.svg"
        files.append(File.generated(config, uri, content=svg))
        _drawn.append((picture.title, picture.method, uri))
    return files


def pictures_markdown(drawn: list[tuple[str, str, str]]) -> str:
    """
    One section per picture.

    >>> print(pictures_markdown([("Funnel", "funnelkit.forecast.FunnelReport.to_svg", "pictures/f.svg")]))
    ## Funnel
    <BLANKLINE>
    Drawn by [`FunnelReport.to_svg()`][funnelkit.forecast.FunnelReport.to_svg].
    <BLANKLINE>
    ![Funnel](pictures/f.svg)
    <BLANKLINE>
    """
    sections = []
    for title, method, uri in drawn:
        shown = ".".join(method.split(".")[-2:])
        sections.append(f"## {title}\n\nDrawn by [`{shown}()`][{method}].\n\n![{title}]({uri})\n")
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:  # noqa: ARG001
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        msg = f"{PAGE} has no {MARKER} marker for the pictures"
        raise ValueError(msg)
    return markdown.replace(MARKER, pictures_markdown(_drawn))
