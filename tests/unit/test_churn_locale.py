"""Every visible string of the churn page and of the customer-attribute intake table has a Chinese
translation (message ids from the source, markdown cells whole), and a Chinese page reads Chinese."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pandas as pd
import pytest

from helpers import locale

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["src/helpers/churn/step.py", "src/helpers/churn/figures.py", "src/helpers/churn/model.py",
           "src/helpers/churn/data.py", "src/helpers/ingest/attributes.py"]


def message_ids(path: Path) -> list[str]:
    """First arguments of tr / N_ / ntr (both forms) that are literal strings."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
        if name in ("tr", "N_", "ntr") and node.args and isinstance(node.args[0], ast.Constant):
            out.append(node.args[0].value)
    return out


def markdown_cells(path: Path, first_heading: str | None = None) -> list[str]:
    cells = [c.source.strip() for c in jupytext.read(path).cells if c.cell_type == "markdown" and c.source.strip()]
    return [c for c in cells if first_heading is None or c.startswith(first_heading)]


def test_every_churn_and_attribute_message_has_a_chinese_translation():
    cat = locale.catalog("zh-CN")
    ids = [m for p in SOURCES for m in message_ids(REPO / p)]
    ids += markdown_cells(REPO / "notebooks" / "40_churn.py")
    ids += markdown_cells(REPO / "notebooks" / "10_ingest.py", "## Customer attributes")
    counted = ["{n} day", "{n} order", "{n} purchase day", "{n} category", "{n} payment", "{n} period"]
    missing = [m for m in [*ids, *counted] if m not in cat]
    assert len(ids) > 200 and not missing, missing
    # the translations keep every {field} of their message
    for m in ids:
        t = cat[m] if isinstance(cat[m], str) else cat[m][0]
        assert set(re.findall(r"{(\w+)}", m)) == set(re.findall(r"{(\w+)}", t)), m


@pytest.fixture()
def chinese():
    locale.set_language("zh-CN")
    yield
    locale.set_language("en")


def test_a_chinese_churn_page_reads_chinese(chinese):
    from helpers.churn import step
    from helpers.frame.outcome import NotAvailable
    from helpers.frame.settings import defaults
    res = step.ChurnResult(mode="snapshot", settings=defaults().churn, horizon_days=90,
                           train_snapshot=pd.Timestamp("2026-04-03"), eval_snapshot=pd.Timestamp("2026-07-02"),
                           scored_at=pd.Timestamp("2026-09-30"), n_train=11507, n_eval=12771, base_rate_train=0.62,
                           base_rate_eval=0.63, chosen="bgnbd",
                           metrics=pd.DataFrame({"model": ["logistic", "bgnbd"], "roc_auc": [0.76, 0.765],
                                                 "brier": [0.187, 0.185], "log_loss": [0.55, 0.55],
                                                 "mean_predicted": [0.60, 0.62], "observed_rate": [0.63, 0.63],
                                                 "calibration_error": [0.03, 0.02]}))
    pdp = pd.DataFrame({"feature": ["recency_days"] * 2 + ["contract"] * 2 + ["partner"] * 2,
                        "value": [4.0, 316.0, "Month-to-month", "Two year", 0.0, 1.0], "p": [0.5, 0.86, 0.4, 0.1,
                                                                                             0.3, 0.2]})
    text = " ".join([step.mode_sentence(res), step.choice_sentence(res), step.calibration_sentence(res),
                     *step.effects_in_words(pdp, "CNY", {"contract": "category", "partner": "boolean"})])
    # what may stay Latin: model names and metrics, parameter names, and the attribute values themselves
    allowed = {"BG", "NBD", "ROC", "AUC", "PR", "Brier", "P", "alive", "Month", "to", "month", "Two", "year",
               "churn", "model", "Contract", "Partner"}
    latin = [w for w in re.findall(r"[A-Za-z]+", text) if w not in allowed]
    assert not latin, latin
    na = NotAvailable("churn", missing=step.tr("there are no orders"), why=step.tr("churn is learned from what "
                      "customers bought before and after a snapshot"), remedy=step.tr("an order history"))
    assert "没有任何订单" in na.reason


def test_cohort_view_names_quarters_in_the_page_language():
    import pandas as pd

    from helpers.churn.step import Cohorts, cohort_view
    from helpers.locale import set_language
    t = pd.DataFrame({"first purchase": ["2026Q3", "2026Q2"], "customers": [10, 20], "Q+0": [1.0, 1.0],
                      "Q+1": [None, 0.5]})
    try:
        set_language("zh-CN")
        zh = cohort_view(Cohorts(t)).data
    finally:
        set_language("en")
    assert zh.iloc[:, 0].tolist() == ["2026年第三季度", "2026年第二季度"]
    assert cohort_view(Cohorts(t)).data.iloc[:, 0].tolist() == ["2026Q3", "2026Q2"]
