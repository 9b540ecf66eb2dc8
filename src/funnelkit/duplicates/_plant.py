"""
plant_duplicates(): a seeded book of customers and leads with duplicates
planted in it, and the truth, to measure a matcher's precision and recall.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from fractions import Fraction
from itertools import combinations
from typing import Any

import attrs

from .. import _checks as c
from ..entities import Customer, Lead
from ..errors import ValidationError
from ._match import Contact, DuplicateReport

#: The most companies one call plants.
MAX_COMPANIES = 200_000
_T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)

_ONSETS = (
    "b",
    "ch",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "qu",
    "r",
    "s",
    "sh",
    "t",
    "v",
    "w",
    "x",
    "z",
)
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ao", "ei", "ou")
_CODAS = ("", "", "", "n", "ng", "r", "x", "l")
_WORDS = (
    "Trading", "Technology", "Logistics", "Foods", "Systems", "Electric", "Pharma", "Textiles",
    "Machinery", "Software", "Chemicals", "Motors", "Media", "Energy", "Steel", "Optics",
)  # fmt: skip
_CITIES = ("Beijing", "Shanghai", "Shenzhen", "Hangzhou", "Suzhou", "Wuhan", "Chengdu", "Xiamen")
_HANZI = (
    "华瑞泰鑫盛达恒通宏远博安康明佳信诚德中金海天星光美新东方汇丰润凯隆兴嘉"
    "永昌和祥荣福聚创鼎力合宇辉云峰立成富利源长盈晨锦益"
)
_CN_WORDS = ("科技", "贸易", "物流", "食品", "电子", "制药", "纺织", "机械", "软件", "化工")
_CN_CITIES = ("北京", "上海", "深圳", "杭州", "苏州", "武汉", "成都", "厦门")
_SUFFIXES = ("Inc.", "Co., Ltd.", "Ltd", "LLC", "Corp.", "Co.", "Limited", "")
_CN_SUFFIXES = ("有限公司", "股份有限公司", "集团", "公司", "")
_FULL_WIDTH = {i: i + 0xFEE0 for i in range(0x21, 0x7F)} | {0x20: 0x3000}


@attrs.frozen(kw_only=True)
class Planted:
    """
    A book of *customers* and *leads* with duplicates planted in it: the
    *contacts* of each record (phones and websites as a host would keep
    them), and the *truth*: each company entered more than once, as the
    ``(kind, id)`` of its entries (a cluster of :class:`DuplicateReport`'s
    form).
    """

    customers: tuple[Customer, ...]
    leads: tuple[Lead, ...]
    contacts: Mapping[str, Contact]
    truth: tuple[tuple[tuple[str, str], ...], ...]

    @property
    def records(self) -> tuple[Customer | Lead, ...]:
        """
        The customers, then the leads.
        """
        return (*self.customers, *self.leads)

    def precision_recall(self, report: DuplicateReport) -> tuple[Fraction, Fraction]:
        """
        How well *report* found the truth, pair by pair of its clusters: of
        the pairs within a found cluster, the share within a true one
        (precision; 1 when none was found), and of the pairs within a true
        cluster, the share found (recall; 1 when there is none).
        Cost: O(p) for p pairs within the clusters.
        """
        c.require(report, DuplicateReport, "a DuplicateReport", "report")
        found = _pairs(report.clusters)
        true = _pairs(self.truth)
        hits = len(found & true)
        precision = Fraction(hits, len(found)) if found else Fraction(1)
        recall = Fraction(hits, len(true)) if true else Fraction(1)
        return precision, recall


def _pairs(clusters: Iterable[Iterable[tuple[str, str]]]) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    return {(a, b) for cluster in clusters for a, b in combinations(sorted(cluster), 2)}


class _Maker:
    """One seeded draw of companies and their entries."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.brands: set[str] = set()

    def brand(self, chinese: bool) -> str:
        rng = self.rng
        while True:
            if chinese:
                name = "".join(rng.choice(_HANZI) for _ in range(rng.randint(2, 3)))
            else:
                name = "".join(
                    rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                    for _ in range(rng.randint(2, 4))
                ).title()
            if name not in self.brands:
                self.brands.add(name)
                return name

    def company(self) -> dict[str, Any]:
        rng = self.rng
        chinese = rng.random() < 0.3
        brand = self.brand(chinese)
        city = rng.choice(_CN_CITIES if chinese else _CITIES) if rng.random() < 0.4 else ""
        word = rng.choice(_CN_WORDS if chinese else _WORDS) if rng.random() < 0.6 else ""
        latin = _ascii(brand) if chinese else brand.lower()
        return {
            "chinese": chinese,
            "city": bool(city),
            "parts": [p for p in (city, brand, word) if p],
            "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
            "domain": f"{latin}{rng.choice(['', '-group', 'tech'])}."
            f"{rng.choice(['com', 'cn', 'com.cn', 'net'])}",
        }

    def name(self, company: dict[str, Any], variant: bool) -> str:
        """The company's name as one entry has it: the plain form, or a variant of it."""
        rng = self.rng
        parts = list(company["parts"])
        suffixes = _CN_SUFFIXES if company["chinese"] else _SUFFIXES
        if not variant:
            joiner = "" if company["chinese"] else " "
            return (joiner.join(parts) + joiner + suffixes[0]).strip()
        brand = 1 if company["city"] else 0
        if rng.random() < 0.25:
            parts[brand] = _typo(rng, parts[brand])
        if company["city"] and rng.random() < 0.15:
            parts = parts[1:]
        if company["chinese"]:
            text = "".join(parts) + rng.choice(_CN_SUFFIXES)
            if rng.random() < 0.2:
                text = " ".join(parts) + " " + rng.choice(_CN_SUFFIXES)
            return text.strip()
        joiner = rng.choice([" ", " ", "-", "  ", ""])
        text = joiner.join(parts) + rng.choice([" ", ", ", " "]) + rng.choice(_SUFFIXES)
        text = text.strip(" ,")
        text = (text.upper(), text.lower(), text.title(), text)[rng.randrange(4)]
        if rng.random() < 0.15:
            text = text.translate(_FULL_WIDTH)
        return text

    def phone(self, company: dict[str, Any]) -> str:
        digits: str = company["phone"]
        form = self.rng.randrange(5)
        return (
            f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}",
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"0086{digits}",
            digits.translate(_FULL_WIDTH),
            f"(+86) {digits}",
        )[form]

    def website(self, company: dict[str, Any]) -> str:
        domain: str = company["domain"]
        return self.rng.choice(
            [f"https://www.{domain}/", domain, f"http://{domain}/about", f"WWW.{domain.upper()}"]
        )

    def email(self, company: dict[str, Any], i: int) -> str:
        if self.rng.random() < 0.3:
            return f"buyer{self.rng.randrange(10**6)}@{self.rng.choice(['qq.com', '163.com', 'gmail.com'])}"
        return f"{self.rng.choice(['sales', 'info', 'li.wei', 'ann'])}{i}@{company['domain']}"


