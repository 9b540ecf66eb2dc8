"""
The checks behind the documentation site, without building it: docs/check_site.py on
small pages, and the pictures of docs/_pictures.py as well-formed SVG.
"""

import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

DOCS = Path(__file__).parent.parent / "docs"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"funnelkit_docs_{name}", DOCS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check_site = load("check_site")

GOOD = """<html><body><article>
<p>Build it with <a class="autorefs" href="#funnelkit.Money.of"><code>Money.of()</code></a>.</p>
<div class="highlight"><pre><code><span class="gp">&gt;&gt;&gt; </span>Money.of("1", "USD")
Money('1', 'USD')
:func:`in a code block is fine`
</code></pre></div>
<p>Inline code may index twice: <code>matrix[0][1]</code>, or mention <code>:func:</code>.</p>
<blockquote><p>A quotation, not an example.</p></blockquote>
</article></body></html>
"""

BAD = """<html><body><article>
<p>See :func:<code>assign</code> and :class:<code>~funnelkit.errors.ValidationError</code>.</p>
<blockquote>
<blockquote>
<blockquote>
<p>price = Money.of("12.30", "USD")
price</p>
</blockquote>
</blockquote>
</blockquote>
<blockquote><p>&gt;&gt;&gt; 1 + 1</p></blockquote>
<p>Unresolved: [<code>replay()</code>][funnelkit.stages.replayy] and [funnelkit.nowhere][].</p>
<p><autoref identifier="funnelkit.gone">gone</autoref></p>
</article></body></html>
"""


def test_a_good_page_has_no_problems() -> None:
    assert check_site.check_page(GOOD) == []


def test_a_bad_page_shows_every_problem_with_its_line() -> None:
    problems = check_site.check_page(BAD)
    assert [line for line, _ in problems] == [2, 2, 4, 11, 12, 12, 13]
    text = "\n".join(what for _, what in problems)
    assert "a raw reST role: ':func:'" in text
    assert "a raw reST role: ':class:'" in text
    assert "<blockquote> inside a <blockquote>" in text
    assert "a >>> example inside a <blockquote>" in text
    assert "[`...`][funnelkit.stages.replayy]" in text
    assert "[funnelkit.nowhere][]" in text
    assert "<autoref> to funnelkit.gone" in text


def test_the_command_fails_on_a_bad_site_and_passes_a_good_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "index.html").write_text(GOOD, encoding="utf-8")
    assert check_site.main([str(tmp_path / "good")]) == 0
    (tmp_path / "bad" / "reference").mkdir(parents=True)
    (tmp_path / "bad" / "index.html").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad" / "reference" / "index.html").write_text(BAD, encoding="utf-8")
    assert check_site.main([str(tmp_path / "bad")]) == 1
    out = capsys.readouterr().out
    assert "reference/index.html:2: a raw reST role: ':func:'" in out
    assert "check_site: 2 pages, 7 problems" in out


@pytest.mark.parametrize("argv", [[], ["no-such-dir"]])
def test_the_command_needs_a_site_directory(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert check_site.main(argv) == 2
    assert "usage" in capsys.readouterr().err


def test_an_empty_site_fails(tmp_path: Path) -> None:
    assert check_site.main([str(tmp_path)]) == 1


def test_every_picture_is_an_svg_with_a_unique_name() -> None:
    pictures = load("_pictures").PICTURES
    assert pictures
    assert len({p.name for p in pictures}) == len(pictures)
    for picture in pictures:
        svg = ET.fromstring(picture.draw())  # noqa: S314 - SVG funnelkit drew, not outside data
        assert svg.tag == "{http://www.w3.org/2000/svg}svg", picture.title
        assert picture.method.startswith("funnelkit.")
