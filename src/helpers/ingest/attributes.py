"""Customer attributes typed by their content at ingestion, and made ready for models.

An export's attributes arrive as text more often than not (CSV, Excel, a CRM dump): ``tenure`` as
``"12"``, ``monthly_charges`` as ``" 1,029.50 "``, ``partner`` as ``"Yes"``, ``signed_up`` as
``"2024-03-01"``. Left as text, a number becomes a category with a thousand levels and a model
learns nothing from it. Each attribute is therefore given one of four types at ingestion:

``number``
    At least :data:`NUMBER_SHARE` of its non-blank values read as numbers once spaces (also
    non-breaking and thin spaces), thousands separators (``1,234`` / ``1'234`` / ``1_234``),
    currency signs (``¥ $ € £``, ``CNY``, ``元``) and a trailing ``%`` are removed; full-width digits
    (``１２３``) are read as digits. Blanks and the values that do not read are missing. Codes with a
    leading zero (``"007"``, postal codes) are not numbers: they stay categories.
``boolean``
    Every non-blank value is one of ``0/1``, ``yes/no``, ``y/n``, ``true/false``, ``t/f`` (any
    case) or ``是/否``.
``date``
    At least :data:`NUMBER_SHARE` of the non-blank values look like dates (``2024-03-01``,
    ``2024/3/1``, ``01.03.2024``, ``2024年3月1日``) and parse. Models use their age in days.
``category``
    Everything else: the text, stripped, blanks missing.

Blank means empty or one of :data:`MISSING_TOKENS` (``NA``, ``null``, ``-``, ``无``...). A type set in
the column mapping (``columns.customers.attribute_types: {tenure: number}``) overrides the guess;
values that do not read as that type become missing and are counted in the data-quality table.

For models (:func:`model_features`): numbers stay numbers (missing kept, the models handle it),
booleans become 0/1, dates their age in days at the model's reference date, categories keep their
``max_levels`` most frequent levels and group the rest as ``"other"``; **identifier-like** columns
(a category, or a whole number, with a different value for (nearly) every customer) and columns
with a single value are left out. Each such decision comes back as a note for the page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.locale import N_, NC_, fmt_clauses, trc

__all__ = [
    "ATTRIBUTE_NAMES",
    "attribute_label",
    "TYPES",
    "NUMBER_SHARE",
    "MISSING_TOKENS",
    "UNREADABLE",
    "TRUE_TOKENS",
    "FALSE_TOKENS",
    "parse_numbers",
    "parse_booleans",
    "guess_type",
    "convert",
    "convert_rows",
    "type_attributes",
    "attribute_type",
    "is_identifier_like",
    "attribute_table",
    "AttributeNote",
    "model_features",
    "attribute_view",
]

#: Customer attributes that exports commonly carry, named in the page's language (message context
#: "data field"); any other column is shown as it is named in the export.
ATTRIBUTE_NAMES = {
    "region": NC_("data field", "region"), "city": NC_("data field", "city"),
    "city_tier": NC_("data field", "city_tier"), "acquisition_channel": NC_("data field", "acquisition_channel"),
    "gender": NC_("data field", "gender"), "age": NC_("data field", "age"),
    "member_level": NC_("data field", "member_level"), "tenure": NC_("data field", "tenure"),
}


def attribute_label(column: str, words: bool = False) -> str:
    """A customer attribute as the pages name it: the translation of a common attribute in the page's
    language (``acquisition_channel`` -> 获客渠道), else the export's column name (with spaces for
    underscores when ``words``, for a sentence; as it is otherwise, so that an analyst can find it)."""
    label = trc("data field", ATTRIBUTE_NAMES.get(column, column))
    return label if label != column or not words else column.replace("_", " ")

#: The types an attribute can have (the values of ``columns.customers.attribute_types``).
TYPES: tuple[str, ...] = ("number", "boolean", "date", "category")

#: Share of the non-blank values that must read as numbers (or dates) for the guess to be "number"
#: ("date"); the rest become missing. 0.95 tolerates a stray "n.a." or "unknown" in a numeric column
#: and refuses a category column that happens to hold some numbers.
NUMBER_SHARE = 0.95

#: Values that mean "no value" (compared after stripping, case-insensitively).
MISSING_TOKENS = frozenset({"", "na", "n/a", "n.a", "n.a.", "#n/a", "nan", "null", "none", "nil", "-", "--", "—", "?",
                            "missing", "无", "空", "缺失", "不详"})

#: Values read as true / false in a boolean attribute (compared after stripping, lower case).
TRUE_TOKENS = frozenset({"1", "1.0", "yes", "y", "true", "t", "是"})
FALSE_TOKENS = frozenset({"0", "0.0", "no", "n", "false", "f", "否"})

#: The data-quality finding of values that do not read as their attribute's type (message ids).
UNREADABLE = {"number": N_("attribute value is not a number"), "boolean": N_("attribute value is not yes/no"),
              "date": N_("attribute value is not a date"), "category": N_("attribute value is not text")}

#: Most distinct values a guess reads: beyond, every k-th of them (by frequency, a deterministic
#: stride) decides, so a million account numbers cost what 20,000 do.
_GUESS_VALUES = 20_000

#: Identifier-like: a different value for at least this share of the customers that have one...
_IDENTIFIER_SHARE = 0.95
#: ...among at least this many customers (in a table of 12 customers, 12 regions can be chance).
_IDENTIFIER_MIN = 50

_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
_CURRENCY = re.compile(r"(?i)[¥￥$€£]|\b(?:CNY|RMB|USD|EUR|GBP|HKD)\b|元")
_NUMBER = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:[,'_]\d{3})+)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_NEG_PARENS = re.compile(r"^\((.*)\)$")
_LEADING_ZERO = re.compile(r"^0\d")
_DATE_LIKE = re.compile(r"^\d{1,4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,4}\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?.*)?$")


def _text(s: pd.Series) -> pd.Series:
    """Stripped text with blanks (``MISSING_TOKENS``) as missing."""
    t = s.astype("string").str.strip()
    return t.mask(t.str.lower().isin(MISSING_TOKENS))


def _per_value(t: pd.Series, fn) -> pd.Series:
    """Floats from ``fn`` applied to the distinct values of ``t`` only, spread back to every row (a
    customers table of a million rows has a few thousand distinct values per attribute)."""
    codes, uniques = pd.factorize(t, use_na_sentinel=True)
    vals = fn(pd.Series(uniques, dtype="string")).to_numpy(float) if len(uniques) else np.array([], float)
    out = np.full(len(t), np.nan)
    hit = codes >= 0
    out[hit] = vals[codes[hit]]
    return pd.Series(out, index=t.index)


def _numbers_of(u: pd.Series) -> pd.Series:
    """Distinct text values -> float (NaN when not a number)."""
    u = u.map(lambda v: unicodedata.normalize("NFKC", v) if isinstance(v, str) else v).astype("string")
    u = u.str.replace(_SPACES, "", regex=True).str.replace(_CURRENCY, "", regex=True).str.replace(r"%$", "",
                                                                                                    regex=True)
    neg = u.str.match(_NEG_PARENS, na=False).to_numpy(bool)
    u = u.str.replace(_NEG_PARENS, r"\1", regex=True)
    ok = u.str.match(_NUMBER, na=False).to_numpy(bool)
    v = pd.to_numeric(u.str.replace(r"[,'_]", "", regex=True).where(ok), errors="coerce").astype(float)
    return v.where(~neg, -v)


def parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from text (see the module docstring); ``(values, unreadable)``.

    Returns
    -------
    values : Series of float
        NaN where blank or unreadable.
    unreadable : Series of bool
        Present (not blank) but not a number.
    """
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Float64").astype(float), pd.Series(False, index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.to_numeric(s, errors="coerce").astype(float), pd.Series(False, index=s.index)
    t = _text(s)
    v = _per_value(t, _numbers_of).astype(float)
    return v, (t.notna() & v.isna()).fillna(False).astype(bool)


