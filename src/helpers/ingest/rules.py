"""Input validation and cleaning: documented rules, every finding counted with examples.

Each rule either fixes the data (drops, nets or flags rows) or refuses the input with an
:class:`~helpers.frame.errors.InputDataError` naming the file, the column, how many rows and an
example. Every finding becomes a row of the data-quality table shown in the ingestion report.
The clean tables are then checked against the data contract (design.md §3) with pandera, which
guarantees what later steps may assume.

Rules for orders, in the order they apply (README "Data quality rules"):

1. blank or null customer id: dropped
2. date that cannot be parsed: dropped (mixed formats are parsed and reported)
3. amount missing or not a number (after removing currency symbols and thousands separators):
   dropped
4. date before ``min_valid_date``: impossible, dropped
5. date after the as-of date: excluded from this quarter's review (not an error)
6. cancelled status: dropped; unknown status: dropped
7. zero amount: dropped
8. duplicate order id among purchase lines: later lines dropped (or refused)
9. refunds (negative amounts, or refund status) netted against the order with the same order
   id, else against the customer's latest earlier purchase; orders refunded in full removed;
   refunds with no purchase to net against dropped
10. amounts above ``outlier_factor`` times the median order: flagged, kept
11. orders of customers missing from the customers table: flagged, kept
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.compute as pc

from helpers.frame.errors import InputDataError
from helpers.frame.settings import (
    CustomersColumns,
    ExperimentsColumns,
    IngestSettings,
    OrdersColumns,
)
from helpers.ingest.texts import format_examples
from helpers.locale import N_, NC_, fmt_date, fmt_number, tr, trc

__all__ = [
    "Finding",
    "findings_table",
    "parse_amount",
    "parse_dates",
    "ORDERS_SCHEMA",
    "CUSTOMERS_SCHEMA",
    "EXPERIMENTS_SCHEMA",
    "isin_ids",
    "clean_orders",
    "detect_pii_columns",
    "cn_id_check_ok",
    "looks_like_cn_name",
    "clean_customers",
    "clean_experiments",
    "ACTIONS",
    "action_label",
]


@dataclass
class Finding:
    """One data-quality finding: which table and column, how many rows, an example, the action.

    ``check`` is a sentence in the page's language; ``action`` is one of :data:`ACTIONS` (English, a
    code that steps compare, e.g. ``action.startswith("dropped")``), translated where it is shown.
    """

    table: str
    check: str
    column: str
    rows: int
    share: float
    examples: str
    action: str


#: What a rule did with the rows it found (translated where shown: :func:`action_label`).
ACTIONS = (N_("dropped"), N_("dropped (refunded)"), N_("dropped column"), N_("parsed"), N_("netted"),
           N_("set to missing"), N_("excluded from this quarter"), N_("flagged, kept"), N_("kept (no attributes)"),
           N_("flagged (excluded from A/B results)"), N_("skipped"))


#: The data contract's fields, as the data-quality table names them (message context "data field").
FIELDS = {
    "customer_id": NC_("data field", "customer_id"), "order_ts": NC_("data field", "order_ts"),
    "amount": NC_("data field", "amount"), "order_id": NC_("data field", "order_id"),
    "status": NC_("data field", "status"), "quantity": NC_("data field", "quantity"),
    "category": NC_("data field", "category"), "channel": NC_("data field", "channel"),
    "discount": NC_("data field", "discount"), "signup_date": NC_("data field", "signup_date"),
    "churned": NC_("data field", "churned"), "experiment_id": NC_("data field", "experiment_id"),
    "variant": NC_("data field", "variant"), "assigned_at": NC_("data field", "assigned_at"),
}


def field_label(field: str, column: str | None = None) -> str:
    """A field of the data contract as the data-quality table shows it, with the export's column when it
    is named differently: ``amount (实付金额)`` in English, ``金额（实付金额）`` in Chinese."""
    name = trc("data field", FIELDS.get(field, field))
    if column is None or column == field:
        return name
    return tr("{field} ({column})", field=name, column=column)


def action_label(action: str) -> str:
    """A finding's action in the page's language."""
    return tr(action)


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """The data-quality table (one row per finding, most rows first)."""
    cols = list(Finding.__dataclass_fields__)
    if not findings:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame([asdict(f) for f in findings], columns=cols)
    return df.sort_values(["table", "rows"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _examples(values: pd.Series, k: int) -> str:
    return format_examples(values, k)   # one formatter for the pandas and the engine rules


_CURRENCY = re.compile(r"(?i)[¥￥$€£]|\b(?:CNY|RMB|USD|EUR|GBP|HKD)\b|元|\s|\u00a0")


_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_amount(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse money values, tolerating currency symbols, thousands separators and ``(1.00)``.

    Parameters
    ----------
    s : Series
        Numbers or text such as ``"¥1,200.50"``, ``"USD 12"``, ``"(30.00)"``.

    Returns
    -------
    (values, bad) : tuple of Series
        Float values (NaN where missing or unparseable) and a mask of present-but-unparseable
        entries.
    """
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = pd.to_numeric(s, errors="coerce").astype("float64")
        return v, pd.Series(False, index=s.index)
    txt = s.astype("string").str.strip()
    missing = txt.isna() | (txt == "")
    t = txt.str.replace(_CURRENCY, "", regex=True)
    neg = t.str.match(r"^\(.*\)$", na=False)
    t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    thousands = t.str.match(_THOUSANDS, na=False)
    t = t.where(~thousands, t.str.replace(",", "", regex=False))
    v = pd.to_numeric(t, errors="coerce").astype("float64")
    v = v.where(~neg, -v)
    bad = v.isna() & ~missing
    return v, bad.fillna(False).astype(bool)


