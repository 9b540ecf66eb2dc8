"""
Normalisation: the forms of names, phones, emails and web domains that two
entries of one company share, however each was typed.

Every function here is a pure function of its arguments: no locale, no
environment, no guessing of a country.
"""

# ruff: noqa: RUF002, RUF003 - full-width and CJK forms are what this is about

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from .. import _checks as c
from ..errors import MAX_LISTED, Problem, ValidationError

__all__ = [
    "COMPANY_SUFFIXES",
    "FREE_MAIL_DOMAINS",
    "MIN_PHONE_DIGITS",
    "name_tokens",
    "normalize_domain",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
]

#: The legal-form words stripped from the end of a company name (after
#: case folding and Unicode NFKC, so ``Co.``, ``CO`` and ``ｃｏ`` are one),
#: longest first, again and again, while a name is left: ``Acme Co., Ltd.``
#: and ``ＡＣＭＥ有限公司`` are both ``acme``.  A CJK suffix is stripped from
#: the end of a word too (``阿里巴巴集团`` is ``阿里巴巴``), since CJK writes no
#: spaces.  Pass your own tuple as ``suffixes=`` to replace it; ``()`` strips
#: nothing (the right choice for people's names).
COMPANY_SUFFIXES: tuple[str, ...] = (
    # English and the common European forms
    "incorporated", "inc", "corporation", "corp", "company", "co", "limited", "ltd", "llc", "llp",
    "plc", "group", "holdings", "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv",
    "ab", "oy", "pte", "pty",
    # CJK: simplified and traditional Chinese, Japanese
    "股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "集团", "集團", "公司",
    "株式会社", "有限会社",
)  # fmt: skip

#: Mail providers anyone can sign up to: an address there says nothing about
#: the company, so its domain is never a company's domain (a subdomain, such
#: as ``vip.163.com``, neither).  Pass your own tuple as ``free_mail=``.
FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "126.com", "139.com", "163.com", "189.cn", "aliyun.com", "aol.com", "daum.net", "foxmail.com",
    "gmail.com", "gmx.com", "gmx.de", "gmx.net", "googlemail.com", "hanmail.net", "hotmail.com",
    "icloud.com", "live.com", "mac.com", "mail.ru", "me.com", "msn.com", "naver.com", "outlook.com",
    "proton.me", "protonmail.com", "qq.com", "sina.cn", "sina.com", "sohu.com", "web.de", "yahoo.co.jp",
    "yahoo.com", "yandex.com", "yandex.ru", "yeah.net", "ymail.com",
)  # fmt: skip

#: A phone number with fewer digits than this (after normalisation) is too
#: short to tell anyone apart (an extension, a typo): it is no key.
MIN_PHONE_DIGITS = 7
#: E.164 numbers have at most 15 digits, the country code included.
MAX_PHONE_DIGITS = 15

# Hiragana, katakana, CJK (extension A, unified, compatibility), Hangul, CJK extension B and beyond.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
#: A word: a run of CJK characters, or a run of other letters and digits.
_WORD = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_CJK_ONLY = re.compile(f"[{_CJK}]+")
#: Apostrophes join: "McDonald's" is one word.
_APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc")
#: A national trunk prefix written in brackets after an international code: "+44 (0)20 7946 0000".
_TRUNK = re.compile(r"(?<=\d)\s*\(0\)")
_EXTENSION = re.compile(r"(?:ext\.?|extension|x|#|转|分机)\s*[0-9]+\s*$", re.IGNORECASE)
_NON_DIGITS = re.compile(r"[^0-9]+")
#: Scheme, credentials, then the host (up to a port, path, query or fragment).
_HOST = re.compile(r"(?:[a-z][a-z0-9+.-]*://|//)?(?:[^@/?#]*@)?([^/?#:]*)")
_DOMAIN = re.compile(r"^(?:[^\W_](?:[^\W_]|-)*\.)+[^\W_](?:[^\W_]|-)*$")
_WWW = re.compile(r"^www[0-9]*\.")
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def _fold(text: str) -> str:
    """NFKC (full-width forms to their plain ones), then case folding (ASCII: lower case, the same)."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


def _words(text: str) -> list[str]:
    """The words of *text*: case folded, NFKC, split at punctuation, spaces and script changes."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower().replace("'", ""))
    return _WORD.findall(_fold(text).translate(_APOSTROPHES))


class _Suffixes:
    """A tuple of suffixes, ready to strip: by their last word, and CJK ones as one pattern."""

    __slots__ = ("by_last", "cjk")

    def __init__(self, suffixes: tuple[str, ...]) -> None:
        table = {tuple(_words(s)) for s in suffixes}
        table.discard(())
        ordered = sorted(table, key=lambda words: (-sum(map(len, words)), -len(words), words))
        self.by_last: dict[str, tuple[tuple[str, ...], ...]] = {}
        for words in ordered:
            self.by_last[words[-1]] = (*self.by_last.get(words[-1], ()), words)
        cjk = [w[0] for w in ordered if len(w) == 1 and _CJK_ONLY.fullmatch(w[0])]
        self.cjk = re.compile(f"(?:{'|'.join(map(re.escape, cjk))})$") if cjk else None

    def __bool__(self) -> bool:
        return bool(self.by_last)