def parse_booleans(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans from ``0/1``, ``yes/no``, ``true/false``, ``是/否`` (any case); ``(values, unreadable)``."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), pd.Series(False, index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.astype(float)
        ok = v.isin([0.0, 1.0])
        return v.where(ok).astype("boolean"), (v.notna() & ~ok).astype(bool)
    t = _text(s).str.lower()
    v = pd.Series(pd.NA, index=s.index, dtype="boolean")
    v[t.isin(TRUE_TOKENS).fillna(False).to_numpy(bool)] = True
    v[t.isin(FALSE_TOKENS).fillna(False).to_numpy(bool)] = False
    return v, (t.notna() & v.isna()).fillna(False).astype(bool)


def _parse_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    from helpers.ingest.rules import parse_dates
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or isinstance(s.dtype, pd.DatetimeTZDtype):
        v, bad, _ = parse_dates(s)
        return v, bad
    t = _text(s)
    t = t.str.replace(r"\s*[年月]\s*", "-", regex=True).str.replace("日", "", regex=False).str.strip()
    v, bad, _ = parse_dates(t)
    return v, bad


def guess_type(s: pd.Series) -> str:
    """The type of an attribute guessed from its values (see the module docstring).

    Read from the distinct values and their counts, so a million customers cost what their few
    thousand distinct values cost. A column with no value at all is a ``category`` (models leave it out).
    """
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or isinstance(s.dtype, pd.DatetimeTZDtype):
        return "date"
    if pd.api.types.is_numeric_dtype(s.dtype):
        present = s.dropna()
        return "boolean" if len(present) and present.isin([0, 1]).all() else "number"
    raw = s.value_counts(dropna=True)                   # distinct raw values first: cheap on a million rows
    t = _text(pd.Series(raw.index.astype(str), dtype="string"))
    present = t.notna().to_numpy()
    if not present.any():
        return "category"
    u = t[present].reset_index(drop=True)
    w = raw.to_numpy(float)[present]
    if len(u) > _GUESS_VALUES:   # an identifier or a continuous number: every k-th distinct value decides
        k = -(-len(u) // _GUESS_VALUES)
        u, w = u.iloc[::k].reset_index(drop=True), w[::k]
    w = w / w.sum()
    if u.str.lower().isin(TRUE_TOKENS | FALSE_TOKENS).all():
        return "boolean"
    numeric = _numbers_of(u).notna().to_numpy()
    if (w * numeric).sum() >= NUMBER_SHARE and not u.str.match(_LEADING_ZERO).any():
        return "number"
    if (w * u.str.match(_DATE_LIKE).to_numpy(bool)).sum() >= NUMBER_SHARE:
        _, bad = _parse_dates(u)
        if (w * ~bad.to_numpy(bool)).sum() >= NUMBER_SHARE:
            return "date"
    return "category"


def convert(s: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """``s`` as the type ``kind``; ``(values, unreadable)`` (unreadable values become missing).

    Numbers are ``float64`` (NaN missing), booleans pandas ``boolean``, dates ``datetime64[us]``,
    categories text (``str``, missing as NaN). Text is read once per distinct value (and once for
    the missing value) and spread back to every row: a million customers cost what their few
    thousand distinct values cost. The same results as :func:`convert_rows` (tested): every rule reads
    a value alone or the set of values, never how often a value occurs.
    """
    if _is_text(s) and len(s) > 1:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        if len(uniques) <= len(s) // 2:   # mostly repeated values (an identifier is cheaper row by row)
            u = pd.concat([pd.Series(uniques, dtype=s.dtype, name=s.name),
                           pd.Series([None], dtype=s.dtype, name=s.name)], ignore_index=True)
            rows = np.where(codes < 0, len(uniques), codes)
            v, bad = convert_rows(u, kind)
            return v.iloc[rows].set_axis(s.index), bad.iloc[rows].set_axis(s.index)
    return convert_rows(s, kind)


def _is_text(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)
                or pd.api.types.is_datetime64_any_dtype(s.dtype) or isinstance(s.dtype, pd.DatetimeTZDtype))


def convert_rows(s: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """:func:`convert` row by row (the reference it is tested against)."""
    if kind == "number":
        return parse_numbers(s)
    if kind == "boolean":
        return parse_booleans(s)
    if kind == "date":
        return _parse_dates(s)
    if kind == "category":
        if pd.api.types.is_float_dtype(s.dtype) and (s.dropna() % 1 == 0).all():
            s = s.astype("Int64")   # 3.0 read from a file with blanks is the code "3"
        t = _text(s).str.replace(_SPACES, " ", regex=True)
        return t.astype(str).where(t.notna().to_numpy(bool)), pd.Series(False, index=s.index)
    raise ValueError(f"unknown attribute type {kind!r}; use one of {list(TYPES)}")


def type_attributes(df: pd.DataFrame, attributes: list[str], types: dict[str, str],
                    examples: int = 3) -> tuple[pd.DataFrame, list]:
    """Type each attribute column of a customers table (guessed, or as ``types`` says).

    Parameters
    ----------
    df : DataFrame
        The customers table during cleaning (one row per customer).
    attributes : list of str
        The attribute columns to type (columns absent from ``df`` are skipped).
    types : dict
        Attribute -> type from the column mapping (``columns.customers.attribute_types``).
    examples : int
        Examples per finding.

    Returns
    -------
    (df, findings)
        A copy with typed columns, and a data-quality finding per attribute whose values did not all
        read as its type (those are set to missing).
    """
    from helpers.ingest.rules import Finding
    out = df.copy()
    findings = []
    n = max(len(df), 1)
    for a in attributes:
        if a not in out:
            continue
        kind = types.get(a) or guess_type(out[a])
        values, bad = convert(out[a], kind)
        rows = int(bad.sum())
        if rows:
            ex = fmt_clauses(str(v) for v in out.loc[bad.to_numpy(bool), a].astype("string").head(examples))
            findings.append(Finding("customers", UNREADABLE[kind], a, rows, rows / n, ex, "set to missing"))
        out[a] = values
    return out, findings


def attribute_type(s: pd.Series) -> str:
    """The type of an already typed attribute column, from its dtype."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "number"
    return "category"


def is_identifier_like(s: pd.Series, kind: str | None = None) -> bool:
    """A category (or a whole number) with a different value for nearly every customer that has one.

    Such a column names customers instead of describing them (an account number, a free-text
    note): a model can only memorise it. Continuous numbers (``12.35``) are never identifiers.
    """
    kind = kind or attribute_type(s)
    present = s.dropna()
    if len(present) < _IDENTIFIER_MIN or kind in ("boolean", "date"):
        return False
    if kind == "number" and not (present % 1 == 0).all():
        return False
    return present.nunique() >= _IDENTIFIER_SHARE * len(present)


def attribute_table(customers: pd.DataFrame | None, attributes: list[str], types: dict[str, str]) -> pd.DataFrame:
    """The data-intake table: each attribute's type, how it was decided, missing share and levels.

    Parameters
    ----------
    customers : DataFrame or None
        The clean (typed) customers table; ``None`` when the export has none.
    attributes : list of str
        ``columns.customers.attributes``.
    types : dict
        ``columns.customers.attribute_types`` (types set in the mapping).

    Returns
    -------
    DataFrame with translated headers: attribute, type, decided by, missing (share), levels
    (distinct values), range or most frequent value, note. Empty when there is no customers table.
    """
    from helpers.locale import fmt_date, fmt_int, fmt_number, fmt_pct, tr
    cols = [tr("Attribute"), tr("Type"), tr("Decided by"), tr("Missing"), tr("Levels"), tr("Values"), tr("Note")]
    if customers is None:
        return pd.DataFrame(columns=cols)
    names = {"number": tr("number"), "boolean": tr("yes/no"), "date": tr("date"), "category": tr("category")}
    rows = []
    n = max(len(customers), 1)
    for a in attributes:
        if a not in customers:
            rows.append([attribute_label(a), "", "", None, None, "",
                         tr("not in the export or dropped as personal data")])
            continue
        s = customers[a]
        kind = attribute_type(s)
        present = s.dropna()
        levels = int(present.nunique())
        if kind == "number" and len(present):
            values = tr("{low} to {high}, median {median}", low=fmt_number(present.min(), 2 if levels < 50 else 1),
                        high=fmt_number(present.max(), 1), median=fmt_number(present.median(), 1))
        elif kind == "date" and len(present):
            values = tr("{first} to {last}", first=fmt_date(present.min()), last=fmt_date(present.max()))
        elif kind == "boolean" and len(present):
            values = tr("yes for {share}", share=fmt_pct(present.astype(bool).mean()))
        elif len(present):
            top = present.value_counts()
            values = tr("most frequent: {value} ({share})", value=str(top.index[0]), share=fmt_pct(top.iloc[0] / n))
        else:
            values = ""
        if not len(present):
            note = tr("no values: left out of models")
        elif is_identifier_like(s, kind) and a not in types:
            note = tr("a different value for nearly every customer (an identifier): left out of models")
        elif levels == 1:
            note = tr("the same value for every customer: left out of models")
        elif kind == "category" and levels > 50:
            note = tr("{levels} levels: models keep the most frequent and group the rest as \"other\"",
                      levels=fmt_int(levels))
        else:
            note = ""
        rows.append([attribute_label(a), names[kind],
                     tr("set in the column mapping") if a in types else tr("guessed from the values"),
                     float(1 - len(present) / n), levels, values, note])
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class AttributeNote:
    """How an attribute enters a model, when not as it is (for the page)."""

    attribute: str
    action: str           # "identifier", "constant", "empty", "levels"
    levels: int = 0
    kept: int = 0
    other_share: float = 0.0

    @property
    def sentence(self) -> str:
        """The note in the page's language."""
        from helpers.locale import fmt_int, fmt_pct, tr
        if self.action == "identifier":
            return tr("**{attribute}** has a different value for nearly every customer (an identifier): left out.",
                      attribute=self.attribute)
        if self.action == "constant":
            return tr("**{attribute}** has the same value for every customer: left out.", attribute=self.attribute)
        if self.action == "empty":
            return tr("**{attribute}** has no values: left out.", attribute=self.attribute)
        return tr("**{attribute}** has {levels} levels: the {kept} most frequent are kept and the rest ({share} of "
                  "customers) are grouped as \"other\".", attribute=self.attribute, levels=fmt_int(self.levels),
                  kept=fmt_int(self.kept), share=fmt_pct(self.other_share))


def model_features(customers: pd.DataFrame, attributes: list[str], reference: pd.Timestamp, max_levels: int,
                   types: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[AttributeNote], dict[str, str]]:
    """Typed attributes as model features, one row per customer (indexed by ``customer_id`` as text).

    Parameters
    ----------
    customers : DataFrame
        Clean customers table (typed at ingestion; untyped text columns are typed here by the same rules).
    attributes : list of str
        Columns to use.
    reference : Timestamp
        Date ages are measured from (a date attribute becomes ``reference - date`` in days).
    max_levels : int
        Most frequent levels a category keeps; the rest become ``"other"``.
    types : dict, optional
        Types set in the column mapping: such a column is never left out as identifier-like.

    Returns
    -------
    (features, notes, kinds)
        ``features``: numbers as float (NaN missing), booleans as 0/1 floats, dates as ages in days,
        categories as pandas categoricals (missing = ``"unknown"``). ``notes``: what was left out or grouped.
        ``kinds``: feature -> its attribute type.
    """
    types = dict(types or {})
    c = customers.assign(customer_id=customers["customer_id"].astype(str)).drop_duplicates("customer_id") \
        .set_index("customer_id")
    out = pd.DataFrame(index=c.index)
    notes: list[AttributeNote] = []
    kinds: dict[str, str] = {}
    ref = pd.Timestamp(reference).normalize()
    for a in attributes:
        s = c[a]
        kind = attribute_type(s)
        want = types.get(a) or (guess_type(s) if kind == "category" else kind)
        if want != kind:     # a table that was not typed at ingestion, or a type set in the mapping
            s, _ = convert(s, want)
            kind = want
        present = s.dropna()
        if present.empty:
            notes.append(AttributeNote(a, "empty"))
            continue
        if present.nunique() == 1 and not s.isna().any():
            notes.append(AttributeNote(a, "constant"))
            continue
        if a not in types and is_identifier_like(s, kind):
            notes.append(AttributeNote(a, "identifier"))
            continue
        kinds[a] = kind
        if kind == "number":
            out[a] = s.astype(float)
        elif kind == "boolean":
            out[a] = s.astype("boolean").astype("Float64").astype(float)
        elif kind == "date":
            out[a] = (ref - pd.to_datetime(s)).dt.days.astype(float)
        else:
            out[a], note = _capped_levels(s, a, max_levels)
            if note is not None:
                notes.append(note)
    return out, notes, kinds


def _capped_levels(s: pd.Series, name: str, max_levels: int) -> tuple[pd.Categorical, AttributeNote | None]:
    """A category as a pandas categorical: its ``max_levels`` most frequent levels (ties by name),
    the rest ``"other"``, missing ``"unknown"``; worked on the integer codes, not on the strings."""
    codes, uniques = pd.factorize(s.astype("string"), use_na_sentinel=True)
    names = np.asarray(uniques.astype(str), dtype=object)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    order = np.lexsort((names.astype(str), -counts))          # most frequent first, then by name
    note = None
    label = names.copy()
    if len(names) > max_levels:
        dropped = order[max_levels:]
        label[dropped] = "other"
        note = AttributeNote(name, "levels", int(len(names)), int(max_levels),
                             float(counts[dropped].sum() / max(len(s), 1)))
    levels = sorted(set(label) | ({"unknown"} if (codes < 0).any() else set()))
    index = {v: i for i, v in enumerate(levels)}
    remap = np.array([index[v] for v in label], dtype=np.int64)
    new = np.where(codes >= 0, remap[np.maximum(codes, 0)], index.get("unknown", -1))
    return pd.Categorical.from_codes(new, categories=levels), note




def attribute_view(customers: pd.DataFrame | None, cols):
    """The intake table for the page (:func:`attribute_table` formatted), or a sentence when there is none.

    Parameters
    ----------
    customers : DataFrame or None
        The clean customers table.
    cols : CustomersColumns
        The customers column mapping (``attributes``, ``attribute_types``).
    """
    from IPython.display import Markdown

    from helpers.locale import tr
    from helpers.page.tables import styled_table
    if customers is None:
        return Markdown(tr("No customers table was supplied, so there are no customer attributes to describe."))
    if not cols.attributes:
        return Markdown(tr("No customer attributes are mapped (columns.customers.attributes is empty)."))
    t = attribute_table(customers, list(cols.attributes), dict(cols.attribute_types))
    return styled_table(t, int_cols=[tr("Levels")], pct_cols=[tr("Missing")], readable_headers=False)
