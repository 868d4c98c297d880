"""The order-cleaning rules as engine expressions (Ibis: DuckDB by default, Spark the same expressions).

:func:`clean_orders_engine` applies every rule of :mod:`helpers.ingest.rules`, in the same order and
with the same findings (check, column, rows, share, examples, action), to an order log that stays
in the engine: the raw export is read by :mod:`helpers.ingest.scan`, the clean orders are written to
Parquet by the engine, and only small results come back to Python (finding counts, the ``k``
examples of each finding, the median order, totals). :func:`helpers.ingest.rules.clean_orders` is
the reference: the unit tests compare the two on the demo export and on generated dirty tables.

How each rule runs, and where the engine cannot do what pandas does:

* **Text is trimmed** of exactly the characters pandas' ``str.strip`` removes (Arrow's Unicode
  whitespace: ASCII whitespace, U+001C-U+001F, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
  U+2029, U+202F, U+205F, U+3000).
* **Dates**: timestamp and date columns are taken as they are (a time-zone-aware column as its
  UTC wall time). Text is parsed by the engine when it is plain ISO 8601 (``YYYY-MM-DD``, optionally
  ``[ T]HH:MM[:SS[.ffffff]]``, every field checked, February 29 only in leap years), or, with
  ``ingest.date_format``, when the format is made of ``%Y %m %d %H %M %S %f`` and literal characters
  and the value has the fields' full widths. **Every other value** (other ISO 8601 spellings,
  UTC offsets, ``March 5, 2026``, ``05/03/2026``, impossible dates...) goes to the pandas fallback:
  its *distinct* texts are sent to :func:`helpers.ingest.rules.parse_dates` (ISO 8601, then
  pandas' mixed-format parser), and the answers are joined back. The result is the reference's
  for every value; the cost grows with the number of distinct unusual texts, not with the rows.
  One difference: a column that mixes UTC offsets with plain times makes the reference fail
  inside pandas ("Mixed timezones detected"); here the plain times are parsed by the engine and
  the others by pandas, and the run goes on.
* **Amounts**: numbers are taken as they are. Text is parsed by the engine when it is made of
  ASCII characters, Unicode whitespace, the currency signs ``¥ ￥ $ € £ 元`` and at most a leading
  and a trailing currency code (CNY, RMB, USD, EUR, GBP, HKD, standing apart from the digits), with
  a number of at most 15 digits (optionally ``-``, thousands separators, decimals, or in
  parentheses for a negative). Other texts go to :func:`helpers.ingest.rules.parse_amount`, by
  distinct value, as dates do.
* **Statuses**: the distinct status values (a handful) are classified in Python exactly as the
  reference does (strip, lower case, membership), then joined back.
* **Refunds**: netted against the purchase with the refund's order id (same customer), else against
  the customer's latest purchase at or before the refund (a cumulative window per customer, the
  as-of join). When two purchases of that customer share that latest timestamp, the later line
  of the file is taken; the reference's choice between them depends on an unstable sort (pandas'
  ``sort_values`` on this machine's AVX-512 quicksort), so it may take the other one.
  A purchase's refunds are summed in double precision when there are one or two of them (the same
  bits as pandas' sum) and exactly in decimals (``engine.money_sum``) from three on, where pandas'
  compensated sum and the engine's unordered sum could otherwise differ in the last bit.
  Net amounts are rounded to cents half to even, as numpy rounds.
* **The median order** is exact: the engine's median, then the two middle values around it, so
  the outlier threshold is numpy's to the bit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from helpers.frame.engine import materialize, money_sum, release
from helpers.frame.errors import InputDataError
from helpers.frame.progress import stage
from helpers.frame.settings import IngestSettings, OrdersColumns
from helpers.ingest import texts as T
from helpers.ingest.rules import Finding, field_label, parse_amount, parse_dates
from helpers.locale import tr

__all__ = [
    "ROW",
    "CleanOrders",
    "clean_orders_engine",
    "raw_table",
    "strip_text",
    "parse_amount_columns",
    "parse_dates_columns",
]

#: Name of the column holding each raw line's position in the file (0, 1, 2, ...).
ROW = "_row"

# pandas' str.strip (Arrow's utf8_trim_whitespace) removes exactly these characters
_WS_CHARS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
             + "\u2028\u2029\u202f\u205f\u3000")
_WS = r"[\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_SAFE_AMOUNT_CHARS = (r"^[\x{20}-\x{7e}\x{9}-\x{d}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
                      r"\x{202f}\x{205f}\x{3000}¥￥€£元]*$")
_CODE = r"(?i:CNY|RMB|USD|EUR|GBP|HKD)"
_NOT_WORD = r"[^A-Za-z0-9_元]"  # Python's \b inside the characters the engine parses
_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)"
_NUMBER = rf"^(?:\(-?{_NUM}\)|-?{_NUM})$"
_PLAIN = r"^-?[0-9]+(\.[0-9]+)?$"  # the reference's "not decorated" test
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?$"

# status classes (precedence as in the reference: cancelled, then refund, then completed)
_COMPLETED, _REFUND, _CANCELLED, _UNKNOWN = 1, 2, 3, 4


@ibis.udf.scalar.builtin(name="trim")
def _duckdb_trim(s: str, chars: str) -> str:  # pragma: no cover - compiled, never called
    """DuckDB's trim(string, characters)."""


@ibis.udf.scalar.builtin(name="btrim")
def _spark_trim(s: str, chars: str) -> str:  # pragma: no cover - compiled, never called
    """Spark's btrim(string, characters)."""


def _backend_name(t: ibis.Table) -> str:
    return t._find_backend(use_default=True).name