def _ascii(text: str) -> str:
    return "".join(f"{ord(ch):x}"[-3:] for ch in text)


def _typo(rng: random.Random, word: str) -> str:
    """*word* with one letter changed, dropped, doubled or two swapped (not the first)."""
    if len(word) < 4:
        return word
    k = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:k] + rng.choice("aeiou") + word[k + 1 :]
    if kind == 1:
        return word[:k] + word[k + 1 :]
    if kind == 2:
        return word[:k] + word[k] + word[k:]
    return word[:k] + word[k + 1] + word[k] + word[k + 2 :]


def _count(value: object, name: str, low: int, high: int) -> int:
    number = c.as_int(value)
    if isinstance(value, bool) or number is None:
        raise c.at(name, c.wrong_type(value, "an int"))
    if not low <= number <= high:
        msg = f"{c.show(value)} is outside [{low:,}, {high:,}]"
        raise ValidationError.single(name, msg, code="range")
    return number


def plant_duplicates(*, companies: int = 100, seed: int = 0) -> Planted:
    """
    A seeded book of *companies* companies (at most 200,000), about a third
    of them entered more than once (as customers and leads), and the truth.

    Names are made up (Latin brands, and Chinese ones for about a third),
    sometimes with a city in front and an industry word after; each entry
    spells its company its own way: another legal form (``Inc.``,
    ``Co., Ltd.``, ``有限公司`` ...), case, spaces, hyphens, full-width
    letters, the city left out, or a typo in the brand.  About half the
    entries carry the company's phone (in one of five formats), website or
    email (a third of emails at a free-mail provider).  Different
    companies may share a city and an industry word, never a brand.  Ids
    say nothing of the truth.

    The same arguments give the same book.  Cost: O(companies).
    """
    n = _count(companies, "companies", 0, MAX_COMPANIES)
    rng = random.Random(_count(seed, "seed", 0, 2**128))  # noqa: S311 - seeded test data, not cryptography
    maker = _Maker(rng)
    entries: list[tuple[int, str, dict[str, Any]]] = []  # (company, kind, fields)
    for k in range(n):
        company = maker.company()
        copies = rng.choices((1, 2, 3), weights=(65, 25, 10))[0]
        for copy in range(copies):
            kind = "customer" if copy == 0 or rng.random() < 0.5 else "lead"
            fields: dict[str, Any] = {"name": maker.name(company, variant=copy > 0 or rng.random() < 0.5)}
            if rng.random() < 0.5:
                fields["phone"] = maker.phone(company)
            if rng.random() < 0.4:
                fields["website"] = maker.website(company)
            if rng.random() < 0.4:
                fields["email"] = maker.email(company, copy)
            entries.append((k, kind, fields))
    rng.shuffle(entries)
    customers, leads = [], []
    contacts: dict[str, Contact] = {}
    members: dict[int, list[tuple[str, str]]] = {}
    for i, (k, kind, fields) in enumerate(entries):
        ident = f"{'c' if kind == 'customer' else 'l'}{i:06d}"
        created = _T0 + dt.timedelta(hours=i % 5000)
        members.setdefault(k, []).append((kind, ident))
        if kind == "customer":
            customers.append(Customer(id=ident, name=fields["name"], created_at=created))
            extra = Contact(
                phones=[fields["phone"]] if "phone" in fields else [],
                emails=[fields["email"]] if "email" in fields else [],
                websites=[fields["website"]] if "website" in fields else [],
            )
        else:
            leads.append(
                Lead(
                    id=ident,
                    source="web",
                    created_at=created,
                    company=fields["name"],
                    contact_phone=fields.get("phone"),
                    contact_email=fields.get("email"),
                )
            )
            extra = Contact(websites=[fields["website"]] if "website" in fields else [])
        if extra != Contact():
            contacts[ident] = extra
    order = {"customer": 0, "key_person": 1, "lead": 2}
    truth = sorted(
        tuple(sorted(group, key=lambda m: (order[m[0]], m[1])))
        for group in members.values()
        if len(group) > 1
    )
    return Planted(customers=tuple(customers), leads=tuple(leads), contacts=contacts, truth=tuple(truth))