def parse_dates(s: pd.Series, fmt: str | None = None) -> tuple[pd.Series, pd.Series, int]:
    """Parse dates or timestamps into naive ``datetime64[us]``.

    Parameters
    ----------
    s : Series
        Datetimes, dates, or text. Time-zone-aware values are converted to naive local time.
    fmt : str, optional
        ``strftime`` format of text dates; without it ISO 8601 is tried, then mixed formats.

    Returns
    -------
    (values, bad, n_mixed) : tuple
        Parsed values (NaT where missing or unparseable), a mask of present-but-unparseable
        entries, and how many values needed the mixed-format fallback.
    """
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_localize(None).astype("datetime64[us]"), pd.Series(False, index=s.index), 0
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.astype("datetime64[us]"), pd.Series(False, index=s.index), 0
    txt = s.astype("string").str.strip()
    if pd.api.types.is_numeric_dtype(s.dtype):
        txt = s.astype("Int64").astype("string")
    missing = txt.isna() | (txt == "")
    n_mixed = 0
    if fmt:
        v = pd.to_datetime(txt, format=fmt, errors="coerce")
    else:
        v = pd.to_datetime(txt, format="ISO8601", errors="coerce")
        rest = v.isna() & ~missing
        if rest.any():
            w = pd.to_datetime(txt[rest], format="mixed", errors="coerce")
            n_mixed = int(w.notna().sum())
            v = v.astype("datetime64[us]")
            v[rest] = w
    if isinstance(v.dtype, pd.DatetimeTZDtype):
        v = v.dt.tz_localize(None)
    v = v.astype("datetime64[us]")
    bad = (v.isna() & ~missing).fillna(False).astype(bool)
    return v, bad, n_mixed


class _Rules:
    """Accumulates findings for one table."""

    def __init__(self, table: str, n: int, k: int):
        self.table, self.n, self.k = table, max(n, 1), k
        self.findings: list[Finding] = []
        self.dropped = 0

    def add(self, check: str, column: str, mask: pd.Series, examples: pd.Series, action: str,
            counts_as_dropped: bool = True) -> None:
        rows = int(mask.sum())
        if rows == 0:
            return
        self.findings.append(Finding(self.table, check, column, rows, rows / self.n,
                                     _examples(examples[mask], self.k), action))
        if counts_as_dropped and action.startswith("dropped"):
            self.dropped += rows


ORDERS_SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(str, nullable=False, checks=pa.Check.str_length(min_value=1)),
        "order_ts": pa.Column("datetime64[us]", nullable=False),
        "amount": pa.Column(float, pa.Check.gt(0), nullable=False),
    },
    strict=False, coerce=False, name="clean orders",
)


CUSTOMERS_SCHEMA = pa.DataFrameSchema(
    {"customer_id": pa.Column(str, nullable=False, unique=True)}, strict=False, name="clean customers")


EXPERIMENTS_SCHEMA = pa.DataFrameSchema(
    {
        "experiment_id": pa.Column(str, nullable=False),
        "customer_id": pa.Column(str, nullable=False),
        "variant": pa.Column(str, nullable=False),
        "assigned_at": pa.Column("datetime64[us]", nullable=False),
    },
    strict=False, name="clean experiments",
)