def strip_text(col: ibis.StringValue, backend: str) -> ibis.StringValue:
    """``col`` without the leading and trailing whitespace pandas' ``str.strip`` removes.

    On DuckDB, ``trim(s, characters)`` with this 30-character set costs about 0.7 µs per value
    (5 s for four columns of 1.9M lines), so it runs only where the first or the last character
    (code point) is one of them; every other value is returned as it is, which is what ``trim``
    would give. The guard is exact: ``trim`` removes nothing when neither end is in the set.
    """
    if backend == "pyspark":
        return _spark_trim(col, _WS_CHARS)
    ws = ibis.literal(_WS_CHARS)
    edge = ws.contains(col.substr(0, 1)) | ws.contains(col.right(1))
    return ibis.cases((edge, _duckdb_trim(col, _WS_CHARS)), else_=col)


def _as_text(col: ibis.Value) -> ibis.StringValue:
    """A raw value as the text pandas' ``astype("string")`` gives (ids: 12.0 -> "12")."""
    dtype = col.type()
    if dtype.is_string():
        return col
    if dtype.is_floating():
        return col.cast("int64").cast("string")
    if dtype.is_boolean():
        return ibis.cases((col.isnull(), ibis.null("string")), (col, "True"), else_="False")
    return col.cast("string")


def _as_id(col: ibis.Value, backend: str) -> ibis.StringValue:
    """Ids as stripped text; blanks become missing (the reference's ``_as_id``)."""
    t = strip_text(_as_text(col), backend) if col.type().is_string() else _as_text(col)
    return ibis.cases((t == "", ibis.null("string")), else_=t)


# ---- amounts ------------------------------------------------------------------------------------

def _temps(t: ibis.Table, out: str) -> Callable[[str], str]:
    """Names for a parser's intermediate columns (``_<out>__<name>``), refused if ``t`` has one already."""
    def name(n: str) -> str:
        full = f"_{out}__{n}"
        if full in t.columns:
            raise ValueError(f"column name {full!r} is reserved for the parsers' intermediate values")
        return full
    return name


def parse_amount_columns(t: ibis.Table, col: str, out: str, backend: str) -> ibis.Table:
    """Engine part of :func:`helpers.ingest.rules.parse_amount`: ``t`` with the columns ``<out>_v``
    (the value where the engine's grammar applies, module docstring), ``<out>_fast`` (true where
    ``<out>_v`` is the answer or the value is blank; the other texts need the pandas fallback)
    and, for a text column, ``<out>_txt`` (the stripped text).

    Each intermediate value (the stripped text, the text without currency signs, ...) is a column
    of its own, computed once per row by a chain of projections. Written as one expression, every
    use of an intermediate value repeats its whole expression: the SQL of one amount column was
    317 KB (1.4 s to plan on DuckDB for any number of rows) and twice as slow per row.
    """
    x = t[col]
    dtype = x.type()
    V, F, TX = f"{out}_v", f"{out}_fast", f"{out}_txt"
    if (dtype.is_integer() or dtype.is_floating()) and not dtype.is_boolean():
        return t.mutate(**{V: x.cast("float64"), F: ibis.literal(True)})
    if dtype.is_boolean():  # pandas: is_numeric but parsed as the text "True"/"False": never a number
        t = t.mutate(**{TX: _as_text(x)})
        return t.mutate(**{V: ibis.null("float64"), F: t[TX].isnull()})
    n = _temps(t, out)
    t = t.mutate(**{TX: strip_text(x.cast("string"), backend)})
    txt = t[TX]
    t = t.mutate(**{n("safe"): txt.re_search(_SAFE_AMOUNT_CHARS),
                    n("b1"): ibis.cases((txt.re_search(rf"^{_CODE}{_NOT_WORD}"), txt.substr(3)), else_=txt),
                    n("suf"): txt.re_search(rf"{_NOT_WORD}{_CODE}$")})
    b1 = t[n("b1")]
    t = t.mutate(**{n("b2"): ibis.cases((t[n("suf")], b1.substr(0, b1.length() - 3)), else_=b1)})
    t = t.mutate(**{n("body"): t[n("b2")].re_replace(rf"[¥￥$€£元]|{_WS}", "")})
    body = t[n("body")]
    t = t.mutate(**{n("number"): body.re_search(_NUMBER), n("neg"): body.startswith("("),
                    n("inner"): ibis.cases((body.startswith("("), body.substr(1, body.length() - 2)),
                                           else_=body).replace(",", "")})
    inner = t[n("inner")]
    digits = inner.replace("-", "").replace(".", "").length()
    t = t.mutate(**{n("fast"): t[n("safe")] & t[n("number")] & (digits <= 15)})
    t = t.mutate(**{n("v"): ibis.cases((t[n("fast")], inner), else_=ibis.null("string")).try_cast("float64")})
    v = t[n("v")]
    t = t.mutate(**{V: ibis.cases((t[n("neg")], -v), else_=v),
                    F: t[n("fast")].fill_null(False) | txt.isnull() | (txt == "")})
    return t.drop(*[c for c in t.columns if c.startswith(f"_{out}__")])


def _amount_fallback(values: pd.Series) -> pd.DataFrame:
    """The reference parser on distinct texts: ``text``, ``f_value`` (0 when not a number), ``f_ok``."""
    v, _bad = parse_amount(values.astype("string"))
    ok = v.notna()
    return pd.DataFrame({"f_text": values.astype(object).to_numpy(), "f_value": v.fillna(0.0).to_numpy(float),
                         "f_ok": ok.to_numpy(bool)})


# ---- dates --------------------------------------------------------------------------------------

def _days_in_month(y: ibis.IntegerValue, m: ibis.IntegerValue) -> ibis.IntegerValue:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return ibis.cases((m.isin([4, 6, 9, 11]), 30), (m == 2, ibis.cases((leap, 29), else_=28)), else_=31)


def _from_fields(y, mo, d, h, mi, s, frac: ibis.StringValue) -> tuple[ibis.TimestampValue, ibis.BooleanValue]:
    """A timestamp from checked integer fields (``frac``: 1-6 digits or empty) and whether they were valid."""
    ok = ((y >= 1) & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= _days_in_month(y, mo))
          & (h <= 23) & (mi <= 59) & (s <= 59))
    pad2 = lambda v: v.cast("string").lpad(2, "0")  # noqa: E731
    text = (y.cast("string").lpad(4, "0") + "-" + pad2(mo) + "-" + pad2(d) + " " + pad2(h) + ":" + pad2(mi) + ":"
            + pad2(s) + "." + frac.rpad(6, "0"))
    ts = ibis.cases((ok, text), else_=ibis.null("string")).try_cast("timestamp")
    return ts, ok


