"""Parameters: one YAML merge, one pydantic validation, the same models in runner and notebooks.

``params/base.yaml`` holds every default (commented); a quarter's file overrides some of them.
:func:`load_config` merges the two and validates the result with :class:`RunConfig`
(``extra="forbid"`` everywhere: papermill alone only warns on a misspelled parameter). Each
pipeline notebook has a model (:data:`STEP_MODELS`) whose fields are exactly the names of its
``parameters`` cell; the runner checks that with ``papermill.inspect_notebook`` and passes each
notebook the values of its fields, and the notebook re-validates them with the same model.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from helpers.frame.errors import ParameterError

__all__ = [
    "defaults",
    "LANGUAGES",
    "project_root",
    "quarter_bounds",
    "previous_quarter",
    "SourceSpec",
    "redact_url",
    "Sources",
    "OrdersColumns",
    "CustomersColumns",
    "ExperimentsColumns",
    "Columns",
    "IngestSettings",
    "SegmentRule",
    "ActionGroup",
    "RfmSettings",
    "ClusteringSettings",
    "ClvSettings",
    "ChurnTiers",
    "ChurnSettings",
    "Guardrail",
    "AbSettings",
    "ExportSettings",
    "ReviewSettings",
    "BusinessSettings",
    "SparkSettings",
    "DuckDBSettings",
    "RunConfig",
    "StepParams",
    "IngestParams",
    "RfmParams",
    "ClvParams",
    "ChurnParams",
    "AbParams",
    "ReviewParams",
    "validation_message",
    "load_config",
    "base_file",
    "parameter_files",
    "step_parameters",
    "from_namespace",
]


_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def replace(self, **changes: Any):
        """A copy with ``changes`` applied, validated like a parameters file (bad values raise)."""
        return type(self).model_validate({**self.model_dump(), **changes})


class _Mapping(_Strict):
    """A column mapping: canonical name -> the export's column (``None``: the export has no such column)."""

    @classmethod
    def minimal(cls, **over: Any):
        """The mapping of an export that has only the required columns, under their canonical names
        (optional columns absent, no attributes or metrics), with ``over`` applied."""
        values: dict[str, Any] = {}
        for name, f in cls.model_fields.items():
            ann = str(f.annotation)
            values[name] = [] if ann.startswith("list") else {} if ann.startswith("dict") else (
                None if "None" in ann else name)
        return cls(**{**values, **over})