def _contract(schema: pa.DataFrameSchema, df: pd.DataFrame, extra: list[pa.Check] | None = None) -> None:
    """Validate a clean table against the data contract; a failure here is a bug, said plainly."""
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases.head(5).to_string()
        raise InputDataError(f"{schema.name} break the data contract after cleaning "
                             f"(please report this):\n{fc}") from None


def isin_ids(s: pd.Series, values) -> pd.Series:
    """Membership of text values (ids) by Arrow's hash kernel; missing values are never members.

    pandas' ``isin`` on string columns takes seconds per million rows (17 s on 9M order lines);
    ``pyarrow.compute.is_in`` takes a fraction of that.
    """
    vals = pd.Series(values).dropna().astype("string[pyarrow]").unique()
    arr = pyarrow.array(s.astype("string[pyarrow]").array)
    hit = pc.fill_null(pc.is_in(arr, value_set=pyarrow.array(vals), skip_nulls=True), False)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=s.index, dtype=bool)


def _as_id(s: pd.Series) -> pd.Series:
    """Customer/order ids as stripped text; blanks become missing; 12.0 -> "12"."""
    if pd.api.types.is_float_dtype(s.dtype):
        s = s.astype("Int64")
    t = s.astype("string").str.strip()
    return t.mask(t == "")