_FMT_FIELDS = {"Y": ("y", r"([0-9]{4})"), "m": ("mo", r"([0-9]{2})"), "d": ("d", r"([0-9]{2})"),
               "H": ("h", r"([0-9]{2})"), "M": ("mi", r"([0-9]{2})"), "S": ("s", r"([0-9]{2})"),
               "f": ("frac", r"([0-9]{1,6})")}


def _format_regex(fmt: str) -> tuple[str, dict[str, int]] | None:
    """A strict regex for a strftime format made of %Y %m %d %H %M %S %f and literals, else None."""
    out, groups, i, n = "^", {}, 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%":
            if i + 1 >= len(fmt) or fmt[i + 1] not in _FMT_FIELDS:
                return None
            name, rx = _FMT_FIELDS[fmt[i + 1]]
            if name in groups:
                return None
            n += 1
            groups[name] = n
            out += rx
            i += 2
        else:
            if c.isspace() or c.isalnum():
                return None  # pandas' strptime treats whitespace and letters loosely
            out += re.escape(c)
            i += 1
    if "y" not in groups:
        return None
    return out + "$", groups


def parse_dates_columns(t: ibis.Table, col: str, out: str, fmt: str | None, backend: str) -> ibis.Table:
    """Engine part of :func:`helpers.ingest.rules.parse_dates`: ``t`` with ``<out>_v``, ``<out>_fast``
    and, for a text or number column, ``<out>_txt``, as :func:`parse_amount_columns` (one column per
    intermediate value: the text, its fields, their integers)."""
    x = t[col]
    dtype = x.type()
    V, F, TX = f"{out}_v", f"{out}_fast", f"{out}_txt"
    if dtype.is_timestamp() or dtype.is_date():
        return t.mutate(**{V: x.cast("timestamp"), F: ibis.literal(True)})
    if dtype.is_integer():
        txt = x.cast("string")
    elif dtype.is_floating():
        txt = x.cast("int64").cast("string")
    else:
        txt = strip_text(x.cast("string"), backend)
    n = _temps(t, out)
    t = t.mutate(**{TX: txt})
    txt = t[TX]
    blank = txt.isnull() | (txt == "")
    rx, groups = (_ISO, None) if fmt is None else (_format_regex(fmt) or (None, None))
    if rx is None:  # a format the engine does not parse: every value goes to pandas
        return t.mutate(**{V: ibis.null("timestamp"), F: blank})
    if groups is None:  # ISO: fixed positions
        long = txt.length() >= 16
        fields = {"y": txt.substr(0, 4), "mo": txt.substr(5, 2), "d": txt.substr(8, 2),
                  "h": ibis.cases((long, txt.substr(11, 2)), else_="0"),
                  "mi": ibis.cases((long, txt.substr(14, 2)), else_="0"),
                  "s": ibis.cases((txt.length() >= 19, txt.substr(17, 2)), else_="0"),
                  "frac": ibis.cases((txt.length() >= 21, txt.substr(20)), else_="")}
    else:
        fields = {k: txt.re_extract(rx, groups[k]) if k in groups else ibis.literal(dflt)
                  for k, dflt in (("y", "1"), ("mo", "1"), ("d", "1"), ("h", "0"), ("mi", "0"), ("s", "0"),
                                  ("frac", ""))}
    t = t.mutate(**{n("match"): txt.re_search(rx)}, **{n(k): v for k, v in fields.items()})
    match = t[n("match")]
    ints = {k: ibis.cases((match, t[n(k)]), else_="0").cast("int64") for k in ("y", "mo", "d", "h", "mi", "s")}
    t = t.mutate(**{n(f"{k}_i"): v for k, v in ints.items()},
                 **{n("frac_m"): ibis.cases((match, t[n("frac")]), else_="")})
    ts, ok = _from_fields(*(t[n(f"{k}_i")] for k in ("y", "mo", "d", "h", "mi", "s")), t[n("frac_m")])
    t = t.mutate(**{n("ts"): ts, n("fast"): (match & ok).fill_null(False)})
    fast = t[n("fast")]
    t = t.mutate(**{V: ibis.cases((fast, t[n("ts")]), else_=ibis.null("timestamp")),
                    F: fast | t[TX].isnull() | (t[TX] == "")})
    return t.drop(*[c for c in t.columns if c.startswith(f"_{out}__")])


def _dates_fallback(values: pd.Series, fmt: str | None) -> pd.DataFrame:
    """The reference parser on distinct texts: ``f_text``, ``f_ts``, ``f_ok``, ``f_mixed``."""
    txt = values.astype("string")
    v, _bad, _ = parse_dates(txt, fmt)
    ok = v.notna()
    if fmt is None:
        iso = pd.to_datetime(txt, format="ISO8601", errors="coerce")
        mixed = ok & iso.isna().to_numpy()
    else:
        mixed = pd.Series(False, index=v.index)
    return pd.DataFrame({"f_text": values.astype(object).to_numpy(),
                         "f_ts": v.fillna(pd.Timestamp("1970-01-01")).to_numpy("datetime64[us]"),
                         "f_ok": ok.to_numpy(bool), "f_mixed": mixed.to_numpy(bool)})


# ---- the rules ----------------------------------------------------------------------------------

