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

Names that come from the parameters (the default segment map's segments, action groups and their
actions) are translated once, when the parameters are validated (:func:`translate_name`, message
context ``rfm segment`` / ``action group`` / ``recommended action`` in ``names.po``), so that a
zh-CN run uses the same Chinese names in every table, figure, JSON summary and export; names a
team wrote itself have no catalog entry and stay as written.

Adding a language: add it to :data:`LANGUAGES` (with its Babel locale in ``_BABEL``) and to the
``language`` parameter's choices (``helpers.frame.settings.Language``), copy ``helpers/locale/zh-CN/``
to ``helpers/locale/<language>/`` and translate every ``msgstr`` (``make i18n-check I18N_LANG=<language>``
lists what is missing, ``make i18n-extract`` adds new messages to the PO files), and add a font to
:mod:`helpers.page.fonts` if its script needs one (see the README, "Languages").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from functools import cache
from pathlib import Path

__all__ = ["LANGUAGES", "set_language", "language", "tr", "ntr", "N_", "NC_", "trc", "translate_name", "catalog",
           "babel_locale", "currency_unit", "fmt_money", "fmt_number", "fmt_int", "fmt_pct", "fmt_points", "fmt_date",
           "fmt_month", "fmt_quarter", "fmt_p", "fmt_compact", "fmt_range", "fmt_list", "fmt_clauses", "fmt_labelled",
           "MINUS"]

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
    tuple of forms. An entry with a message context (``msgctxt``) is keyed ``context + "\\x04" + id``,
    as in gettext.
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
            prefix = f"{m.context}{_CTX}" if m.context else ""
            if isinstance(m.id, tuple | list):
                forms = tuple(m.string) if isinstance(m.string, tuple | list) else (m.string,)
                if all(forms):
                    out[prefix + m.id[0]] = forms
            elif m.string:
                out[prefix + m.id] = m.string
    return out


_CTX = "\x04"


def translate_name(name: str, context: str, lang: str) -> str:
    """A name from the parameters in ``lang`` (``"Champions"``, context ``"rfm segment"`` -> ``"冠军客户"``).

    Used when the parameters are validated (see the module docstring); a name without a catalog
    entry (a team's own name, or already translated) is returned unchanged.
    """
    if lang == "en":
        return name
    found = catalog(lang).get(f"{context}{_CTX}{name}")
    return found if isinstance(found, str) else name


def trc(context: str, message: str, /, **fields: object) -> str:
    """Like :func:`tr`, for a message whose translation depends on a context (gettext's ``pgettext``)."""
    text = message
    if _current != "en":
        found = catalog(_current).get(f"{context}{_CTX}{message}")
        if isinstance(found, str):
            text = found
    return text.format(**fields) if fields else text


def NC_(context: str, message: str) -> str:
    """Mark a constant string with a message context for translation (it is passed to :func:`trc` later)."""
    return message


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
    """A share as a percentage (``0.123`` -> ``12%``).

    A share that is not zero never reads as zero, nor one that is not all as all: ``0.003`` is ``<1%``
    and ``0.997`` is ``>99%`` (``<0.1%`` / ``>99.9%`` with one decimal), so that "0% at high risk" never
    stands beside eight customers at high risk. Changes (``signed``) are rounded as they are.
    """
    from babel.numbers import format_percent
    if _nan(x):
        return tr("n/a")
    x = float(x)
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
    loc = babel_locale()
    s = format_percent(x, format=pattern, locale=loc)
    step = 10.0 ** -(decimals + 2)    # the smallest share the pattern shows
    if not signed and 0 < x < 1 and s == format_percent(0.0, format=pattern, locale=loc):
        return "<" + format_percent(step, format=pattern, locale=loc)
    if not signed and 0 < x < 1 and s == format_percent(1.0, format=pattern, locale=loc):
        return ">" + format_percent(1 - step, format=pattern, locale=loc)
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


MINUS = "\u2212"  # the minus sign of money and changes: "−CNY 43,302", "−¥4.3万"


def fmt_money(x: float | None, currency: str, decimals: int = 0, compact: bool | None = None,
              signed: bool = False) -> str:
    """An amount of money in the locale's way, negative amounts in one style on every page.

    English: ``CNY 3,416,406`` (the ISO code, so that no reader confuses yuan with yen or dollars), a loss
    ``−CNY 43,302`` (the minus sign before the currency, as a finance reader writes it).
    Chinese: ``¥3,416``, ``−¥3,416`` and, from 10,000 on, ``¥341.6万`` / ``¥3.42亿`` (CLDR's compact
    forms, rounded before the unit is chosen, so 99,999,999 is ``¥1亿`` and not ``¥10000万``).
    An amount that rounds to zero never carries a minus sign.

    Parameters
    ----------
    x : float
    currency : str
        ISO 4217 code.
    decimals : int
        Decimals of a plain (not compact) amount.
    compact : bool, optional
        Force or forbid 万/亿 (K/M); by default compact in Chinese from 10,000 on, never in English.
    signed : bool
        A change: ``+CNY 1,234``, ``−CNY 1,234``, and ``±CNY 0`` when it rounds to no change.
    """
    from babel.numbers import format_currency, format_decimal
    if _nan(x):
        return tr("n/a")
    x = float(x)
    loc = babel_locale()
    if compact is None:
        compact = _current != "en" and abs(round(x, decimals)) >= 10_000
    if compact:
        digits = 1 if abs(x) < (1e9 if _current == "en" else 1e8) else 2
        zero = _round_to_shown(abs(x), digits, loc) == 0
        body = fmt_compact(abs(x), currency)
    else:
        zero = round(abs(x), decimals) == 0
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        if _current == "en":
            body = f"{currency} {format_decimal(abs(x), format=pattern, locale=loc)}"
        else:
            body = format_currency(abs(x), currency, locale=loc, format="¤" + pattern, currency_digits=False)
    if zero:
        return ("±" + body) if signed else body
    if x < 0:
        return MINUS + body
    return ("+" + body) if signed else body