@functools.lru_cache(maxsize=64)
def _suffix_table(suffixes: tuple[str, ...]) -> _Suffixes:
    """*suffixes* ready to strip (cached: the default tuple is parsed once)."""
    return _Suffixes(suffixes)


def _strip(words: list[str], table: _Suffixes) -> list[str]:
    """*words* without the legal-form suffixes of *table* at their end; never all of them."""
    by_last, cjk = table.by_last, table.cjk
    while True:
        last = words[-1]
        for suffix in by_last.get(last, ()):
            n = len(suffix)
            if len(words) > n and (n == 1 or tuple(words[-n:]) == suffix):
                del words[-n:]
                break
        else:
            found = cjk.search(last) if cjk is not None else None
            if found is None or found.start() == 0:
                return words
            words[-1] = last[: found.start()]


def check_strings(value: object, path: str, what: str) -> tuple[str, ...]:
    """
    *value*, a list, tuple or set of non-blank strs (a set read sorted), as a
    tuple; else a ValidationError at *path* naming each bad item.
    """
    if isinstance(value, tuple) and all(type(s) is str and s.strip() for s in value):
        return value
    if not isinstance(value, list | tuple | set | frozenset):
        raise c.at(path, c.wrong_type(value, f"a list or tuple of {what}"))
    items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
    problems: list[Problem] = []
    for i, item in enumerate(items):
        problem = c.name(item)
        if problem is not None:
            problems.append(problem.prefixed(f"{path}[{i}]"))
            if len(problems) >= MAX_LISTED:
                break
    if problems:
        raise ValidationError(problems)
    return tuple(items)