@dataclass
class CleanOrders:
    """What :func:`clean_orders_engine` wrote and the numbers ``ingest.json`` needs."""

    path: Path
    findings: list[Finding]
    rows_read: int
    rows: int
    customers: int
    first_order: pd.Timestamp
    last_order: pd.Timestamp
    revenue: float
    columns: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def raw_table(df: pd.DataFrame) -> ibis.Table:
    """An export held in pandas as an engine table with its line numbers (tests, small sources)."""
    if ROW in df.columns:
        raise ValueError(f"column name {ROW!r} is reserved for line numbers")
    out = df.reset_index(drop=True).copy()
    for c in out.columns:  # pandas' text columns as plain objects, so missing values stay null
        if pd.api.types.is_string_dtype(out[c].dtype) and out[c].dtype != object:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    out[ROW] = np.arange(len(out), dtype="int64")
    table = pa.Table.from_pandas(out, preserve_index=False)
    for i, fld in enumerate(table.schema):  # a column with nothing in it is text, as a CSV column would be
        if pa.types.is_null(fld.type):
            table = table.set_column(i, fld.name, table.column(i).cast(pa.string()))
    return ibis.memtable(table)


def _to_pandas(expr: ibis.Table) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas(date_as_object=False)


def _mapping_table(df: pd.DataFrame, key_type: pa.DataType) -> ibis.Table:
    """A small table for a join on the engine (keys keep the raw column's type)."""
    arrays = {c: pa.array(df[c].tolist(), type=key_type) if c == "f_text" else pa.array(df[c].to_numpy())
              for c in df.columns}
    return ibis.memtable(pa.table(arrays))


@dataclass
class _Acc:
    """Findings of the orders table, in the order the rules apply."""

    n: int
    k: int
    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0

    def add(self, check: str, column: str, rows: int, examples, action: str, counts: bool = True) -> None:
        if rows == 0:
            return
        ex = examples() if callable(examples) else examples
        # checks in the run's language, as the reference records them (a formatted check is already)
        self.findings.append(Finding("orders", tr(check), column, int(rows), rows / self.n, ex, action))
        if counts and action.startswith("dropped"):
            self.dropped += int(rows)


def _round_cents(x: ibis.FloatingValue) -> ibis.FloatingValue:
    """``numpy.round(x, 2)``: multiply by 100, round half to even, divide by 100."""
    y = x * 100.0
    f = y.floor().cast("float64")
    d = y - f
    even = (f - (f / 2.0).floor().cast("float64") * 2.0) == 0
    r = ibis.cases((d > 0.5, f + 1.0), (d < 0.5, f), (even, f), else_=f + 1.0)
    return r / 100.0