def fmt_range(low: float | None, high: float | None, fmt=None) -> str:
    """A range of values as a reader expects it: ``431 to 995``; one value when both ends show the same
    (``1``, never ``1 to 1``).

    Parameters
    ----------
    low, high : float
    fmt : callable, optional
        How one end is written (default :func:`fmt_int`: days and counts are whole numbers); e.g.
        ``lambda v: fmt_money(v, "CNY")`` for amounts.
    """
    fmt = fmt or fmt_int
    a, b = fmt(low), fmt(high)
    return a if a == b else tr("{low} to {high}", low=a, high=b)


def fmt_list(items: Iterable[object]) -> str:
    """Items named in a sentence: ``A, B, C`` in English, ``A、B、C`` in Chinese (never a half-width comma
    between Chinese words)."""
    return tr(", ").join(str(i) for i in items)


def fmt_clauses(items: Iterable[object]) -> str:
    """Clauses of one sentence: ``a; b`` in English, ``a；b`` in Chinese."""
    return tr("; ").join(str(i) for i in items)


def fmt_labelled(label: str, text: str) -> str:
    """A label and what it labels: ``EXP-01: Ship`` in English, ``EXP-01：推广`` in Chinese (full-width colon)."""
    return tr("{label}: {text}", label=label, text=text)


def fmt_compact(x: float | None, currency: str | None = None, digits: int | None = None) -> str:
    """A large number (or amount, with ``currency``) in the locale's short form: ``341.6万``, ``1.23亿``
    (``3.4M`` in English), from CLDR's compact patterns.

    ``digits`` decimals of the shortened number; by default 1 below 1e8 (``¥2145.9万``) and 2 from there on
    (``¥3.42亿``); in English 1 below 1e9 (``$3.4M``) and 2 from there on.
    The value is rounded to what is shown before the unit is chosen (99,999,999 -> ``1亿``, not ``10000万``).
    """
    from babel.numbers import format_compact_currency, format_compact_decimal
    if _nan(x):
        return tr("n/a")
    x = float(x)
    loc = babel_locale()
    if digits is None:
        digits = 1 if abs(x) < (1e9 if _current == "en" else 1e8) else 2
    x = _round_to_shown(x, digits, loc)
    if currency:
        return _grouped(format_compact_currency(x, currency, locale=loc, fraction_digits=digits), loc)
    return _grouped(format_compact_decimal(x, locale=loc, fraction_digits=digits), loc)


def _grouped(text: str, loc: str) -> str:
    """``text`` with the locale's thousands separator in the whole part of its number (CLDR's compact patterns
    have none: ``¥1699.5万`` -> ``¥1,699.5万``, as every other amount on the page is grouped)."""
    import re

    from babel.numbers import get_decimal_symbol, get_group_symbol
    dec, group = re.escape(get_decimal_symbol(loc)), get_group_symbol(loc)

    def add(m: re.Match) -> str:
        whole = m.group(1)
        return format(int(whole), ",").replace(",", group) + m.group(2)
    return re.sub(rf"(?<![\d{dec}])(\d{{4,}})((?:{dec}\d+)?)", add, text, count=1)


def _round_to_shown(x: float, digits: int, loc: str) -> float:
    """``x`` rounded the way its compact form shows it (so that a carry moves it to the next unit)."""
    from babel import Locale
    patterns = Locale.parse(loc).compact_decimal_formats["short"]
    forms = patterns.get("other") or next(iter(patterns.values()))
    a = abs(x)
    divisor = 1.0
    for key, pat in sorted(((int(k), p) for k, p in forms.items()), key=lambda kv: kv[0]):
        if a < key:
            break
        zeros = str(pat.pattern).count("0")
        divisor = key / 10 ** (zeros - 1) if zeros else 1.0
    return round(x / divisor, digits) * divisor


def currency_unit(currency: str) -> str:
    """How a table caption names the money unit: the ISO code in English, Babel's name in Chinese (人民币)."""
    if _current == "en":
        return currency
    from babel.numbers import get_currency_name
    return get_currency_name(currency, locale=babel_locale())


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