def _text(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise c.at(path, c.wrong_type(value, "a str"))
    return value


def name_tokens(text: str, *, suffixes: Iterable[str] = COMPANY_SUFFIXES) -> tuple[str, ...]:
    """
    The words of a name as :func:`normalize_name` sees them: case folded,
    Unicode NFKC (full-width letters and digits become plain ones),
    punctuation and spaces dropped, a change between CJK and other scripts a
    word break, and the legal-form *suffixes* stripped from the end.

    >>> name_tokens("ACME Trading Co., Ltd.")
    ('acme', 'trading')
    >>> name_tokens("ＡＣＭＥ有限公司")
    ('acme',)

    Cost: O(len(text) + len(suffixes)).
    """
    text = _text(text, "text")
    table = _suffix_table(check_strings(suffixes, "suffixes", "suffixes"))
    words = _words(text)
    return tuple(_strip(words, table)) if words and table else tuple(words)


def normalize_name(text: str, *, suffixes: Iterable[str] = COMPANY_SUFFIXES) -> str:
    """
    A name in the form that two spellings of one company share: its
    :func:`name_tokens` joined by single spaces.  ``""`` when nothing is left
    (a name of punctuation only).  A name that is only a suffix keeps it
    (``"Company"`` is ``"company"``).  Pass ``suffixes=()`` for people.

    >>> normalize_name("ＡＣＭＥ有限公司") == normalize_name("acme-co") == normalize_name("Acme, Inc.")
    True
    >>> normalize_name("Zhang  Wei ", suffixes=())
    'zhang wei'

    Cost: O(len(text) + len(suffixes)).
    """
    return " ".join(name_tokens(text, suffixes=suffixes))


def check_country_code(value: object) -> str | None:
    """*value*, one to three ASCII digits (a leading ``+`` dropped), or ``None``; else an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise c.at("country_code", c.wrong_type(value, "a country calling code (a str such as '86')"))
    digits = value.removeprefix("+")
    if not (1 <= len(digits) <= 3 and digits.isascii() and digits.isdigit()):
        msg = f"{c.show(value)} is not a country calling code: one to three digits, such as '86' or '+1'"
        raise ValidationError.single("country_code", msg, code="format")
    return digits


def normalize_phone(text: str, *, country_code: str | None = None) -> str | None:
    """
    A phone number as its digits in international form (E.164 without the
    ``+``), or ``None`` when it has fewer than :data:`MIN_PHONE_DIGITS`
    digits besides the country code (and a trunk ``0``), or more than 15 in
    all.

    Full-width digits count as digits; an extension at the end (``ext 12``,
    ``x12``, ``#12``, ``转12``) is dropped.  A number written with ``+`` or
    ``00`` is international already.  Any other number is national: one
    leading trunk ``0`` is dropped, and *country_code* (such as ``"86"``;
    never guessed) put in front, unless the number has 11 digits or more and
    starts with it already.  Without *country_code*, national numbers are
    compared as national digits only, so ``010 1234 5678`` matches
    ``(010) 12345678`` but not ``+86 10 1234 5678``: pass the country code
    your numbers are local to.

    >>> normalize_phone("+86 138-1234-5678")
    '8613812345678'
    >>> normalize_phone("０１０－１２３４ ５６７８", country_code="86")
    '861012345678'
    >>> normalize_phone("(415) 555-0100 ext. 7", country_code="1")
    '14155550100'

    Cost: O(len(text)).
    """
    return phone(_text(text, "text"), check_country_code(country_code))


def phone(text: str, code: str | None) -> str | None:
    """:func:`normalize_phone` of checked arguments."""
    folded = text if text.isascii() else unicodedata.normalize("NFKC", text)
    folded = _EXTENSION.sub("", folded.strip())
    folded = _TRUNK.sub("", folded, count=1)  # "+44 (0)20 ...": the national trunk 0 dialled at home only
    if folded.isascii():
        digits = _NON_DIGITS.sub("", folded)
    else:  # digits of any script: Arabic-Indic, Devanagari ...
        digits = "".join(str(unicodedata.decimal(ch)) for ch in folded if ch.isdecimal())
    if folded.startswith("+"):
        number, least = digits, MIN_PHONE_DIGITS + 1
    elif digits.startswith("00"):
        number, least = digits[2:], MIN_PHONE_DIGITS + 1
    elif code is not None and len(digits) >= 11 and digits.startswith(code):
        number, least = digits, MIN_PHONE_DIGITS + len(code)
    else:
        national = digits.removeprefix("0")
        if len(national) < MIN_PHONE_DIGITS:
            return None
        number, least = (national if code is None else code + national), 0
    if not least <= len(number) <= MAX_PHONE_DIGITS:
        return None
    return number


def normalize_email(text: str, *, drop_dots: bool = False) -> str | None:
    """
    An email address case folded (NFKC, so full-width forms too), without
    ``mailto:`` and surrounding spaces; ``None`` when it is not an address
    (no ``@``, nothing before it, no dot in the domain, spaces inside).

    Dots in the part before the ``@`` are kept: most providers tell
    ``a.b@`` from ``ab@``.  With *drop_dots*, they are dropped for Gmail
    (``gmail.com``, ``googlemail.com``, which Gmail ignores them at, and
    ``googlemail.com`` becomes ``gmail.com``).  A ``+tag`` is always kept.

    >>> normalize_email(" Ann.Lee@ACME.com ")
    'ann.lee@acme.com'
    >>> normalize_email("Ann.Lee@googlemail.com", drop_dots=True)
    'annlee@gmail.com'

    Cost: O(len(text)).
    """
    text = _text(text, "text")
    if not isinstance(drop_dots, bool):
        raise c.at("drop_dots", c.wrong_type(drop_dots, "a bool"))
    return email(text, drop_dots)


def email(text: str, drop_dots: bool) -> str | None:
    """:func:`normalize_email` of checked arguments."""
    folded = _fold(text).strip().removeprefix("mailto:")
    local, at, domain = folded.rpartition("@")
    domain = domain.rstrip(".")
    if not at or not local or "@" in local or not _DOMAIN.match(domain) or any(ch.isspace() for ch in local):
        return None
    if drop_dots and domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
        if not local:
            return None
    return f"{local}@{domain}"


def check_free_mail(value: object) -> frozenset[str]:
    """The free-mail domains *value* names, each normalised; else an error at ``free_mail``."""
    if isinstance(value, tuple) and value is FREE_MAIL_DOMAINS:
        return _DEFAULT_FREE
    names = check_strings(value, "free_mail", "mail domains")
    return frozenset(d for d in (_domain(n) for n in names) if d is not None)


def _domain(text: str) -> str | None:
    """The host name of a URL, a bare domain or an email address, or ``None``."""
    folded = _fold(text).strip()
    if "@" in folded and "://" not in folded:
        host = folded.rpartition("@")[2]
    else:
        found = _HOST.match(folded)
        host = found.group(1) if found else ""
    host = _WWW.sub("", host.rstrip("."))
    return host if _DOMAIN.match(host) else None


_DEFAULT_FREE = frozenset(d for d in map(_domain, FREE_MAIL_DOMAINS) if d is not None)


def is_free(domain: str, free: frozenset[str]) -> bool:
    """Whether *domain* (normalised) is one of *free* or a subdomain of one."""
    if domain in free:
        return True
    parts = domain.split(".")
    return any(".".join(parts[i:]) in free for i in range(1, len(parts) - 1))


def normalize_domain(text: str, *, free_mail: Iterable[str] = FREE_MAIL_DOMAINS) -> str | None:
    """
    The web domain of a company from a URL, a bare domain or an email
    address: case folded (NFKC), without scheme, credentials, port, path,
    query, a leading ``www.`` and a trailing dot.  ``None`` when there is no
    domain in *text*, or when it is a free-mail provider's (one of
    *free_mail* or a subdomain of one: ``gmail.com``, ``qq.com``,
    ``163.com`` ... never count as a company's domain).

    >>> normalize_domain("HTTPS://www.Acme.com:8443/about?x=1")
    'acme.com'
    >>> normalize_domain("ann@acme.com.cn")
    'acme.com.cn'
    >>> normalize_domain("someone@qq.com") is None
    True

    Cost: O(len(text) + len(free_mail)).
    """
    text = _text(text, "text")
    free = check_free_mail(free_mail)
    host = _domain(text)
    if host is None or is_free(host, free):
        return None
    return host