def clean_orders_engine(raw: ibis.Table, cols: OrdersColumns, settings: IngestSettings, as_of: pd.Timestamp,
                        source: str, out: str | Path, known_customers: pd.Series | ibis.Table | None = None,
                        ) -> CleanOrders:
    """Apply the order rules on the engine and write the clean orders to Parquet.

    Parameters
    ----------
    raw : Ibis table
        The orders as read (source column names) with :data:`ROW`, each line's position in the
        file, from :func:`helpers.ingest.scan.scan_orders` (or :func:`raw_table`).
    cols, settings, as_of, source, known_customers
        As for :func:`helpers.ingest.rules.clean_orders`.
    out : path
        Where the clean orders go (a Parquet file on DuckDB, a folder of Parquet files on Spark),
        written under a temporary name and then renamed. Same columns, types and order as
        ``clean_orders`` returns (by time, then customer id, then file order).

    Returns
    -------
    CleanOrders
        The findings (exactly ``clean_orders``'), rows read and written, customers, first and
        last order, revenue (exact decimal sum).

    Raises
    ------
    InputDataError
        As ``clean_orders``: nothing left, too many lines dropped, duplicates when refused.
    """
    import time
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now

    if ROW not in raw.columns:
        raise KeyError(f"the raw orders lack the line-number column {ROW!r} (read them with helpers.ingest.scan)")
    backend = _backend_name(raw)
    con = raw._find_backend(use_default=True)
    mapping = {canon: src for canon, src in cols.model_dump().items() if src}
    label = lambda c: field_label(c, mapping[c])  # noqa: E731
    missing = [src for src in mapping.values() if src not in raw.columns]
    if missing:
        raise KeyError(f"the raw orders lack mapped column(s) {missing}; have {list(raw.columns)}")
    k = settings.examples
    as_of = pd.Timestamp(as_of)
    end = as_of + pd.Timedelta(days=1)
    has = lambda c: c in mapping  # noqa: E731
    rawc = lambda c: raw[mapping[c]]  # noqa: E731

    # ---- per line: ids, dates, amounts as the engine parses them ----
    stage("cleaning: parsing ids, dates and amounts on the engine")
    # the mapped columns under names of our own (an export's column may be called anything), then
    # the parsers' columns added to them (see parse_amount_columns: one column per intermediate value)
    src = {c: f"_src_{c}" for c in mapping}
    b = raw.select(raw[ROW], **{src[c]: raw[mapping[c]] for c in mapping})
    b = parse_dates_columns(b, src["order_ts"], "ts", settings.date_format, backend)
    b = parse_amount_columns(b, src["amount"], "amt", backend)
    for c in ("quantity", "discount"):
        if has(c):
            b = parse_amount_columns(b, src[c], c, backend)
    amt_dtype = rawc("amount").type()
    texty = not ((amt_dtype.is_numeric() and not amt_dtype.is_decimal()) or amt_dtype.is_boolean())
    cols0 = {ROW: b[ROW], "cid": _as_id(b[src["customer_id"]], backend)}
    for part in ("ts", "amt", "quantity", "discount"):   # value, fast and (for text) the stripped text
        cols0.update({k: b[k] for k in (f"{part}_v", f"{part}_fast", f"{part}_txt") if k in b.columns})
    if has("status"):
        cols0["st_raw"] = b[src["status"]]
    if has("order_id"):
        cols0["oid"] = _as_id(b[src["order_id"]], backend)
    for c in ("category", "channel"):
        if has(c):
            x = b[src[c]]
            cols0[c] = strip_text(_as_text(x), backend) if x.type().is_string() else _as_text(x)
    s0 = materialize(b.select(**cols0), con)
    tables = [s0]

    def early(t: ibis.Table) -> None:
        """Free an intermediate table now on DuckDB (its successors are copies); Spark's cached views
        depend on the views they were built from, so there everything is freed at the end."""
        if backend != "pyspark":
            release(t)
    lap("parse")
    try:
        # ---- the pandas fallback, by distinct value ----
        s1 = s0
        fallback_rows = {}
        if "ts_txt" in s0.columns:
            todo = _to_pandas(s0.filter(~s0.ts_fast).select(f_text=s0.ts_txt).distinct())["f_text"]
            fallback_rows["dates"] = len(todo)
            if len(todo):
                stage(f"cleaning: {len(todo):,} date texts the engine does not parse go to pandas")
                m = _mapping_table(_dates_fallback(todo, settings.date_format), pa.string())
                s1 = s1.left_join(m, s1.ts_txt == m.f_text).drop("f_text")
                s1 = s1.mutate(ts=ibis.cases((s1.ts_fast, s1.ts_v), (s1.f_ok.fill_null(False), s1.f_ts),
                                             else_=ibis.null("timestamp")),
                               bad_ts=~s1.ts_fast & ~s1.f_ok.fill_null(False),
                               mixed=s1.f_mixed.fill_null(False)).drop("f_ts", "f_ok", "f_mixed")
        if "ts" not in s1.columns:
            s1 = s1.mutate(ts=s1.ts_v, bad_ts=~s1.ts_fast, mixed=ibis.literal(False))
        amount_fb = {}
        for name, txtcol, fastcol, vcol in [("amount", "amt_txt", "amt_fast", "amt_v")] + [
                (c, f"{c}_txt", f"{c}_fast", f"{c}_v") for c in ("quantity", "discount") if has(c)]:
            if txtcol not in s0.columns:
                continue
            todo = _to_pandas(s0.filter(~s0[fastcol]).select(f_text=s0[txtcol]).distinct())["f_text"]
            amount_fb[name] = len(todo)
            if len(todo):
                stage(f"cleaning: {len(todo):,} {name} texts the engine does not parse go to pandas")
                m = _mapping_table(_amount_fallback(todo), pa.string()).rename(
                    {f"{name}_ftext": "f_text", f"{name}_fvalue": "f_value", f"{name}_fok": "f_ok"})
                s1 = s1.left_join(m, s1[txtcol] == m[f"{name}_ftext"]).drop(f"{name}_ftext")
                ok = s1[f"{name}_fok"].fill_null(False)
                s1 = s1.mutate(**{vcol: ibis.cases((s1[fastcol], s1[vcol]), (ok, s1[f"{name}_fvalue"]),
                                                   else_=ibis.null("float64")),
                                  fastcol: s1[fastcol] | ok}).drop(f"{name}_fvalue", f"{name}_fok")
        # bad amount: present but neither the engine nor pandas reads a number
        if "amt_txt" in s0.columns:
            present = s1.amt_txt.notnull() & (s1.amt_txt != "")
            s1 = s1.mutate(bad_amt=present & s1.amt_v.isnull(),
                           decorated=s1.amt_v.notnull() & ~s1.amt_txt.re_search(_PLAIN).fill_null(False))
        else:
            s1 = s1.mutate(bad_amt=ibis.literal(False), decorated=ibis.literal(False))
        if has("status"):
            st_type = rawc("status").type()
            sv = _to_pandas(s0.select(v=s0.st_raw).distinct())["v"]
            sv = sv[sv.notna()]
            st = sv.astype("string").str.strip().str.lower()
            low = lambda xs: [x.lower() for x in xs]  # noqa: E731
            cls = np.select([st.isin(low(settings.cancelled_statuses)).to_numpy(bool),
                             st.isin(low(settings.refund_statuses)).to_numpy(bool),
                             st.isin(low(settings.completed_statuses)).to_numpy(bool)],
                            [_CANCELLED, _REFUND, _COMPLETED], _UNKNOWN).astype("int64")
            if len(sv):
                m = ibis.memtable(pa.table({"st_key": pa.array(sv.tolist(), type=st_type.to_pyarrow()),
                                            "st_cls": pa.array(cls)}))
                s1 = s1.left_join(m, s1.st_raw == m.st_key).drop("st_key")
                s1 = s1.mutate(st_cls=s1.st_cls.fill_null(_UNKNOWN))
            else:
                s1 = s1.mutate(st_cls=ibis.literal(_UNKNOWN, "int64"))
        lap("fallback")

        # ---- row rules ----
        f = lambda e: e.fill_null(False)  # noqa: E731
        keep0 = s1.cid.notnull() & s1.ts.notnull() & s1.amt_v.notnull()
        too_old = keep0 & f(s1.ts < ibis.timestamp(pd.Timestamp(settings.min_valid_date)))
        k1 = keep0 & ~too_old
        future = k1 & f(s1.ts >= ibis.timestamp(end))
        k2 = k1 & ~future
        if has("status"):
            cancelled = k2 & (s1.st_cls == _CANCELLED)
            unknown = k2 & (s1.st_cls == _UNKNOWN)
            refund_status = s1.st_cls == _REFUND
        else:
            cancelled = unknown = refund_status = ibis.literal(False)
        k3 = k2 & ~cancelled & ~unknown
        zero = k3 & f(s1.amt_v == 0)
        k4 = k3 & ~zero
        is_refund = k4 & (f(s1.amt_v < 0) | refund_status)
        s2 = s1.mutate(too_old=too_old, future=future, cancelled=cancelled, unknown=unknown, zero=zero,
                       is_refund=is_refund, is_purchase=k4 & ~is_refund)
        s2 = materialize(s2, con)
        tables.append(s2)
        early(s0)  # every later step reads s2 (memory: one copy of the log at a time, plus the purchases)
        lap("rules")

        # the lines read are counted with the findings (s2 has s0's lines: the joins above are on
        # distinct keys): one query less, on Spark one round of jobs less
        counts = s2.aggregate(
            n=s2.count(), blank=s2.cid.isnull().sum(), bad_ts=s2.bad_ts.sum(),
            missing_ts=(s2.ts.isnull() & ~s2.bad_ts).sum(), mixed=(s2.mixed & s2.ts.notnull()).sum(),
            decorated=s2.decorated.sum(), bad_amt=s2.bad_amt.sum(),
            missing_amt=(s2.amt_v.isnull() & ~s2.bad_amt).sum(), too_old=s2.too_old.sum(),
            future=s2.future.sum(), cancelled=s2.cancelled.sum(), unknown=s2.unknown.sum(), zero=s2.zero.sum(),
        ).execute().iloc[0].fillna(0).astype("int64").to_dict()
        n0 = int(counts.pop("n"))
        acc = _Acc(max(n0, 1), k)

        # examples: the first k lines of a finding, in file order
        def first_rows(mask, table=s2, col=None) -> pd.DataFrame:
            sel = [ROW] if col is None else [ROW, col]
            return _to_pandas(table.filter(mask).order_by(ROW).limit(k).select(*sel))

        int_nulls: dict[str, bool] = {}

        def raw_values(canon: str, mask) -> pd.Series:
            """The first k raw values (typed as the reference's pandas frame types them)."""
            rows = first_rows(mask)[ROW].tolist()
            src = mapping[canon]
            r = _to_pandas(raw.filter(raw[ROW].isin(rows)).select(ROW, src)).sort_values(ROW)
            vals = r[src].reset_index(drop=True)
            dtype = raw[src].type()
            if dtype.is_integer():
                if src not in int_nulls:
                    int_nulls[src] = bool(raw[src].isnull().any().execute())
                if int_nulls[src]:
                    vals = vals.astype("float64")
            if dtype.is_string():
                vals = vals.astype("str")
            return vals

        def ex_values(mask, col, table=s2) -> str:
            vals = first_rows(mask, table, col)[col]
            if col in ("ts", "order_ts"):
                vals = vals.astype("datetime64[us]")
            return T.format_examples(vals, k)

        def blank_examples() -> str:
            if has("order_id"):
                v = raw_values("order_id", s2.cid.isnull())
            else:
                v = pd.Series(first_rows(s2.cid.isnull())[ROW].to_numpy())
            return T.format_examples(v.astype("string").radd(tr("order {id}", id="")), k)

        acc.add(T.BLANK_CUSTOMER, label("customer_id"), counts["blank"], blank_examples, T.DROPPED)
        acc.add(T.DATE_UNPARSEABLE, label("order_ts"), counts["bad_ts"],
                lambda: T.format_examples(raw_values("order_ts", s2.bad_ts), k), T.DROPPED)
        acc.add(T.DATE_MISSING, label("order_ts"), counts["missing_ts"],
                lambda: ex_values(s2.ts.isnull() & ~s2.bad_ts, "cid"), T.DROPPED)
        if counts["mixed"]:
            acc.findings.append(Finding("orders", tr(T.DATES_MIXED), label("order_ts"), counts["mixed"],
                                        counts["mixed"] / acc.n,
                                        T.format_examples(raw_values("order_ts", ~s2.bad_ts & s2.ts.notnull()), k),
                                        T.PARSED))
        if texty:
            acc.add(T.AMOUNT_DECORATED, label("amount"), counts["decorated"],
                    lambda: ex_values(s2.decorated, "amt_txt"), T.PARSED, counts=False)
        acc.add(T.AMOUNT_NOT_NUMBER, label("amount"), counts["bad_amt"],
                lambda: T.format_examples(raw_values("amount", s2.bad_amt), k), T.DROPPED)
        acc.add(T.AMOUNT_MISSING, label("amount"), counts["missing_amt"],
                lambda: ex_values(s2.amt_v.isnull() & ~s2.bad_amt, "cid"), T.DROPPED)
        acc.add(T.date_before(settings.min_valid_date), label("order_ts"), counts["too_old"],
                lambda: ex_values(s2.too_old, "ts"), T.DROPPED)
        acc.add(T.date_after(as_of), label("order_ts"), counts["future"], lambda: ex_values(s2.future, "ts"),
                T.EXCLUDED, counts=False)
        if has("status"):
            acc.add(T.CANCELLED, label("status"), counts["cancelled"],
                    lambda: T.format_examples(raw_values("status", s2.cancelled), k), T.DROPPED)
            acc.add(T.UNKNOWN_STATUS, label("status"), counts["unknown"],
                    lambda: T.format_examples(raw_values("status", s2.unknown), k), T.DROPPED)
        acc.add(T.ZERO_AMOUNT, label("amount"), counts["zero"],
                (lambda: T.format_examples(raw_values("order_id", s2.zero), k)) if has("order_id")
                else (lambda: ex_values(s2.zero, "cid")), T.DROPPED)
        lap("row findings")

        # ---- duplicates among purchase lines ----
        pcols = [ROW, "cid", "ts", "amt_v"] + [c for c in ("oid", "quantity_v", "discount_v", "category", "channel")
                                               if c in s2.columns]
        p0 = s2.filter(s2.is_purchase).select(*pcols)
        base = s2  # the materialized table the purchases are read from
        if has("order_id"):
            first = p0[ROW].min().over(group_by=p0.oid)
            p0 = p0.mutate(dup=p0.oid.notnull() & (p0[ROW] != first))
            p0 = materialize(p0, con)
            tables.append(p0)
            n_dup = int(p0.dup.sum().execute() or 0)
            if n_dup and settings.duplicate_order_ids == "refuse":
                ex = ex_values(p0.dup, "oid", p0)
                raise InputDataError(T.duplicates_refused(source, label("order_id"), n_dup, ex))
            acc.add(T.DUPLICATE_ORDER_ID, label("order_id"), n_dup, lambda: ex_values(p0.dup, "oid", p0), T.DROPPED)
            purchases = p0.filter(~p0.dup).drop("dup")
            base = p0
        else:
            purchases = p0
        lap("duplicates")

        # ---- refunds: netted against the named order, else the latest earlier purchase ----
        rcols = [ROW, "cid", "ts"] + (["oid"] if has("order_id") else [])
        refunds = s2.filter(s2.is_refund).select(*rcols, amt=-s2.amt_v.abs())
        if has("order_id"):
            by_id = purchases.select(p_oid=purchases.oid, p_row=purchases[ROW], p_cid=purchases.cid)
            r = refunds.left_join(by_id, refunds.oid == by_id.p_oid)
            r = r.mutate(target=ibis.cases((r.p_cid == r.cid, r.p_row), else_=ibis.null("int64")),
                         pending=r.p_row.isnull()).drop("p_oid", "p_row", "p_cid")
        else:
            r = refunds.mutate(target=ibis.null("int64"), pending=ibis.literal(True))
        r = materialize(r, con)
        tables.append(r)
        if base is not s2:
            early(s2)
        pend = r.filter(r.pending)
        left = pend.select(cid=pend.cid, ts=pend.ts, kind=ibis.literal(1, "int8"), rrow=pend[ROW],
                           prow=ibis.null("int64"))
        who = pend.select(w_cid=pend.cid).distinct()
        mine = purchases.join(who, purchases.cid == who.w_cid)
        right = mine.select(cid=mine.cid, ts=mine.ts, kind=ibis.literal(0, "int8"), rrow=ibis.null("int64"),
                            prow=mine[ROW])
        u = right.union(left)
        w = ibis.cumulative_window(group_by=u.cid, order_by=[u.ts, u.kind])
        u = u.mutate(last_ts=ibis.cases((u.kind == 0, u.ts), else_=ibis.null("timestamp")).max().over(w))
        asked = u.filter((u.kind == 1) & u.last_ts.notnull()).select(a_row=u.rrow, a_cid=u.cid, a_ts=u.last_ts)
        cand = right.select(h_cid=right.cid, h_ts=right.ts, h_row=right.prow)
        hit = asked.join(cand, (asked.a_cid == cand.h_cid) & (asked.a_ts == cand.h_ts))
        hit = hit.group_by(a_row=hit.a_row).aggregate(asof=hit.h_row.max())
        r2 = r.left_join(hit, r[ROW] == hit.a_row).drop("a_row")
        r2 = r2.mutate(target=ibis.coalesce(r2.target, r2.asof)).drop("asof")
        r2 = materialize(r2, con)
        tables.append(r2)
        early(r)
        lap("refund matching")

        rm = r2.filter(r2.target.notnull())
        net = rm.group_by(n_target=rm.target).aggregate(net_f=rm.amt.sum(), net_d=money_sum(rm.amt),
                                                         n_lines=rm.count())
        p2 = purchases.left_join(net, purchases[ROW] == net.n_target).drop("n_target")
        netv = ibis.cases((p2.n_lines <= 2, p2.net_f), else_=p2.net_d)
        new_amt = p2.amt_v + netv
        p2 = p2.mutate(new_amt=new_amt, netted=p2.n_lines.notnull(),
                       full=f(p2.n_lines.notnull() & (new_amt <= 0.005)))
        p2 = p2.mutate(amount=ibis.cases((p2.netted, _round_cents(p2.new_amt)), else_=p2.amt_v))
        p2 = materialize(p2.drop("net_f", "net_d", "n_lines"), con)
        tables.append(p2)
        early(base)
        # the refunds' and the purchases' numbers and the orders kept, in one query (each is one row)
        rc = r2.aggregate(n=r2.count(), matched=r2.target.notnull().sum())
        pc = p2.aggregate(full=p2.full.sum(), part=(p2.netted & ~p2.full).sum(), kept=(~p2.full).sum())
        nums = rc.cross_join(pc).execute().iloc[0].fillna(0)
        n_ref, n_matched, n_final = int(nums["n"]), int(nums["matched"]), int(nums["kept"])
        if n_ref:
            id_col = "oid" if has("order_id") else "cid"
            acc.add(T.REFUNDS_NETTED, label("amount"), n_matched, lambda: ex_values(r2.target.notnull(), "amt", r2),
                    T.NETTED)
            acc.add(T.REFUNDED_IN_FULL, label("amount"), int(nums["full"]), lambda: ex_values(p2.full, id_col, p2),
                    T.DROPPED_REFUNDED)

            def partly() -> str:
                v = first_rows(p2.netted & ~p2.full, p2, "new_amt")["new_amt"]
                return T.format_examples(v.round(2), k)
            acc.add(T.PARTLY_REFUNDED, label("amount"), int(nums["part"]), partly, T.NETTED)
            acc.add(T.REFUND_UNMATCHED, label("amount"), n_ref - n_matched,
                    lambda: ex_values(r2.target.isnull(), id_col, r2), T.DROPPED)
        final = p2.filter(~p2.full)
        lap("netting")

        # ---- outliers and unknown customers ----
        facts = None
        if n_final:
            # the engine's median, the summary of the clean orders and the unknown customers' lines in
            # one query (each part is one row)
            one = final.aggregate(m=final.amount.median(), customers=final.cid.nunique(), first=final.ts.min(),
                                  last=final.ts.max(), revenue=money_sum(final.amount))
            if known_customers is not None:
                kt = _known_table(known_customers)
                unk = final.anti_join(kt, final.cid == kt.known_id)
                one = one.cross_join(unk.aggregate(n_unk=unk.count()))
            facts = one.execute().iloc[0]
            med = _exact_median(final.amount, n_final, facts["m"])
            out_mask = final.amount > settings.outlier_factor * med
            n_out = int(final.filter(out_mask).count().execute())

            def outliers() -> str:
                return T.format_examples(first_rows(out_mask, final, "amount")["amount"].round(2), k)
            acc.add(T.amount_above(settings.outlier_factor, med), label("amount"), n_out, outliers,
                    T.FLAGGED_KEPT, counts=False)
        if known_customers is not None and n_final:
            n_unk = int(facts["n_unk"])
            acc.add(T.NOT_IN_CUSTOMERS, label("customer_id"), n_unk,
                    lambda: T.format_examples(_to_pandas(unk.order_by(ROW).limit(k).select("cid"))["cid"], k),
                    T.KEPT_NO_ATTRIBUTES, counts=False)
        lap("outliers")

        if n_final == 0:
            raise InputDataError(T.nothing_left(source, as_of, n0, acc.findings))
        if acc.dropped / n0 > settings.max_dropped_share:
            raise InputDataError(T.too_many_dropped(source, acc.dropped, n0, settings.max_dropped_share,
                                                    acc.findings))

        # ---- the clean orders, written by the engine ----
        stage(f"cleaning: writing {n_final:,} clean orders")
        outcols = {"customer_id": final.cid, "order_ts": final.ts.cast("timestamp"), "amount": final.amount}
        for canon in ("order_id", "quantity", "category", "channel", "discount"):
            if not has(canon):
                continue
            if canon == "order_id":
                outcols[canon] = final.oid.fill_null("")
            elif canon in ("quantity", "discount"):
                outcols[canon] = final[f"{canon}_v"].fill_null(0.0)
            else:
                outcols[canon] = final[canon].fill_null("unknown")
        path = Path(out)
        _write_sorted(con, final, [final.ts, final.cid, final[ROW]], outcols, path, n_final, SORT_ROWS)
        lap("write")
        lap("summary")  # the summary came with the median
        timings.update({f"fallback_{k_}": float(v) for k_, v in {**fallback_rows, **amount_fb}.items()})
        return CleanOrders(path=path, findings=acc.findings, rows_read=n0, rows=n_final,
                           customers=int(facts["customers"]), first_order=pd.Timestamp(facts["first"]),
                           last_order=pd.Timestamp(facts["last"]), revenue=round(float(facts["revenue"]), 2),
                           columns=list(outcols), timings=timings)
    finally:
        for t in reversed(tables):
            release(t)


