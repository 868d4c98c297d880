"""Languages of the pages: message catalogs, numbers, money and dates in the reader's locale.

Every visible string of a page goes through :func:`tr` (or :func:`ntr` for counted nouns): the
English text is the message id, as in gettext, and a language other than English looks it up in its
catalog, ``helpers/locale/<language>/*.po`` (gettext PO files, read with Babel; one file per package
so that packages are translated independently). Sentences are whole templates with named fields
(``tr("{n} customers bought again", n=...)``), never English fragments glued together. A message
missing from a catalog falls back to English; the tests find such messages.

Numbers, money, percentages and dates are formatted with Babel's CLDR data for the language
(``fmt_money(3_416_406, "CNY")`` is ``CNY 3,416,406`` in English and ``¥341.6万`` in Chinese).

The current language is set once per process (a notebook's kernel) by :func:`set_language`;
``language`` is a run parameter (``en`` or ``zh-CN``).

Adding a language: add it to :data:`LANGUAGES` and to the ``language`` parameter's choices, copy
``helpers/locale/zh-CN/`` to ``helpers/locale/<language>/`` and translate every ``msgstr``
(``make i18n-check`` lists what is missing), add its fonts to :mod:`helpers.page.fonts` if its script
needs them (see ``docs/architecture.md``, "Languages").
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from pathlib import Path

__all__ = ["LANGUAGES", "set_language", "language", "tr", "ntr", "N_", "catalog", "babel_locale",
           "fmt_money", "fmt_number", "fmt_int", "fmt_pct", "fmt_points", "fmt_date", "fmt_month",
           "fmt_quarter", "fmt_p"]

#: Languages with a catalog (``en`` needs none: its messages are the ids).
LANGUAGES: tuple[str, ...] = ("en", "zh-CN")
_BABEL = {"en": "en", "zh-CN": "zh_Hans_CN"}
_DIR = Path(__file__).parent
_current = "en"


def set_language(lang: str) -> None:
    """Make ``lang`` the language of everything formatted from now on in this process."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {list(LANGUAGES)}")
    _current = lang


def language() -> str:
    """The current language (``en`` until :func:`set_language` is called)."""
    return _current


def babel_locale(lang: str | None = None) -> str:
    """Babel's locale name for a language (``zh-CN`` -> ``zh_Hans_CN``)."""
    return _BABEL[lang or _current]


@cache
def catalog(lang: str) -> dict[str, str | tuple[str, ...]]:
    """Message id -> translation of ``lang``, from every ``helpers/locale/<lang>/*.po`` file.

    Fuzzy and empty entries are left out (they fall back to English). Plural entries map to a
    tuple of forms.
    """
    from babel.messages.pofile import read_po
    out: dict[str, str | tuple[str, ...]] = {}
    folder = _DIR / lang
    if not folder.is_dir():
        return out
    for po in sorted(folder.glob("*.po")):
        with open(po, "rb") as f:
            cat = read_po(f, locale=_BABEL[lang])
        for m in cat:
            if not m.id or m.fuzzy:
                continue
            if isinstance(m.id, tuple | list):
                forms = tuple(m.string) if isinstance(m.string, tuple | list) else (m.string,)
                if all(forms):
                    out[m.id[0]] = forms
            elif m.string:
                out[m.id] = m.string
    return out


def N_(message: str) -> str:
    """Mark a constant string for translation without translating it yet (it is passed to :func:`tr` later)."""
    return message


def tr(message: str, /, **fields: object) -> str:
    """``message`` in the current language, with ``{fields}`` filled in.

    Parameters
    ----------
    message : str
        The English text (the message id), a whole sentence or label.
    **fields
        Values for the ``{name}`` fields of the template; format them first with the ``fmt_*``
        functions when they are numbers a reader sees.
    """
    text = message
    if _current != "en":
        found = catalog(_current).get(message)
        if isinstance(found, str):
            text = found
    return text.format(**fields) if fields else text


def ntr(singular: str, plural: str, n: float, /, **fields: object) -> str:
    """A message whose wording depends on a count ``n`` (``{n}`` is filled in with ``n``, formatted)."""
    fields = {"n": fmt_int(n) if float(n).is_integer() else fmt_number(n), **fields}
    if _current != "en":
        found = catalog(_current).get(singular)
        if isinstance(found, tuple):
            return found[0].format(**fields)  # the languages so far have one plural form
    return (singular if n == 1 else plural).format(**fields)


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_int(x: float | int | None) -> str:
    """A whole number with the locale's grouping (``12,345``); ``n/a`` for a missing value."""
    from babel.numbers import format_decimal
    if _nan(x):
        return tr("n/a")
    return format_decimal(round(float(x)), format="#,##0", locale=babel_locale())


