"""
Check the built documentation site for what a reader should never see.

    python docs/check_site.py SITE_DIR

Fails (exit 1, one line per problem) when a page shows:

- a raw reST role (``:func:`name```, ``:class:``, ...) in its text instead of a link;
- a doctest example that Markdown read as quotes instead of code: ``>>>`` inside a
  ``<blockquote>``, or blockquotes nested in blockquotes (what ``>>> x`` becomes: each ``>``
  opens one, and the prompt itself disappears);
- a cross-reference autorefs could not resolve: a leftover ``<autoref>`` element, or
  ``[title][identifier]`` left as text.

Standard library only, so the test suite can import it without the ``docs`` extra.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

#: A reST cross-reference role as it shows when nothing turned it into a link.
RAW_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const):")
#: What autorefs leaves of a reference it could not resolve: [title][identifier] or [identifier][].
#: Inline code is blanked to _CODE before matching, so ``m[0][1]`` in code is not a reference.
UNRESOLVED = re.compile(r"\[[^\[\]\n]*\]\[[A-Za-z_][\w.]*(?:\([^()]*\))?\]|\[[A-Za-z_][\w.]*\]\[\]")
_CODE = "\x1a"
#: Elements whose text is not prose: code blocks, scripts, styles.
_SKIPPED = frozenset({"pre", "script", "style", "textarea"})


class _PageChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[tuple[int, str]] = []
        self._skipped = 0
        self._code = 0
        self._blockquotes = 0
        self._text: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "autoref":
            identifier = dict(attrs).get("identifier") or "?"
            self.problems.append((self.getpos()[0], f"unresolved cross-reference <autoref> to {identifier}"))
        elif tag in _SKIPPED:
            self._skipped += 1
        elif tag == "code":
            if self._code == 0 and self._skipped == 0:
                self._text.append((self.getpos()[0], _CODE))
            self._code += 1
        elif tag == "blockquote":
            self._blockquotes += 1
            if self._blockquotes == 2:
                what = "a <blockquote> inside a <blockquote>: a >>> example not rendered as code"
                self.problems.append((self.getpos()[0], what))
        elif tag in {"p", "div", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr"}:
            self._text.append((self.getpos()[0], "\n"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipped = max(0, self._skipped - 1)
        elif tag == "code":
            self._code = max(0, self._code - 1)
        elif tag == "blockquote":
            self._blockquotes = max(0, self._blockquotes - 1)

    def handle_data(self, data: str) -> None:
        line = self.getpos()[0]
        if self._blockquotes and ">>>" in data:
            self.problems.append((line, "a >>> example inside a <blockquote>: not rendered as code"))
        if not self._skipped and not self._code:
            self._text.append((line, data))

    def close(self) -> None:
        super().close()
        text = ""
        lines: list[int] = []
        for line, chunk in self._text:
            text += chunk
            lines.extend([line] * len(chunk))
        for pattern, what in ((RAW_ROLE, "a raw reST role"), (UNRESOLVED, "an unresolved cross-reference")):
            for match in pattern.finditer(text):
                shown = match.group(0).replace(_CODE, "`...`")
                self.problems.append((lines[match.start()], f"{what}: {shown!r}"))
        self.problems.sort()


def check_page(html: str) -> list[tuple[int, str]]:
    """
    The problems on one page, as (line, description).

    >>> check_page("<p>See <code>assign</code>.</p>")
    []
    >>> check_page("<p>See :func:<code>assign</code>.</p>")
    [(1, "a raw reST role: ':func:'")]
    >>> check_page("<blockquote><p>&gt;&gt;&gt; 1 + 1</p></blockquote>")
    [(1, 'a >>> example inside a <blockquote>: not rendered as code')]
    """
    checker = _PageChecker()
    checker.feed(html)
    checker.close()
    return checker.problems


def check_site(site: Path) -> list[str]:
    """Every problem in every page under *site*, as ``path:line: description``."""
    problems = []
    for page in sorted(site.rglob("*.html")):
        for line, what in check_page(page.read_text(encoding="utf-8")):
            problems.append(f"{page.relative_to(site)}:{line}: {what}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python docs/check_site.py SITE_DIR", file=sys.stderr)
        return 2
    site = Path(argv[0])
    pages = len(list(site.rglob("*.html")))
    if pages == 0:
        print(f"check_site: no HTML pages under {site}", file=sys.stderr)
        return 1
    problems = check_site(site)
    for problem in problems:
        print(problem)
    print(f"check_site: {pages} pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
