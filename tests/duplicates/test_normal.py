"""Normalisation of names, phones, emails and web domains, against tables worked by hand."""

# ruff: noqa: RUF001 - full-width and CJK forms are what this is about

import pytest

from _problems import raises_problems
from funnelkit.duplicates import (
    COMPANY_SUFFIXES,
    FREE_MAIL_DOMAINS,
    name_tokens,
    normalize_domain,
    normalize_email,
    normalize_name,
    normalize_phone,
)

# Each row worked by hand: NFKC maps full-width forms (U+FF01..U+FF5E, U+3000) to ASCII, case
# folding lowers, punctuation and spaces split words, a change of script splits words, and the
# legal-form suffixes of COMPANY_SUFFIXES are stripped from the end, longest first.
NAMES = [
    ("ＡＣＭＥ有限公司", "acme"),  # full-width letters; 有限公司 after a script change
    ("acme-co", "acme"),
    ("Acme Co., Ltd.", "acme"),
    ("ACME, Inc.", "acme"),
    ("Acme Corp", "acme"),
    ("Acme LLC", "acme"),
    ("Acme GmbH", "acme"),
    ("  acme   trading  ", "acme trading"),
    ("Acme Trading Co. Ltd", "acme trading"),
    ("McDonald's", "mcdonalds"),  # an apostrophe joins
    ("阿里巴巴集团", "阿里巴巴"),  # a CJK suffix at the end of a CJK word
    ("华为技术股份有限公司", "华为技术"),  # the longest suffix first, not 公司 alone
    ("华为技术有限公司（深圳）", "华为技术有限公司 深圳"),  # a suffix only at the very end
    ("腾讯 控股 有限公司", "腾讯 控股"),
    ("Company", "company"),  # never strips the whole name
    ("有限公司", "有限公司"),
    ("Co. Ltd.", "co"),
    ("Straße GmbH", "strasse"),  # case folding: ß is ss
    ("ＴＥＳＴ　ＩＮＣ．", "test"),  # the ideographic space U+3000 is a space
    ("!!!", ""),
]


@pytest.mark.parametrize(("raw", "expected"), NAMES)
def test_names_normalise_as_worked_by_hand(raw, expected):
    """Each name of the table normalises to its worked form."""
    assert normalize_name(raw) == expected


def test_the_full_width_name_is_the_plain_one():
    """The issue's example: a full-width CJK entry and a hyphenated one are the same company."""
    assert normalize_name("ＡＣＭＥ有限公司") == normalize_name("acme-co") == normalize_name("Acme") == "acme"


def test_suffixes_are_the_callers_to_replace():
    """suffixes=() keeps every word; a custom tuple strips only its own words."""
    assert normalize_name("Acme Ltd", suffixes=()) == "acme ltd"
    assert normalize_name("Acme Ltd Holdings", suffixes=("Holdings",)) == "acme ltd"
    assert name_tokens("Acme Pty Ltd") == ("acme",)
    assert "有限公司" in COMPANY_SUFFIXES


PHONES = [
    ("+86 138-1234-5678", None, "8613812345678"),
    ("0086 13812345678", None, "8613812345678"),
    ("138 1234 5678", "86", "8613812345678"),
    ("１３８１２３４５６７８", "86", "8613812345678"),  # full-width digits
    ("(010) 1234-5678", "86", "861012345678"),  # trunk 0 dropped
    ("010 1234 5678", None, "1012345678"),  # no country code: national digits
    ("8613812345678", "86", "8613812345678"),  # 11+ digits starting with the code: as is
    ("(415) 555-0100 ext. 7", "1", "14155550100"),
    ("+1 415 555 0100 x12", None, "14155550100"),
    ("+44 (0)20 7946 0000", None, "442079460000"),  # the trunk 0 in brackets is not dialled from abroad
    ("+44 20 7946 0000", None, "442079460000"),
    ("+86 21 5555 6666 转 801", None, "862155556666"),
    ("12345", "86", None),  # too short
    ("call me", None, None),
    ("+1234567890123456", None, None),  # 16 digits: longer than E.164
]