def fmt_number(x: float | None, decimals: int = 1) -> str:
    """A number with ``decimals`` decimals and the locale's grouping."""
    from babel.numbers import format_decimal
    if _nan(x):
        return tr("n/a")
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(float(x), format=pattern, locale=babel_locale())


def fmt_pct(x: float | None, decimals: int = 0, signed: bool = False) -> str:
    """A share as a percentage (``0.123`` -> ``12%``)."""
    from babel.numbers import format_percent
    if _nan(x):
        return tr("n/a")
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
    s = format_percent(float(x), format=pattern, locale=babel_locale())
    return ("+" + s) if signed and x > 0 else s


def fmt_points(x: float | None, decimals: int = 1) -> str:
    """A difference of two proportions in percentage points, signed (``0.131`` -> ``+13.1 points``)."""
    if _nan(x):
        return tr("n/a")
    return tr("{value} points", value=("+" if x > 0 else "") + fmt_number(100 * x, decimals))


def fmt_p(p: float | None) -> str:
    """A p-value as a reader expects it: ``< 0.001`` or two significant digits."""
    if _nan(p):
        return tr("n/a")
    if p < 0.001:
        return "< 0.001"
    return f"{p:.2g}" if p < 0.1 else f"{p:.2f}"


def fmt_money(x: float | None, currency: str, decimals: int = 0, compact: bool | None = None) -> str:
    """An amount of money in the locale's way.

    English: ``CNY 3,416,406`` (the ISO code, so that no reader confuses yuan with yen or dollars).
    Chinese: ``¥3,416`` and, from 10,000 on, ``¥341.6万`` / ``¥3.42亿`` (CLDR's compact forms).

    Parameters
    ----------
    x : float
    currency : str
        ISO 4217 code.
    decimals : int
        Decimals of a plain (not compact) amount.
    compact : bool, optional
        Force or forbid 万/亿 (K/M); by default compact in Chinese from 10,000 on, never in English.
    """
    from babel.numbers import format_compact_currency, format_currency
    if _nan(x):
        return tr("n/a")
    loc = babel_locale()
    if compact is None:
        compact = _current != "en" and abs(x) >= 10_000
    if compact:
        digits = 1 if abs(x) < 1e7 else 2
        if _current != "en" and 1e8 <= abs(x):
            digits = 2
        return format_compact_currency(float(x), currency, locale=loc, fraction_digits=digits)
    if _current == "en":
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        from babel.numbers import format_decimal
        return f"{currency} {format_decimal(float(x), format=pattern, locale=loc)}"
    return format_currency(float(x), currency, locale=loc, format="¤#,##0" + ("." + "0" * decimals if decimals else ""),
                           currency_digits=False)


def fmt_date(d: dt.date | str | None) -> str:
    """A day: ``2026-09-30`` in English (ISO, unambiguous), ``2026年9月30日`` in Chinese."""
    from babel.dates import format_date
    if d is None:
        return tr("n/a")
    d = _as_date(d)
    return d.isoformat() if _current == "en" else format_date(d, "long", locale=babel_locale())


def fmt_month(d: dt.date | str) -> str:
    """A month: ``Sep 2026`` / ``2026年9月``."""
    from babel.dates import format_skeleton
    return format_skeleton("yMMM", _as_date(d), locale=babel_locale())


def fmt_quarter(q: str) -> str:
    """A quarter label ``2026Q3``: ``2026Q3`` in English, ``2026年第三季度`` in Chinese."""
    if _current == "en":
        return q
    from babel.dates import format_date
    year, n = int(q[:4]), int(q[-1])
    return format_date(dt.date(year, 3 * n, 1), "y年QQQQ", locale=babel_locale())


def _as_date(d) -> dt.date:
    if isinstance(d, str):
        return dt.date.fromisoformat(d[:10])
    if isinstance(d, dt.datetime):
        return d.date()
    if hasattr(d, "date") and not isinstance(d, dt.date):
        return d.date()
    return d