def clean_orders(raw: pd.DataFrame, cols: OrdersColumns, settings: IngestSettings,
                 as_of: pd.Timestamp, source: str,
                 known_customers: pd.Series | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """Apply the order rules (module docstring) and return the clean orders and the findings.

    Parameters
    ----------
    raw : DataFrame
        The orders as read, with source column names.
    cols : OrdersColumns
        Canonical name -> source column name.
    settings : IngestSettings
    as_of : Timestamp
        Last day of the quarter; orders after its end are excluded.
    source : str
        File name used in messages.
    known_customers : Series, optional
        Customer ids of the customers table, when there is one.

    Returns
    -------
    (orders, findings)
        Clean orders with canonical columns (``customer_id``, ``order_ts``, ``amount`` and the
        optional ones that were mapped), sorted by time, and the findings.

    Raises
    ------
    InputDataError
        No usable rows, too many dropped rows, duplicates when set to refuse.
    """
    mapping = {canon: src for canon, src in cols.model_dump().items() if src}
    df = raw.rename(columns={src: canon for canon, src in mapping.items()})[list(mapping)].copy()
    n0 = len(df)
    R = _Rules("orders", n0, settings.examples)
    label = lambda c: field_label(c, mapping[c])  # noqa: E731

    cid = _as_id(df["customer_id"])
    R.add(tr("blank or null customer id"), label("customer_id"), cid.isna(),
          df.get("order_id", pd.Series(range(n0), index=df.index)).astype("string").radd(tr("order {id}", id="")),
          "dropped")
    df["customer_id"] = cid
    ts, bad_ts, n_mixed = parse_dates(df["order_ts"], settings.date_format)
    R.add(tr("date cannot be parsed"), label("order_ts"), bad_ts, df["order_ts"], "dropped")
    missing_ts = ts.isna() & ~bad_ts
    R.add(tr("date missing"), label("order_ts"), missing_ts, df["customer_id"], "dropped")
    if n_mixed:
        R.findings.append(Finding("orders", tr("dates in mixed formats (parsed one by one; check day/month order)"),
                                  label("order_ts"), n_mixed, n_mixed / R.n,
                                  _examples(df["order_ts"][~bad_ts & ts.notna()], R.k), "parsed"))
    amt, bad_amt = parse_amount(df["amount"])
    texty = not pd.api.types.is_numeric_dtype(df["amount"].dtype)
    if texty:
        as_text = df["amount"].astype("string").str.strip()
        decorated = amt.notna() & ~as_text.str.fullmatch(r"-?\d+(\.\d+)?", na=False)
        if decorated.any():
            R.add(tr("amount written as text with currency symbol or thousands separator"),
                  label("amount"), decorated, as_text, "parsed", counts_as_dropped=False)
    R.add(tr("amount is not a number"), label("amount"), bad_amt, df["amount"], "dropped")
    R.add(tr("amount missing"), label("amount"), amt.isna() & ~bad_amt, df["customer_id"], "dropped")
    df["order_ts"], df["amount"] = ts, amt
    keep = df["customer_id"].notna() & df["order_ts"].notna() & df["amount"].notna()

    too_old = keep & (df["order_ts"] < pd.Timestamp(settings.min_valid_date))
    R.add(tr("date before {date} (impossible)", date=fmt_date(settings.min_valid_date)), label("order_ts"), too_old,
          df["order_ts"], "dropped")
    keep &= ~too_old
    end = as_of + pd.Timedelta(days=1)
    future = keep & (df["order_ts"] >= end)
    R.add(tr("date after the as-of date {date}", date=fmt_date(as_of)), label("order_ts"), future,
          df["order_ts"], "excluded from this quarter", counts_as_dropped=False)
    keep &= ~future

    refund_status = pd.Series(False, index=df.index)
    if "status" in df:
        st = df["status"].astype("string").str.strip().str.lower()
        completed = st.isin([s.lower() for s in settings.completed_statuses])
        refund_status = st.isin([s.lower() for s in settings.refund_statuses])
        cancelled = st.isin([s.lower() for s in settings.cancelled_statuses])
        R.add(tr("cancelled order"), label("status"), keep & cancelled, df["status"], "dropped")
        unknown = keep & ~(completed | refund_status | cancelled)
        R.add(tr("unknown status (not completed, refunded or cancelled)"), label("status"), unknown,
              df["status"], "dropped")
        keep &= ~cancelled & ~unknown
        df["status"] = st
    zero = keep & (df["amount"] == 0)
    R.add(tr("zero amount"), label("amount"), zero, df.get("order_id", df["customer_id"]), "dropped")
    keep &= ~zero

    is_refund = keep & ((df["amount"] < 0) | refund_status)
    purchases = df[keep & ~is_refund].copy()
    refunds = df[is_refund].copy()
    refunds["amount"] = -refunds["amount"].abs()

    if "order_id" in purchases:
        oid = _as_id(purchases["order_id"])
        purchases["order_id"] = oid
        dup = oid.notna() & oid.duplicated(keep="first")
        if dup.any() and settings.duplicate_order_ids == "refuse":
            ex = _examples(oid[dup], R.k)
            raise InputDataError(f"orders ({source}), column {label('order_id')}: {int(dup.sum()):,} "
                                 f"duplicate order ids, e.g. {ex}; set ingest.duplicate_order_ids: drop "
                                 "to keep the first line of each")
        R.add(tr("duplicate order id (later lines)"), label("order_id"), dup, oid, "dropped")
        purchases = purchases[~dup]
        refunds["order_id"] = _as_id(refunds["order_id"])

    purchases, refund_findings = _net_refunds(purchases, refunds, R.k)
    for f in refund_findings:
        R.findings.append(Finding("orders", f[0], label("amount"), f[1], f[1] / R.n, f[2], f[3]))
        if f[3].startswith("dropped"):
            R.dropped += f[1]

    if len(purchases):
        med = float(purchases["amount"].median())
        out = purchases["amount"] > settings.outlier_factor * med
        R.add(tr("amount above {factor}x the median order ({median})", factor=f"{settings.outlier_factor:g}",
                 median=fmt_number(med, 2)),
              label("amount"), out, purchases["amount"].round(2), "flagged, kept", counts_as_dropped=False)
    if known_customers is not None and len(purchases):
        unk = ~isin_ids(purchases["customer_id"], known_customers)
        R.add(tr("customer not in the customers table"), label("customer_id"), unk,
              purchases["customer_id"], "kept (no attributes)", counts_as_dropped=False)

    if len(purchases) == 0:
        top = "; ".join(f"{f.check}: {f.rows:,}" for f in R.findings[:4]) or "no rows"
        raise InputDataError(f"orders ({source}): no completed orders on or before {as_of.date()} "
                             f"remain after cleaning ({n0:,} lines read; {top})")
    share = R.dropped / n0
    if share > settings.max_dropped_share:
        top = "; ".join(f"{f.check} in {f.column}: {f.rows:,} (e.g. {f.examples})"
                        for f in sorted((f for f in R.findings if f.action.startswith("dropped")),
                                        key=lambda f: -f.rows)[:3])
        raise InputDataError(
            f"orders ({source}): {R.dropped:,} of {n0:,} lines ({share:.0%}) would be dropped, more "
            f"than ingest.max_dropped_share={settings.max_dropped_share:.0%}; biggest problems: {top}")

    purchases = purchases.drop(columns=[c for c in ("status",) if c in purchases])
    purchases["customer_id"] = purchases["customer_id"].astype(str)
    for c in ("category", "channel"):
        if c in purchases:
            purchases[c] = purchases[c].astype("string").str.strip().fillna("unknown").astype(str)
    for c in ("quantity", "discount"):
        if c in purchases:
            purchases[c] = parse_amount(purchases[c])[0].fillna(0.0)
    if "order_id" in purchases:
        purchases["order_id"] = purchases["order_id"].astype("string").fillna("").astype(str)
    # by time, then customer id, ties in file order (np.lexsort is stable; ids sorted as text)
    cust_rank = pd.factorize(purchases["customer_id"], sort=True)[0]
    order = np.lexsort((cust_rank, purchases["order_ts"].to_numpy()))
    purchases = purchases.iloc[order].reset_index(drop=True)
    _contract(ORDERS_SCHEMA, purchases)
    return purchases, R.findings


def _net_refunds(purchases: pd.DataFrame, refunds: pd.DataFrame, k: int):
    """Net refund lines into purchases (rule 9). Returns purchases and finding tuples."""
    findings = []
    if refunds.empty:
        return purchases, findings
    purchases = purchases.copy()
    target = pd.Series(np.nan, index=refunds.index)
    # only the purchases a refund can point at: the ones whose order id a refund line carries
    ref_ids = refunds["order_id"].dropna() if "order_id" in refunds else pd.Series([], dtype=str)
    candidates = purchases.loc[isin_ids(purchases["order_id"], ref_ids)] if "order_id" in purchases \
        else purchases.iloc[:0]
    if "order_id" in purchases and "order_id" in refunds:
        first_idx = candidates.reset_index().drop_duplicates("order_id").set_index("order_id")["index"]
        target = refunds["order_id"].map(first_idx).astype("float64")
        # a refund must belong to the same customer
        ok = target.notna()
        same = pd.Series(False, index=refunds.index)
        same[ok] = (
            purchases.loc[target[ok].astype(int), "customer_id"].to_numpy() == refunds.loc[ok, "customer_id"].to_numpy()
        )
        target = target.where(same)
    pending = target.isna() & (refunds["amount"] < 0)
    if "order_id" in refunds:
        # refund-status lines with their own order id and no purchase: the order itself was refunded
        pending &= refunds["order_id"].isna() | ~isin_ids(
            refunds["order_id"], candidates.get("order_id", pd.Series([], dtype=str))
        )
        pending |= target.isna() & refunds["order_id"].isna()
    if pending.any() and len(purchases):
        left = refunds.loc[pending, ["customer_id", "order_ts"]].reset_index().sort_values("order_ts")
        mine = purchases.loc[isin_ids(purchases["customer_id"], left["customer_id"]), ["customer_id", "order_ts"]]
        right = mine.reset_index().rename(columns={"index": "pidx"}).sort_values("order_ts")
        m = pd.merge_asof(left, right, on="order_ts", by="customer_id", direction="backward")
        target.loc[m["index"].to_numpy()] = m["pidx"].to_numpy(dtype="float64")
    matched = target.notna()
    net = refunds.loc[matched].groupby(target[matched].astype(int))["amount"].sum()
    new_amt = purchases.loc[net.index, "amount"] + net
    full = new_amt <= 0.005
    purchases.loc[net.index, "amount"] = new_amt.round(2)
    n_full, n_part = int(full.sum()), int((~full).sum())
    ex_full = _examples(
        purchases.loc[net.index[full]].get("order_id", purchases.loc[net.index[full], "customer_id"]), k
    )
    purchases = purchases.loc[~np.isin(purchases.index.to_numpy(), net.index[full].to_numpy())]
    if matched.any():
        findings.append((tr("refund lines netted into their orders"), int(matched.sum()),
                         _examples(refunds.loc[matched, "amount"], k), "netted"))
    if n_full:
        findings.append((tr("orders refunded in full"), n_full, ex_full, "dropped (refunded)"))
    if n_part:
        findings.append((tr("orders partly refunded (net amount kept)"), n_part,
                         _examples(new_amt[~full].round(2), k), "netted"))
    unmatched = ~matched
    if unmatched.any():
        findings.append((tr("refunded order or refund with no purchase to net against"), int(unmatched.sum()),
                         _examples(refunds.loc[unmatched].get("order_id", refunds.loc[unmatched, "customer_id"]), k),
                         "dropped"))
    return purchases, findings


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


_PHONE = re.compile(r"^\+?[\d\s\-().]{7,20}$")


#: A mainland China mobile number: 11 digits starting 13-19, optionally after +86 / 86 / 0086, with
#: spaces or dashes anywhere (``138 0013 8000``, ``+86-138-0013-8000``).
_CN_MOBILE = re.compile(r"^(?:(?:\+|00)?86)?1[3-9]\d{9}$")


#: Resident identity card number (GB 11643-1999): 6-digit area, birth date YYYYMMDD, 3-digit
#: sequence, a check character (ISO 7064 MOD 11-2: 0-9 or X).
_CN_ID = re.compile(r"^[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]$")


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_check_ok(value: str) -> bool:
    """Whether an 18-character resident ID number has the right form and check character."""
    v = str(value).strip()
    if not _CN_ID.match(v):
        return False
    total = sum(int(d) * w for d, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == v[17].upper()


#: The most common Chinese surnames (single and compound): they cover about nine in ten people.
_CN_SURNAMES_1 = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金"
    "韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文施洪辛柯庄葛祝甘鲁凌殷聂章舒翟倪"
    "关伍欧阳包牛单耿兰季蒙盛涂晏温解钮褚樊霍齐申左宁纪")
_CN_SURNAMES_2 = {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
                  "夏侯", "令狐"}
_HAN_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$|^[\u4e00-\u9fff]{1,8}[·•][\u4e00-\u9fff]{1,10}$")


def looks_like_cn_name(value: str) -> bool:
    """A Chinese personal name: 2-4 Han characters after a common surname (or a name with a middle dot)."""
    v = str(value).strip()
    if not _HAN_NAME.match(v):
        return False
    if "·" in v or "•" in v:
        return True
    return v[:2] in _CN_SURNAMES_2 or (v[0] in _CN_SURNAMES_1 and len(v) <= 3)


def detect_pii_columns(df: pd.DataFrame, sample: int = 200) -> list[str]:
    """Text columns whose values mostly look like personal data.

    Recognised by content (over the first ``sample`` non-missing values): e-mail addresses, phone
    numbers (international, and mainland mobile numbers with or without +86 and separators), Chinese
    resident ID numbers (18 characters with a valid check character) and Chinese personal names (a
    common surname and one or two more characters; the column must also be varied, so that a column of
    a few region or city names such as 华东 / 武汉 is not mistaken for names).
    """
    found = []
    for c in df.columns:
        if c == "customer_id" or not (pd.api.types.is_string_dtype(df[c].dtype) or df[c].dtype == object):
            continue
        v = df[c].dropna().astype(str).str.strip().head(sample)
        v = v[v != ""]
        if len(v) == 0:
            continue
        digits = v.str.count(r"\d")
        compact = v.str.replace(r"[\s\-()]", "", regex=True)
        if (v.str.match(_EMAIL).mean() > 0.5
                or (v.str.match(_PHONE) & (digits >= 7)).mean() > 0.5
                or compact.str.match(_CN_MOBILE).mean() > 0.5
                or v.map(cn_id_check_ok).mean() > 0.5):
            found.append(c)
            continue
        names = v.map(looks_like_cn_name)
        varied = v.nunique() / len(v) >= (0.5 if len(v) < 20 else 0.3)
        if names.mean() > 0.6 and varied:
            found.append(c)
    return found


def clean_customers(raw: pd.DataFrame, cols: CustomersColumns, settings: IngestSettings,
                    source: str) -> tuple[pd.DataFrame, list[Finding]]:
    """Clean the customers table: ids, signup dates, churn label, attributes; PII look-alikes dropped."""
    mapping = {"customer_id": cols.customer_id}
    if cols.signup_date:
        mapping["signup_date"] = cols.signup_date
    if cols.churned:
        mapping["churned"] = cols.churned
    for a in cols.attributes:
        mapping[a] = a
    df = raw.rename(columns={v: k for k, v in mapping.items()})[list(mapping)].copy()
    R = _Rules("customers", len(df), settings.examples)
    df["customer_id"] = _as_id(df["customer_id"])
    R.add(tr("blank or null customer id"), cols.customer_id, df["customer_id"].isna(), df["customer_id"], "dropped")
    df = df[df["customer_id"].notna()]
    dup = df["customer_id"].duplicated(keep="first")
    R.add(tr("duplicate customer id (later rows)"), cols.customer_id, dup, df["customer_id"], "dropped")
    df = df[~dup].copy()
    if "signup_date" in df:
        v, bad, _ = parse_dates(df["signup_date"], None)
        R.add(tr("signup date cannot be parsed"), cols.signup_date, bad, df["signup_date"], "set to missing")
        df["signup_date"] = v
    if "churned" in df:
        s = df["churned"].astype("string").str.strip().str.lower()
        val = s.map({"1": True, "true": True, "yes": True, "y": True, "0": False, "false": False,
                     "no": False, "n": False})
        bad = s.notna() & val.isna()
        R.add(tr("churn label is not yes/no"), cols.churned, bad, df["churned"], "set to missing")
        df["churned"] = val.astype("boolean")
    from helpers.ingest.attributes import guess_type, type_attributes  # typed by content (issue 17)
    dates = [a for a in cols.attributes if a in df and guess_type(df[a]) == "date"]  # "2024-03-01" is no phone
    pii = detect_pii_columns(df.drop(columns=[c for c in ("signup_date", "churned", *dates) if c in df]))
    if pii:
        R.findings.append(Finding("customers", tr("column looks like personal data (name, e-mail, phone or ID number)"),
                                  ", ".join(pii), len(df), 1.0, tr("values not shown"), "dropped column"))
        df = df.drop(columns=pii)
    df, typed = type_attributes(df, cols.attributes, cols.attribute_types, settings.examples)
    R.findings += typed
    df["customer_id"] = df["customer_id"].astype(str)
    df = df.sort_values("customer_id", kind="stable").reset_index(drop=True)
    _contract(CUSTOMERS_SCHEMA, df)
    return df, R.findings


def clean_experiments(raw: pd.DataFrame, cols: ExperimentsColumns, settings: IngestSettings,
                      as_of: pd.Timestamp, source: str) -> tuple[pd.DataFrame, list[Finding]]:
    """Clean the experiments table; customers in more than one variant are flagged (A/B excludes them)."""
    mapping = cols.model_dump(exclude={"metrics"})
    df = raw.rename(columns={v: k for k, v in mapping.items()})[list(mapping) + list(cols.metrics)].copy()
    R = _Rules("experiments", len(df), settings.examples)
    for mcol in cols.metrics:
        v, bad = parse_amount(df[mcol])
        R.add(tr("metric {metric} is not a number", metric=mcol), mcol, bad, df[mcol], "set to missing")
        df[mcol] = v
    for c in ("experiment_id", "customer_id", "variant"):
        df[c] = _as_id(df[c])
        R.add(tr("blank or null {column}", column=field_label(c)), field_label(c, mapping[c]), df[c].isna(),
              df["experiment_id"].fillna("?"), "dropped")
    ts, bad, _ = parse_dates(df["assigned_at"], settings.date_format)
    R.add(tr("assignment date cannot be parsed"), field_label("assigned_at", mapping["assigned_at"]), bad,
          df["assigned_at"], "dropped")
    df["assigned_at"] = ts
    df = df.dropna(subset=["experiment_id", "customer_id", "variant", "assigned_at"])
    late = df["assigned_at"] >= as_of + pd.Timedelta(days=1)
    R.add(tr("assigned after the as-of date {date}", date=fmt_date(as_of)),
          field_label("assigned_at", mapping["assigned_at"]), late, df["experiment_id"], "excluded from this quarter",
          counts_as_dropped=False)
    df = df[~late]
    dup = df.duplicated(["experiment_id", "customer_id", "variant"], keep="first")
    R.add(tr("duplicate assignment (same experiment, customer, variant)"),
          field_label("customer_id", mapping["customer_id"]), dup,
          df["customer_id"], "dropped")
    df = df[~dup].copy()
    multi = df.groupby(["experiment_id", "customer_id"])["variant"].transform("nunique") > 1
    R.add(tr("customer assigned to more than one variant"), field_label("variant", mapping["variant"]), multi,
          df["customer_id"], "flagged (excluded from A/B results)", counts_as_dropped=False)
    df["multi_variant"] = multi.to_numpy()
    for c in ("experiment_id", "customer_id", "variant"):
        df[c] = df[c].astype(str)
    df = df.sort_values(["experiment_id", "customer_id", "variant"], kind="stable").reset_index(drop=True)
    _contract(EXPERIMENTS_SCHEMA, df)
    return df, R.findings