@pytest.mark.parametrize(("raw", "code", "expected"), PHONES)
def test_phones_normalise_as_worked_by_hand(raw, code, expected):
    """Digits only, international form with the country code given, never guessed."""
    assert normalize_phone(raw, country_code=code) == expected


def test_the_country_code_may_have_a_plus():
    """'+86' and '86' are the same country code."""
    assert normalize_phone("138 1234 5678", country_code="+86") == "8613812345678"


EMAILS = [
    (" Ann.Lee@ACME.com ", False, "ann.lee@acme.com"),
    ("mailto:ann@acme.com", False, "ann@acme.com"),
    ("ＡＮＮ＠ＡＣＭＥ．ＣＯＭ", False, "ann@acme.com"),
    ("Ann.Lee@gmail.com", False, "ann.lee@gmail.com"),  # dots kept unless asked
    ("Ann.Lee@gmail.com", True, "annlee@gmail.com"),
    ("Ann.Lee@googlemail.com", True, "annlee@gmail.com"),
    ("Ann.Lee@acme.com", True, "ann.lee@acme.com"),  # only Gmail ignores dots
    ("ann+crm@acme.com", True, "ann+crm@acme.com"),  # a tag is kept
    ("not an email", False, None),
    ("@acme.com", False, None),
    ("ann@localhost", False, None),
    ("a b@acme.com", False, None),
]


@pytest.mark.parametrize(("raw", "drop_dots", "expected"), EMAILS)
def test_emails_normalise_as_worked_by_hand(raw, drop_dots, expected):
    """Case and width folded; Gmail dots dropped only when asked."""
    assert normalize_email(raw, drop_dots=drop_dots) == expected


DOMAINS = [
    ("HTTPS://www.Acme.com:8443/about?x=1#top", "acme.com"),
    ("acme.com", "acme.com"),
    ("acme.com:8443/x", "acme.com"),
    ("http://user:pw@acme.com.cn/", "acme.com.cn"),
    ("WWW.ACME.COM.", "acme.com"),
    ("//www2.acme.io/path", "acme.io"),
    ("ann@Acme.com", "acme.com"),
    ("ＡＣＭＥ．ＣＯＭ", "acme.com"),
    ("someone@qq.com", None),  # free mail
    ("https://mail.163.com/", None),  # a subdomain of free mail
    ("vip.163.com", None),
    ("gmail.com", None),
    ("not a domain", None),
    ("localhost", None),
]


@pytest.mark.parametrize(("raw", "expected"), DOMAINS)
def test_domains_normalise_as_worked_by_hand(raw, expected):
    """Scheme, credentials, port, path and www. go; free-mail domains are no company's."""
    assert normalize_domain(raw) == expected


def test_free_mail_is_the_callers_to_replace():
    """free_mail=() lets a free-mail domain count; a custom tuple adds a provider."""
    assert normalize_domain("ann@qq.com", free_mail=()) == "qq.com"
    assert normalize_domain("ann@acme.com", free_mail=("ACME.com",)) is None
    assert "qq.com" in FREE_MAIL_DOMAINS
    assert "163.com" in FREE_MAIL_DOMAINS


def test_bad_arguments_are_refused_by_name():
    """A non-str text, a bad country code, suffix or free-mail list: a typed error naming it."""
    with raises_problems(("text", "type")):
        normalize_name(5)
    with raises_problems(("country_code", "format")):
        normalize_phone("138", country_code="86a")
    with raises_problems(("country_code", "type")):
        normalize_phone("138", country_code=86)
    with raises_problems(("suffixes[1]", "empty")):
        normalize_name("acme", suffixes=("Ltd", " "))
    with raises_problems(("suffixes", "type")):
        normalize_name("acme", suffixes="Ltd")
    with raises_problems(("free_mail[0]", "type")):
        normalize_domain("acme.com", free_mail=[None])
    with raises_problems(("drop_dots", "type")):
        normalize_email("a@b.com", drop_dots="yes")