def _known_table(known: pd.Series | ibis.Table) -> ibis.Table:
    if isinstance(known, ibis.Table):
        col = known.columns[0] if "customer_id" not in known.columns else "customer_id"
        return known.select(known_id=known[col].cast("string")).distinct()
    ids = pd.Series(known).dropna().astype(str).unique()
    return ibis.memtable(pa.table({"known_id": pa.array(list(ids), type=pa.string())}))


def _exact_median(col: ibis.FloatingValue, n: int, m: float | None = None) -> float:
    """numpy's median of a column on the engine, to the bit (module docstring).

    Parameters
    ----------
    col : Ibis floating column
        The values (``n`` of them, none missing).
    n : int
        The number of values.
    m : float, optional
        The engine's ``col.median()`` when the caller has it already (it is asked for otherwise).

    Returns
    -------
    float
        The median as numpy computes it.
    """
    if m is None:
        m = col.median().execute()
    t = col.as_table()
    c = t.columns[0]
    x = t[c]
    row = t.aggregate(lt=(x < m).sum(), le=(x <= m).sum(), below=x.max(where=x < m),
                      above=x.min(where=x > m)).execute().iloc[0]
    lt, le = int(row["lt"]), int(row["le"])

    def at(i: int) -> float:
        if i < lt:
            return float(row["below"])
        if i < le:
            return float(m)
        return float(row["above"])
    k1, k2 = (n - 1) // 2, n // 2
    if not (lt <= k2 and le >= k1 + 1):  # the engine's median lies outside the middle pair: a bug
        raise RuntimeError(f"median {m!r} of {n} values is not between the middle ones ({lt} below, {le} at or below)")
    return float(np.median(np.array([at(k1), at(k2)])))