def project_root(start: str | Path | None = None) -> Path:
    """The project folder: ``$SEGREVIEW_ROOT``, else the nearest parent holding ``params/base.yaml``.

    Notebooks run with the project root as working directory under the runner, and with
    ``notebooks/`` as working directory in JupyterLab; both resolve to the same root.
    """
    env = os.environ.get("SEGREVIEW_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "params" / "base.yaml").is_file():
            return d
    return here


def quarter_bounds(quarter: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of a quarter label such as ``"2026Q3"``.

    Returns
    -------
    (start, end) : tuple of Timestamp
        Midnight of the first day and midnight of the last day (the as-of date).
    """
    m = _QUARTER.match(quarter)
    if not m:
        raise ParameterError(f"quarter {quarter!r} is not a quarter: write it as YYYYQn, e.g. 2026Q3")
    p = pd.Period(f"{m.group(1)}Q{m.group(2)}", freq="Q")
    return p.start_time.normalize(), p.end_time.normalize()


def previous_quarter(quarter: str) -> str:
    """The quarter before ``quarter`` (``"2026Q1"`` -> ``"2025Q4"``)."""
    quarter_bounds(quarter)
    p = pd.Period(quarter, freq="Q") - 1
    return f"{p.year}Q{p.quarter}"


class SourceSpec(_Strict):
    """Where one input table comes from: a file, or a table in a SQL database.

    ``path`` is a CSV/TXT, Parquet, Excel or DuckDB file, relative to the project root;
    ``table`` names the table inside a DuckDB file or the database; ``sheet`` the Excel sheet
    (name or 0-based index); ``delimiter`` a CSV separator or ``"whitespace"``; ``header`` whether
    the first line holds column names, and ``names`` gives them when it does not.

    ``url`` is a PostgreSQL connection URL **without a password** (``postgresql://host:5432/crm``);
    the user and password come from the environment (``PGUSER``, ``PGPASSWORD``, or a ``.env``
    file in the project root), never from a parameters file. ``db_schema`` is the schema holding
    ``table`` (default: the server's search path, usually ``public``).
    """

    path: str | None = None
    url: str | None = None
    format: Literal["auto", "csv", "parquet", "excel", "duckdb"] = "auto"
    table: str | None = None
    db_schema: str | None = None
    sheet: str | int | None = None
    delimiter: str | None = None
    encoding: str = "auto"
    header: bool = True
    names: list[str] | None = None

    @field_validator("path")
    @classmethod
    def _no_escape(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("path is empty")
        return v

    @field_validator("url")
    @classmethod
    def _no_secrets(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from urllib.parse import parse_qs, urlsplit
        u = urlsplit(v)
        if u.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"url scheme {u.scheme!r} is not supported; use postgresql://host:port/database")
        if u.password or "password" in {k.lower() for k in parse_qs(u.query)}:
            raise ValueError("the url holds a password: remove it and set PGPASSWORD (and PGUSER) in the "
                             "environment or in the project's .env file; passwords never go in parameters files")
        return v

    @model_validator(mode="after")
    def _one_place(self) -> SourceSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of `path` (a file) or `url` (a database) for each source")
        if self.url is not None and not self.table:
            raise ValueError("a database source (`url`) needs `table:`")
        return self

    @property
    def where(self) -> str:
        """The source for messages and the run record: the file, or the URL (no credentials) and table."""
        if self.url is None:
            return f"{self.path}{':' + self.table if self.table else ''}"
        return f"{redact_url(self.url)} table {('' if not self.db_schema else self.db_schema + '.') + self.table}"


def redact_url(url: str) -> str:
    """A connection URL without user name or password (safe for logs and reports)."""
    from urllib.parse import urlsplit
    u = urlsplit(url)
    netloc = (u.hostname or "") + (f":{u.port}" if u.port else "")
    return f"{u.scheme}://{netloc}{u.path}" + (f"?{u.query}" if u.query else "")


class Sources(_Strict):
    """Input tables; ``customers`` and ``experiments`` are optional (``null``)."""

    orders: SourceSpec
    customers: SourceSpec | None
    experiments: SourceSpec | None


class OrdersColumns(_Mapping):
    """Source column names of the orders table (``null`` = the export has no such column)."""

    customer_id: str
    order_ts: str
    amount: str
    order_id: str | None
    quantity: str | None
    category: str | None
    channel: str | None
    status: str | None
    discount: str | None


class CustomersColumns(_Mapping):
    """Source column names of the customers table; ``attributes`` are kept for profiles and models.

    ``attribute_types`` sets the type of an attribute (``number``, ``boolean``, ``date`` or
    ``category``) where the guess from its values would be wrong (see :mod:`helpers.ingest.attributes`).
    """

    customer_id: str
    signup_date: str | None
    churned: str | None
    attributes: list[str]
    attribute_types: dict[str, Literal["number", "boolean", "date", "category"]]

    @model_validator(mode="after")
    def _typed_attributes(self) -> CustomersColumns:
        unknown = [a for a in self.attribute_types if a not in self.attributes]
        if unknown:
            raise ValueError(f"attribute_types names {unknown}, which `attributes` does not list "
                             f"(it lists {self.attributes}); add them to `attributes` or remove their type")
        return self


class ExperimentsColumns(_Mapping):
    """Source column names of the experiments table."""

    experiment_id: str
    customer_id: str
    variant: str
    assigned_at: str
    metrics: list[str]


class Columns(_Strict):
    """Column mapping per table: canonical name -> name in the export."""

    orders: OrdersColumns
    customers: CustomersColumns
    experiments: ExperimentsColumns


class IngestSettings(_Strict):
    """Cleaning rules of the ingestion step (see README, "Data quality rules")."""

    date_format: str | None
    min_valid_date: dt.date
    completed_statuses: list[str]
    refund_statuses: list[str]
    cancelled_statuses: list[str]
    duplicate_order_ids: Literal["drop", "refuse"]
    max_dropped_share: float = Field(ge=0, le=1)
    outlier_factor: float = Field(gt=1)
    examples: int = Field(ge=1, le=20)


class SegmentRule(_Strict):
    """One named segment: inclusive score ranges; the first rule that matches a customer wins."""

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int] = (1, 5)
    lapsed: bool = False

    @field_validator("r", "f", "m")
    @classmethod
    def _range(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if not 1 <= lo <= hi <= 5:
            raise ValueError(f"score range {list(v)} must satisfy 1 <= low <= high <= 5")
        return v


class ActionGroup(_Strict):
    """A roll-up of segments with the action recommended for them."""

    name: str
    action: str
    segments: list[str]
    #: the words of ``action`` that name the group's own offer (e.g. "no discounts needed"): when the plan sends
    #: the group a tested treatment instead, or no offer at all, it writes the action with these words replaced,
    #: so that the action never contradicts the offer actually made
    offer: str | None = None
    #: false: the plan never sends this group an experiment's paid treatment (a group whose action says "no
    #: discounts needed" or "exclude from paid campaigns"); it keeps its own action, and the plan names the
    #: treatment it leaves out
    paid_offers: bool = True

    @model_validator(mode="after")
    def _offer_in_action(self) -> ActionGroup:
        if self.offer is not None and self.offer not in self.action:
            raise ValueError(f"action group {self.name!r}: offer {self.offer!r} is not words of its action "
                             f"{self.action!r}")
        return self








class RfmSettings(_Strict):
    """RFM scoring, the named-segment map and the action groups (README "Segments")."""

    frequency: Literal["purchase_days", "orders"]
    monetary: Literal["total", "average"]
    segments: list[SegmentRule]
    segment_order: list[str]
    action_groups: list[ActionGroup]

    @model_validator(mode="after")
    def _complete(self) -> RfmSettings:
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique: {names}")
        uncovered = [(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)
                     if not any(s.r[0] <= r <= s.r[1] and s.f[0] <= f <= s.f[1] and s.m[0] <= m <= s.m[1]
                                for s in self.segments)]
        if uncovered:
            raise ValueError(f"the segment map leaves {len(uncovered)} score cell(s) without a segment, "
                             f"e.g. R={uncovered[0][0]} F={uncovered[0][1]} M={uncovered[0][2]}")
        if sorted(self.segment_order) != sorted(names):
            raise ValueError("segment_order must list every segment exactly once (best first): "
                             f"missing {sorted(set(names) - set(self.segment_order))}, "
                             f"unknown {sorted(set(self.segment_order) - set(names))}")
        if not 4 <= len(self.action_groups) <= 6:
            raise ValueError(f"use 4 to 6 action groups, not {len(self.action_groups)}")
        grouped = [s for g in self.action_groups for s in g.segments]
        if sorted(grouped) != sorted(names):
            raise ValueError(
                "every segment must be in exactly one action group: "
                f"ungrouped {sorted(set(names) - set(grouped))}, "
                f"repeated or unknown "
                f"{sorted({s for s in grouped if grouped.count(s) > 1} | (set(grouped) - set(names)))}"
            )
        return self

    def localized(self, language: str) -> RfmSettings:
        """The map with its names in ``language``: segments, action groups and actions that have a
        translation in the message catalog (``names.po``); names a team wrote itself stay as written.

        The same names then reach every table, figure, summary and export of the run.
        """
        from helpers.locale import translate_name
        if language == "en":
            return self
        seg = {s.name: translate_name(s.name, "rfm segment", language) for s in self.segments}
        grp = {g.name: translate_name(g.name, "action group", language) for g in self.action_groups}
        data = self.model_dump()
        for s in data["segments"]:
            s["name"] = seg[s["name"]]
        data["segment_order"] = [seg.get(n, n) for n in data["segment_order"]]
        for g in data["action_groups"]:
            g["name"] = grp[g["name"]]
            action = translate_name(g["action"], "recommended action", language)
            if g.get("offer"):
                offer = translate_name(g["offer"], "recommended action", language)
                # a translation that does not keep the offer's words inside the action's: no words to replace
                g["offer"] = offer if offer in action else None
            g["action"] = action
            g["segments"] = [seg.get(n, n) for n in g["segments"]]
        return type(self).model_validate(data)


class ClusteringSettings(_Strict):
    """k-means on standardized log1p features; k chosen by silhouette over ``k_min..k_max``."""

    k_min: int = Field(ge=2, le=15)
    k_max: int = Field(ge=2, le=15)
    silhouette_sample: int = Field(ge=500)
    n_init: int = Field(ge=1, le=50)
    attributes: list[str]

    @model_validator(mode="after")
    def _range(self) -> ClusteringSettings:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        return self


class ClvSettings(_Strict):
    """Customer lifetime value: models, backtest split, horizon, discounting, intervals, data thresholds.

    ``model`` is the purchase model of non-contractual businesses (``auto``: chosen on the holdout
    backtest); ``retention_model`` the retention model of subscriptions (``auto``: chosen on the
    holdout). See README, "Customer value".
    """

    model: Literal["auto", "bgnbd", "mbgnbd", "paretonbd"]
    retention_model: Literal["auto", "sbg", "bdw"]
    unit_days: float = Field(gt=0, le=31)
    holdout_days: int = Field(ge=28, le=730)
    horizon_months: int = Field(ge=1, le=60)
    annual_discount: float = Field(ge=0, le=1)
    n_draws: int = Field(ge=20, le=2000)
    interval: float = Field(gt=0.5, lt=1)
    min_customers: int = Field(ge=10, le=1_000_000)
    min_repeat_buyers: int = Field(ge=5, le=1_000_000)
    min_cancellations: int = Field(ge=5, le=1_000_000)
    cohort: Literal["year", "quarter"]
    min_cohort_customers: int = Field(ge=20, le=1_000_000)
    payment_grace_days: int = Field(ge=0, le=90)


class ChurnTiers(_Strict):
    """Risk tiers: probability cut-offs, or shares of the scored customers (riskiest first)."""

    method: Literal["probability", "top_share"]
    high: float = Field(gt=0, lt=1)
    medium: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _order(self) -> ChurnTiers:
        if self.method == "probability" and self.medium >= self.high:
            raise ValueError(f"churn.tiers: medium ({self.medium}) must be below high ({self.high})")
        if self.method == "top_share" and self.high + self.medium >= 1:
            raise ValueError(f"churn.tiers: shares high + medium ({self.high} + {self.medium}) must be below 1")
        return self


class ChurnSettings(_Strict):
    """Churn risk: label horizon, population, features, model choice and its rule, tiers, retention curves."""

    horizon_days: int = Field(ge=14, le=730)
    active_days: int = Field(ge=30, le=3650)
    attributes: list[str]
    model: Literal["auto", "gradient_boosting", "logistic", "bgnbd"]
    criterion: Literal["brier", "log_loss"]
    max_levels: int = Field(ge=2, le=200)
    cv_folds: int = Field(ge=2, le=20)
    tiers: ChurnTiers
    high_value_share: float = Field(gt=0, le=1)
    retention_days: int = Field(ge=30, le=1095)
    cohorts: int = Field(ge=2, le=20)


class Guardrail(_Strict):
    """A metric that must not get worse by more than ``margin`` x the control mean (non-inferiority)."""

    metric: str
    margin: float = Field(ge=0)
    higher_is_worse: bool


class AbSettings(_Strict):
    """A/B evaluation conventions (README "Experiments")."""

    window_days: int = Field(ge=1, le=365)
    control_variant: str
    planned_split: dict[str, float] | None
    primary_metric: Literal["conversion", "revenue_per_customer"]
    alpha: float = Field(gt=0, lt=0.5)
    srm_alpha: float = Field(gt=0, lt=0.1)
    power: float = Field(gt=0.5, lt=1)
    winsorize_percentile: float | None = Field(gt=0.5, lt=1)
    segment_by: Literal["action_group", "rfm_segment"]
    bayes_draws: int = Field(ge=1000)
    guardrails: list[Guardrail]
    cost_per_treated: dict[str, float]
    plan_prefix: str = Field(min_length=1)

    @field_validator("cost_per_treated")
    @classmethod
    def _costs(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: c for k, c in v.items() if not c >= 0}
        if bad:
            raise ValueError(f"ab.cost_per_treated must be >= 0 (a cost per treated customer), got {bad}")
        return v


class ExportSettings(_Strict):
    """The campaign-tool export ``segments_export.csv``."""

    hash_customer_ids: bool
    salt_env: str
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gb18030"]

    def csv_encoding(self, language: str) -> str:
        """The CSV exports' encoding: ``auto`` is UTF-8 with a byte-order mark for zh-CN (Excel on Chinese
        Windows then shows Chinese text), plain UTF-8 otherwise."""
        if self.encoding != "auto":
            return self.encoding
        return "utf-8-sig" if language == "zh-CN" else "utf-8"

    @model_validator(mode="after")
    def _salt(self) -> ExportSettings:
        if self.hash_customer_ids and not os.environ.get(self.salt_env):
            raise ValueError(f"export.hash_customer_ids needs the environment variable {self.salt_env} (the salt "
                             "is read from the environment, never from a parameters file)")
        return self


class LifecycleSettings(_Strict):
    """Lifecycle stages at a quarter's end (README "Lifecycle"): new (first order in the quarter),
    active (last order within ``active_days``), dormant (within ``lost_days``), lost (older)."""

    active_days: int = Field(ge=30, le=3650)
    lost_days: int = Field(ge=60, le=7300)

    @model_validator(mode="after")
    def _order(self) -> LifecycleSettings:
        if self.lost_days <= self.active_days:
            raise ValueError(f"review.lifecycle.lost_days ({self.lost_days}) must be longer than active_days "
                             f"({self.active_days})")
        return self


class PlanSettings(_Strict):
    """The plan per action group (README "The plan"): offer costs, holdout sizing."""

    offer_cost: dict[str, float]
    gross_margin: float = Field(gt=0, le=1)
    mde_points: float = Field(gt=0, lt=1)
    alpha: float = Field(gt=0, lt=0.5)
    power: float = Field(gt=0.5, lt=1)
    min_holdout: int = Field(ge=10)
    max_holdout_share: float = Field(gt=0, le=0.5)
    high_risk_share: float = Field(gt=0, lt=1)

    @field_validator("offer_cost")
    @classmethod
    def _costs(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: c for k, c in v.items() if not c >= 0}
        if bad:
            raise ValueError(f"review.plan.offer_cost must be >= 0 per action group, got {bad}")
        return v


class ChannelSettings(_Strict):
    """Value by acquisition channel and other customer attributes (README "Value by channel")."""

    attributes: list[str]
    acquisition_cost: dict[str, dict[str, float]]
    min_customers: int = Field(ge=1)


class ReviewSettings(_Strict):
    """Presentation of the quarterly review and its plan, lifecycle, trend and channel sections."""

    top_n: int = Field(ge=1, le=50)
    trend_quarters: int = Field(ge=2, le=40)
    lifecycle: LifecycleSettings
    plan: PlanSettings
    channels: ChannelSettings


class BusinessSettings(_Strict):
    """What kind of business the export comes from; decides the value and churn models.

    ``non_contractual``: customers buy when they like (retail, e-commerce): BG/NBD-type models.
    ``contractual``: customers renew every period until they cancel (subscriptions, memberships,
    telecoms, courses): sBG retention and contractual CLV. ``auto``: contractual when the customers
    table carries an explicit churn label (``columns.customers.churned``), else non-contractual.
    """

    model: Literal["auto", "contractual", "non_contractual"]
    period_months: int = Field(ge=1, le=12)

    def contractual(self, has_churn_label: bool) -> bool:
        """Whether the run treats the business as contractual (see the class docstring)."""
        return self.model == "contractual" or (self.model == "auto" and has_churn_label)


class SparkSettings(_Strict):
    """The Spark session used when ``engine: spark`` (see :mod:`helpers.engine` and the README)."""

    master: str
    remote: str | None
    app_name: str
    driver_memory: str = Field(pattern=r"^\d+[kmgt]$")
    shuffle_partitions: int = Field(ge=1, le=100_000)
    config: dict[str, str]

    @field_validator("remote")
    @classmethod
    def _remote(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("sc://"):
            raise ValueError(f"spark.remote {v!r} must be a Spark Connect URL (sc://host:port)")
        return v


class DuckDBSettings(_Strict):
    """Limits of the DuckDB connection of each notebook process when ``engine: duckdb``.

    Notebooks that do not need each other run side by side (two kernels), each with its own
    DuckDB: ``memory_limit`` bounds each one's buffer (beyond it DuckDB spills to a temporary
    folder), so the kernels together stay within the machine; ``null`` leaves DuckDB's own
    default (80% of the machine's memory, for each kernel). ``threads``: DuckDB's worker threads
    per kernel (``null``: one per core).
    """

    memory_limit: str | None = Field(pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
    threads: int | None = Field(ge=1, le=1024)


#: Languages of the pages (see :mod:`helpers.locale`).
LANGUAGES = ("en", "zh-CN")
Language = Literal["en", "zh-CN"]


class RunConfig(_Strict):
    """The merged parameters of one quarter's run (``params/base.yaml`` + the quarter's file)."""

    quarter: str
    language: Language
    company: str
    currency: str = Field(min_length=1, max_length=8)
    seed: int = Field(ge=0)
    reports_dir: str
    steps: list[str]
    sources: Sources
    engine: Literal["duckdb", "spark"]
    spark: SparkSettings
    duckdb: DuckDBSettings
    columns: Columns
    pii_columns: list[str]
    business: BusinessSettings
    ingest: IngestSettings
    rfm: RfmSettings
    clustering: ClusteringSettings
    clv: ClvSettings
    churn: ChurnSettings
    ab: AbSettings
    export: ExportSettings
    review: ReviewSettings

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, v: str) -> str:
        if not _QUARTER.match(v):
            raise ValueError(f"{v!r} is not a quarter: write it as YYYYQn, e.g. 2026Q3")
        return v

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[str]) -> list[str]:
        from helpers.frame.registry import PIPELINE
        unknown = [s for s in v if s not in PIPELINE]
        if unknown:
            raise ValueError(f"unknown step(s) {unknown}; steps are {list(PIPELINE)}")
        if "10_ingest" not in v:
            raise ValueError("10_ingest must run: every other step reads its clean tables")
        return [s for s in PIPELINE if s in v]

    @model_validator(mode="after")
    def _paths_inside(self) -> RunConfig:
        root = project_root()
        for name in ("orders", "customers", "experiments"):
            spec = getattr(self.sources, name)
            if spec is None or spec.path is None:
                continue
            p = (root / spec.path).resolve()
            if not p.is_relative_to(root):
                raise ValueError(
                    f"sources.{name}.path {spec.path!r} is outside the project ({root}); copy the "
                    "export into data/ (raw data stays immutable there) and point to it")
        for key, named in (("churn.attributes", self.churn.attributes),
                           ("clustering.attributes", self.clustering.attributes)):
            unknown = [a for a in named if a not in self.columns.customers.attributes]
            if unknown:
                close = {a: difflib.get_close_matches(a, self.columns.customers.attributes, n=1) for a in unknown}
                hint = "".join(f"; {a!r}: did you mean {c[0]!r}?" for a, c in close.items() if c)
                raise ValueError(f"{key} names {unknown}, which columns.customers.attributes does not keep "
                                 f"(it keeps {self.columns.customers.attributes}){hint}")
        rd = (root / self.reports_dir).resolve()
        if not rd.is_relative_to(root):
            raise ValueError(f"reports_dir {self.reports_dir!r} is outside the project ({root})")
        return self

    @model_validator(mode="after")
    def _names_in_language(self) -> RunConfig:
        """The segment map's names in the run's language (:meth:`RfmSettings.localized`)."""
        if self.language == "en":
            return self
        return self.model_copy(update={"rfm": self.rfm.localized(self.language),
                                       "review": _review_localized(self.review, self.language)})


def _review_localized(review, language: str):
    """The review settings with the action groups named in ``language`` where they key a value (the offer
    cost per group), as :meth:`RfmSettings.localized` names the groups themselves."""
    from helpers.locale import translate_name
    if review is None or language == "en":
        return review
    costs = {translate_name(k, "action group", language): v for k, v in review.plan.offer_cost.items()}
    return review.model_copy(update={"plan": review.plan.model_copy(update={"offer_cost": costs})})


class StepParams(_Strict):
    """Fields every pipeline notebook has: the quarter and the run folder (``""`` = hand run)."""

    quarter: str
    language: Language
    run_dir: str = ""
    reports_dir: str

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, v: str) -> str:
        return RunConfig._quarter(v)

    @model_validator(mode="after")
    def _names_in_language(self) -> StepParams:
        """A hand run's segment map in the page's language, as the runner's (:meth:`RfmSettings.localized`)."""
        rfm = getattr(self, "rfm", None)
        if self.language == "en" or rfm is None:
            return self
        update = {"rfm": rfm.localized(self.language)}
        if getattr(self, "review", None) is not None:
            update["review"] = _review_localized(self.review, self.language)
        return self.model_copy(update=update)


class IngestParams(StepParams):
    """Parameters of ``10_ingest``."""

    seed: int
    currency: str
    engine: Literal["duckdb", "spark"]
    spark: SparkSettings
    duckdb: DuckDBSettings
    sources: Sources
    columns: Columns
    pii_columns: list[str]
    ingest: IngestSettings


class RfmParams(StepParams):
    """Parameters of ``20_rfm_clustering``."""

    seed: int
    currency: str
    engine: Literal["duckdb", "spark"]
    spark: SparkSettings
    duckdb: DuckDBSettings
    rfm: RfmSettings
    clustering: ClusteringSettings
    review: ReviewSettings


class ClvParams(StepParams):
    """Parameters of ``30_clv``."""

    seed: int
    currency: str
    engine: Literal["duckdb", "spark"]
    spark: SparkSettings
    duckdb: DuckDBSettings
    business: BusinessSettings
    rfm: RfmSettings
    clv: ClvSettings


class ChurnParams(StepParams):
    """Parameters of ``40_churn``."""

    seed: int
    currency: str
    business: BusinessSettings
    engine: Literal["duckdb", "spark"]
    spark: SparkSettings
    duckdb: DuckDBSettings
    columns: Columns
    rfm: RfmSettings
    churn: ChurnSettings


class AbParams(StepParams):
    """Parameters of ``50_ab_evaluation``."""

    seed: int
    currency: str
    engine: Literal["duckdb", "spark"]
    spark: SparkSettings
    duckdb: DuckDBSettings
    rfm: RfmSettings
    ab: AbSettings
    review: ReviewSettings      # review.plan.gross_margin prices a shipped experiment as the plan prices an offer


class ReviewParams(StepParams):
    """Parameters of ``60_quarterly_review``."""

    seed: int
    company: str
    currency: str
    rfm: RfmSettings
    ab: AbSettings
    review: ReviewSettings
    export: ExportSettings


def _deep_merge(base: dict, over: dict, at: tuple = ()) -> dict:
    """Merge ``over`` into ``base`` key by key; each entry of ``sources`` is replaced as a whole
    (a quarter's database source must not inherit the base file's ``path``)."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and at != ("sources",):
            out[k] = _deep_merge(out[k], v, (*at, k))
        else:
            out[k] = v
    return out


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ParameterError(f"parameters file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ParameterError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path} must hold a mapping of keys to values, not {type(data).__name__}")
    return data


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the location ``loc`` (for listing allowed keys)."""
    cur: Any = model
    for part in loc[:-1]:
        if not (isinstance(cur, type) and issubclass(cur, BaseModel)) or part not in cur.model_fields:
            return None
        ann = cur.model_fields[part].annotation
        args = getattr(ann, "__args__", ()) or (ann,)
        cur = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def validation_message(err: ValidationError, model: type[BaseModel], source: str) -> str:
    """Turn a pydantic error into lines naming the key, the file and the allowed keys."""
    lines = [f"invalid parameters in {source}:"]
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if not isinstance(x, int) or True)
        key = ".".join(str(x) for x in loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            owner = _model_at(model, loc)
            allowed = sorted(owner.model_fields) if owner else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"  - unknown key {key!r}{hint} allowed keys here: {', '.join(allowed)}")
        elif e["type"] == "missing":
            lines.append(f"  - required key {key!r} is missing")
        else:
            got = e.get("input")
            got_s = f" (got {got!r})" if got is not None and not isinstance(got, dict) else ""
            lines.append(f"  - {key}: {e['msg']}{got_s}")
    return "\n".join(lines)


#: The key naming the file a parameters file merges over (default: the project's params/base.yaml).
EXTENDS = "extends"


def base_file(path: Path, data: dict) -> Path | None:
    """The defaults file that ``path`` merges over, or ``None`` when ``path`` is that file.

    A parameters file, wherever it is, merges over **the project's** ``params/base.yaml``: the
    project being the one segreview runs in (``$SEGREVIEW_ROOT``, else the nearest folder above the
    current directory holding ``params/base.yaml``, see :func:`project_root`), where its notebooks and
    reports are. A file may name another base with ``extends: <path>`` (relative to the project root,
    or to the file itself when it starts with ``.``; that base may extend another in turn);
    ``extends: null`` says the file holds every parameter itself.

    Raises
    ------
    ParameterError
        The named base does not exist, or there is no project ``params/base.yaml`` to merge over
        (segreview run outside a project); the message names the file looked for.
    """
    root = project_root()
    default = root / "params" / "base.yaml"
    if EXTENDS in data:
        named = data[EXTENDS]
        if named is None:
            return None
        if not isinstance(named, str) or not named.strip():
            raise ParameterError(f"{path}: `extends:` must name a parameters file, not {named!r}")
        p = (path.parent / named) if named.startswith(".") else (root / named)
        if not p.is_file():
            raise ParameterError(f"{path}: `extends: {named}` names {p.resolve()}, which does not exist")
        return p.resolve()
    if path.resolve() == default.resolve():
        return None
    if not default.is_file():
        raise ParameterError(
            f"{path} has no base to merge over: it names none (`extends:`), and {default} does not exist, "
            f"because {root} is not a segreview project. Run segreview from the project folder (or set "
            "SEGREVIEW_ROOT to it), or name the base with `extends: <file>` (`extends: null` if the file "
            "holds every parameter)")
    return default.resolve()


def _merged(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """The parameters of ``path`` merged over its bases (each may extend another), and the files used,
    base first."""
    if path.resolve() in seen:
        raise ParameterError(f"{path}: `extends:` goes round in a circle "
                             f"({' -> '.join(map(str, (*seen, path.resolve())))})")
    data = _read_yaml(path)
    base = base_file(path, data)
    own = {k: v for k, v in data.items() if k != EXTENDS}
    if base is None:
        return own, [path]
    merged, files = _merged(base, (*seen, path.resolve()))
    return _deep_merge(merged, own), [*files, path]


def parameter_files(path: str | Path) -> list[Path]:
    """The parameters files :func:`load_config` merges for ``path``, base first, ``path`` last.

    Raises
    ------
    ParameterError
        As :func:`load_config` (a file or a base that does not exist, a circle of ``extends:``).
    """
    return _merged(Path(path))[1]


def load_config(path: str | Path) -> RunConfig:
    """Merge a quarter's parameters over the defaults and validate the result.

    Parameters
    ----------
    path : str or Path
        The quarter's parameters file (``params/base.yaml`` itself is a complete file). It merges over
        the project's ``params/base.yaml`` unless it names another base (see :func:`base_file`).

    Returns
    -------
    RunConfig

    Raises
    ------
    ParameterError
        Unknown or mistyped keys (naming the key, the files and the allowed keys), a quarter that
        is not a quarter, a path outside the project, unreadable YAML, a base that does not exist.
    """
    path = Path(path)
    merged, files = _merged(path)
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as e:
        src = str(path) + (f" (merged over {' over '.join(str(f) for f in reversed(files[:-1]))})"
                           if len(files) > 1 else "")
        raise ParameterError(validation_message(e, RunConfig, src)) from None


def defaults() -> RunConfig:
    """The project's defaults (``params/base.yaml``), validated: the one place defaults live.

    Tests and helpers that need a settings object without a quarter's file take it from here, e.g.
    ``defaults().clv`` or ``defaults().ingest.model_copy(update={"examples": 5})``.
    """
    return load_config(project_root() / "params" / "base.yaml")


def step_parameters(config: RunConfig, step: str, run_dir: str | Path) -> dict[str, Any]:
    """The values papermill injects into a notebook: its model's fields, JSON-compatible."""
    from helpers.frame.registry import STEP_MODELS
    model = STEP_MODELS[step]
    data = config.model_dump(mode="json")
    values = {k: data[k] for k in model.model_fields if k in data}
    values["run_dir"] = str(run_dir)
    return model.model_validate(values).model_dump(mode="json")


def from_namespace(step: str, namespace: dict[str, Any]) -> StepParams:
    """Validate a notebook's parameter variables with its step model (the same checks as the runner).

    Under the runner every field is injected. In a hand run the parameters cell may leave a value at
    ``None`` (or a section empty, ``clv = {}``) or give only some keys: what it gives is merged over
    ``params/base.yaml``, so a notebook run by hand uses the same defaults as a run.

    Parameters
    ----------
    step : str
        Notebook name, e.g. ``"10_ingest"``.
    namespace : dict
        The notebook's ``globals()``; only the model's fields are read.
    """
    from helpers.frame.registry import STEP_MODELS
    model = STEP_MODELS[step]
    given = {k: namespace[k] for k in model.model_fields if k in namespace}
    if not given.get("run_dir"):
        base = _read_yaml(project_root() / "params" / "base.yaml")
        base = {k: v for k, v in base.items() if k in model.model_fields}
        given = _deep_merge(
            base, {k: v for k, v in given.items() if v is not None and not (isinstance(v, dict) and not v)}
        )
    try:
        return model.model_validate(given)
    except ValidationError as e:
        raise ParameterError(validation_message(e, model, f"the parameters cell of {step}")) from None
