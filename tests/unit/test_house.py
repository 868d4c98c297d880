"""The house rules of the package (issue 16): layout, one registry, defaults only in params/base.yaml,
parameters that reach every use, nothing private called across packages."""

from __future__ import annotations

import ast
import importlib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from helpers.frame import registry, settings
from helpers.frame.settings import defaults

SRC = Path(__file__).resolve().parents[2] / "src" / "helpers"
STEP_PACKAGES = ("ingest", "segments", "value", "churn", "experiments", "review")

#: fields whose default is part of the schema of an entry, not a parameter default: the options of one
#: source (format, encoding... an entry is replaced as a whole), a segment rule's optional M range and
#: lapsed flag, an action group's optional offer words and paid-offers flag (a list entry is replaced as a whole),
#: and the runner-only ``run_dir``.
SCHEMA_DEFAULTS = {("SourceSpec", f) for f in settings.SourceSpec.model_fields} | {
    ("SegmentRule", "m"), ("SegmentRule", "lapsed"), ("ActionGroup", "offer"), ("ActionGroup", "paid_offers"),
    ("StepParams", "run_dir")}


def _models() -> list[type[BaseModel]]:
    out = []
    for name in dir(settings):
        obj = getattr(settings, name)
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == settings.__name__:
            out.append(obj)
    return out


def test_defaults_live_only_in_base_yaml():
    with_default = []
    for model in _models():
        for name, field in model.model_fields.items():
            owner = next(c.__name__ for c in model.__mro__ if name in getattr(c, "__annotations__", {}))
            if (owner, name) in SCHEMA_DEFAULTS:
                continue
            if field.default is not PydanticUndefined or field.default_factory is not None:
                with_default.append(f"{owner}.{name}")
    assert not with_default, f"Python defaults (put them in params/base.yaml): {sorted(set(with_default))}"
    cfg = defaults()  # base.yaml alone is a complete, valid parameters file
    assert cfg.rfm.segments and cfg.columns.orders.order_id == "order_id"


def test_every_step_declared_once_and_every_artifact_has_one_writer():
    names = [s.name for s in registry.STEPS]
    assert len(set(names)) == len(names) == len(registry.STEP_MODELS)
    for s in registry.STEPS:
        assert (SRC.parents[1] / s.notebook).is_file(), s.notebook
        importlib.import_module(s.package)
        assert s.summary in s.writes
    writers: dict[str, list[str]] = {}
    for s in registry.STEPS:
        for a in s.writes:
            writers.setdefault(a, []).append(s.name)
    assert all(len(w) == 1 for w in writers.values())
    assert registry.writer_of("customer_scores") == registry.REVIEW_STEP


def test_a_step_package_has_the_same_layout_and_lists_its_api():
    for pkg in STEP_PACKAGES:
        files = {p.stem for p in (SRC / pkg).glob("*.py")}
        assert {"__init__", "step", "figures"} <= files, pkg
        mod = importlib.import_module(f"helpers.{pkg}")
        assert mod.__all__ and all(hasattr(mod, n) for n in mod.__all__), pkg


def _imports_private(tree: ast.Module, package: str) -> list[str]:
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers."):
            other = node.module.split(".")[1]
            if other != package:
                bad += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return bad


def test_nothing_private_is_imported_across_packages():
    bad = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if len(rel.parts) < 2:
            continue
        bad += [f"{rel}: {x}" for x in _imports_private(ast.parse(path.read_text()), rel.parts[0])]
    assert not bad, bad


def test_the_clv_horizon_is_a_field_not_a_column_name():
    from helpers.review.step import customer_scores_table
    scores = pd.DataFrame({"customer_id": ["a", "b"], "clv": [10.0, 2.0], "expected_purchases": [1.0, 0.2],
                           "churn_tier": ["high", None], "retention_priority": [True, None]})
    out = customer_scores_table(scores, {"horizon_months": 6})
    assert {"clv_6m", "expected_purchases_6m"} <= set(out.columns) and "clv" not in out.columns
    assert list(out["churn_tier"]) == ["high", "not active"]
    from helpers.churn.step import value_column
    assert value_column(scores, {"horizon_months": 6}) == ("clv", "predicted 6-month value")
    assert value_column(scores.drop(columns="clv").assign(revenue=1.0), None)[0] == "revenue"


@pytest.mark.parametrize("alpha", [0.05, 0.10])
def test_ab_alpha_reaches_the_forest_plot(alpha):
    from helpers.experiments.figures import forest_chart
    data = pd.DataFrame({"label": ["All customers", "Win back (n=200)"], "diff": [0.02, 0.1],
                         "ci_low": [-0.01, 0.05], "ci_high": [0.05, 0.15], "significant": [False, True]})
    fig = forest_chart(data, "EXP", "conversion", alpha)
    assert f"{1 - alpha:.0%} CI" in fig.axes[0].get_xlabel()


def test_late_reads_let_churn_run_beside_segments_and_value_and_bad_declarations_fail():
    """30_clv and 40_churn wait only for ingestion: they read segments (and value) late, beside 20 (and 30)."""
    assert registry.needs("40_churn") == ("10_ingest",)
    assert registry.awaits("40_churn") == {"segment_scores": "20_rfm_clustering", "value_scores": "30_clv",
                                           "clv": "30_clv"}
    assert registry.awaits("40_churn", ["10_ingest", "40_churn"]) == {}      # --only: read what is there
    assert registry.needs("30_clv") == ("10_ingest",)
    assert registry.awaits("30_clv") == {"segment_scores": "20_rfm_clustering"}
    assert registry.needs("60_quarterly_review") == tuple(p for p in registry.PIPELINE if p != registry.REVIEW_STEP)
    assert registry._artifacts(registry.STEPS) == registry.ARTIFACTS

    def changed(name: str, **kw) -> tuple[registry.Step, ...]:
        return tuple(replace(s, **kw) if s.name == name else s for s in registry.STEPS)

    bad = {"not among its optional reads": changed("40_churn", reads_late=("orders",)),
           "at or after it": changed("10_ingest", reads_optional=("churn",)),
           "which no step writes": changed("30_clv", reads_optional=("nothing",))}
    for words, steps in bad.items():
        with pytest.raises(RuntimeError, match=words):
            registry._artifacts(steps)