#: DuckDB sorts about this many clean orders at a time when it writes them (:func:`_write_sorted`)
SORT_ROWS = 2_000_000


def _write_sorted(con, final: ibis.Table, keys: list, outcols: dict, path: Path, n_rows: int,
                  sort_rows: int = SORT_ROWS) -> None:
    """Write ``final``'s ``outcols`` ordered by ``keys`` (the first one the order time) to ``path``.

    Up to ``sort_rows`` rows (and always on Spark), one ordered query written by the engine
    (:func:`_write_parquet`, the reference). Past it on DuckDB, the rows are cut into consecutive
    ranges of whole hours of order time holding about ``sort_rows`` rows each (from the count of
    rows per hour; an hour with more rows is a range of its own), and each range is sorted on its
    own and appended to one Parquet file: the same rows in the same order, while the sort holds one
    range instead of the whole log (at 1M customers the one sort added 1.2 GB to the ingest
    kernel's peak).
    """
    if con.name == "pyspark" or n_rows <= sort_rows:
        _write_parquet(con, final.order_by(keys).select(**outcols), path)
        return
    import shutil

    import pyarrow.parquet as pq
    sec = final.ts.epoch_seconds()
    per_hour = final.group_by(h=(sec / 3600).floor().cast("int64")).aggregate(n=final.count()).order_by("h")
    hours = _to_pandas(per_hour)
    first_row = hours["n"].cumsum() - hours["n"]          # rows before each hour
    part_of = first_row // sort_rows                      # the range each hour starts in
    starts = hours["h"][part_of.ne(part_of.shift())].iloc[1:] * 3600
    edges: list[int | None] = [None, *(int(v) for v in starts), None]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    writer = None
    try:
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            part = final
            if lo is not None:
                part = part.filter(sec >= lo)
            if hi is not None:
                part = part.filter(sec < hi)
            rows = part.order_by(keys).select(**outcols).to_pyarrow()
            if writer is None:
                writer = pq.ParquetWriter(str(tmp), rows.schema)
            writer.write_table(rows, row_group_size=1_000_000)
            del rows
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)


def _write_parquet(con, expr: ibis.Table, path: Path) -> None:
    """Write ``expr`` in its order to ``path`` under a temporary name, then rename (DuckDB: one file)."""
    import shutil
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    elif tmp.exists():
        tmp.unlink()
    if con.name == "pyspark":
        con.to_parquet(expr, str(tmp))
    else:
        con.to_parquet(expr, str(tmp), row_group_size=1_000_000)
    if path.is_dir():
        shutil.rmtree(path)
    tmp.replace(path)


_ = dt  # dates in type hints of the settings
