"""End to end: the runner executes the notebooks with papermill and publishes a quarter atomically."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

from helpers.ingest.sources import file_sha256
from helpers.run.cli import main

pytestmark = pytest.mark.pipeline


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def pii_values(customers_parquet: Path) -> list[str]:
    c = pd.read_parquet(customers_parquet)
    return [*c["name"].head(400), *c["email"], *c["phone"]]


def all_text_of(folder: Path) -> dict[Path, str]:
    """Every file's text; Parquet files as the text of all their cells."""
    out = {}
    for p in folder.rglob("*"):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            out[p] = pd.read_parquet(p).astype(str).to_csv()
        else:
            out[p] = p.read_text(encoding="utf-8", errors="replace")
    return out


@pytest.fixture()
def ci_run(ci_rendered, monkeypatch):
    """The shared rendered CI quarter (read-only tests), with the project as working directory."""
    monkeypatch.setenv("SEGREVIEW_ROOT", str(ci_rendered))
    monkeypatch.chdir(ci_rendered)
    return ci_rendered / "reports" / "2026Q3"


def test_ci_run_renders_pages_and_artifacts(ci_run, ci_rendered):
    project = ci_rendered
    for page in ("index.html", "10_ingest.html", "20_rfm_clustering.html", "30_clv.html", "40_churn.html",
                 "50_ab_evaluation.html", "60_quarterly_review.html"):
        assert (ci_run / page).stat().st_size > 10_000
    for art in (
        "orders.parquet",
        "customers.parquet",
        "experiments.parquet",
        "quality.parquet",
        "ingest.json",
        "review.json",
        "customer_scores.parquet",
        "segments_export.csv",
        "rfm.json",
        "clv.json",
        "churn.json",
        "ab.json",
        "segment_scores.parquet",
        "value_scores.parquet",
        "churn_scores.parquet",
    ):
        assert (ci_run / "artifacts" / art).exists(), art
    ingest = json.loads((ci_run / "artifacts" / "ingest.json").read_text())
    orders = pd.read_parquet(ci_run / "artifacts" / "orders.parquet")
    assert ingest["orders"] == len(orders) > 1000
    assert orders["order_ts"].max() <= pd.Timestamp("2026-09-30 23:59:59")
    assert {"name", "email", "phone"}.isdisjoint(pd.read_parquet(ci_run / "artifacts" / "customers.parquet").columns)
    run = json.loads((ci_run / "run.json").read_text())
    assert run["quarter"] == "2026Q3" and run["as_of"] == "2026-09-30"
    assert run["parameters"]["company"] == "CI Sample Co."
    assert run["inputs"]["orders"]["sha256"] == file_sha256(project / "data" / "ci" / "orders.parquet")
    assert run["inputs"]["orders"]["rows_read"] > run["inputs"]["orders"]["rows_clean"]
    assert set(run["seconds"]) >= {"10_ingest", "20_rfm_clustering", "30_clv", "40_churn", "50_ab_evaluation",
                                   "60_quarterly_review", "render_html", "total"}
    assert run["versions"]["pandas"].startswith("3.")
    assert (ci_run / "executed" / "10_ingest.ipynb").exists()
    assert not list((project / "notebooks").glob("*.ipynb")), "papermill output never goes into notebooks/"
    assert not [p for p in (project / "reports").iterdir() if p.name.startswith(".run-")]
    index = (project / "reports" / "index.html").read_text()
    assert "2026Q3/index.html" in index


def test_pre_started_kernels_leave_no_trace_in_the_notebooks(ci_run):
    """The runner's kernels import each notebook's modules before it runs; the executed notebooks
    must look as if run from a fresh kernel: execution counts 1, 2, 3, ... and no warm-up name."""
    import nbformat
    for s in ("10_ingest", "20_rfm_clustering", "30_clv", "40_churn", "50_ab_evaluation", "60_quarterly_review"):
        nb = nbformat.read(ci_run / "executed" / f"{s}.ipynb", as_version=4)
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), s
        assert "__segreview_warm" not in json.dumps(nb), s


def test_imported_modules_of_a_notebook():
    import nbformat

    from helpers.run.runner import imported_modules
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom helpers import rfm as rf, plots\nfrom .x import y"),
        nbformat.v4.new_code_cell("%matplotlib inline"),
        nbformat.v4.new_markdown_cell("import not_code"),
        nbformat.v4.new_code_cell("def f():\n    import scipy.stats\nimport numpy")])
    assert imported_modules(nb) == ["numpy", "helpers", "helpers.rfm", "helpers.plots", "scipy.stats"]


def test_html_has_no_code_prompts_or_parameters(ci_run):
    for page in ci_run.glob("*.html"):
        html = page.read_text()
        soup = BeautifulSoup(html, "html.parser")
        assert not soup.select(".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt, "
                               ".jp-CodeMirrorEditor, div.highlight"), page.name
        text = soup.get_text(" ")
        assert "injected-parameters" not in html
        assert not re.search(r"\bquarter\s*=\s*\"", text), f"parameter assignment visible in {page.name}"
        assert "import " not in text and "Traceback" not in text and "Warning" not in text
        assert "<script src=" not in html, "no external scripts: the page must work offline"
        for img in soup.find_all("img"):
            assert img["src"].startswith("data:image/png;base64,"), "images are embedded"
    ingest = BeautifulSoup((ci_run / "10_ingest.html").read_text(), "html.parser")
    assert len(ingest.find_all("img")) >= 1
    text = ingest.get_text(" ")
    assert "Data quality" in text and "duplicate order id" in text


def test_no_pii_in_any_page_export_or_artifact(ci_run, ci_rendered):
    project = ci_rendered
    pii = pii_values(project / "data" / "ci" / "customers.parquet")
    texts = all_text_of(ci_run)
    assert texts
    for path, text in texts.items():
        hits = [v for v in pii if v in text]
        assert not hits, f"{path.name} contains personal data such as {hits[:2]}"


def test_segments_artifacts_are_consistent(ci_run):
    orders = pd.read_parquet(ci_run / "artifacts" / "orders.parquet")
    scores = pd.read_parquet(ci_run / "artifacts" / "customer_scores.parquet")
    export = pd.read_csv(ci_run / "artifacts" / "segments_export.csv", dtype={"customer_id": str})
    rfm = json.loads((ci_run / "artifacts" / "rfm.json").read_text())
    assert scores["customer_id"].is_unique and len(scores) == orders["customer_id"].nunique()
    assert scores["r_score"].between(1, 5).all() and scores["rfm_segment"].notna().all()
    assert scores["revenue"].sum() == pytest.approx(orders["amount"].sum())
    assert list(export.columns) == ["customer_id", "segment", "action_group", "recommended_action", "cluster",
                                    "p_alive", "clv_12m", "clv_low", "clv_high", "churn_probability", "churn_tier",
                                    "retention_priority"]
    assert export["recommended_action"].notna().all()
    assert export["customer_id"].tolist() == scores["customer_id"].tolist()
    assert sum(v["customers"] for v in rfm["segments"].values()) == len(scores)
    assert rfm["clustering"]["k"] == scores["cluster"].nunique()
    assert rfm["migration"]["customers"] == len(scores) and len(rfm["top_flows"]) > 0
    page = BeautifulSoup((ci_run / "20_rfm_clustering.html").read_text(), "html.parser")
    assert len(page.find_all("img")) >= 5  # shares, R x F heatmap, silhouette, snake, migration
    review = BeautifulSoup((ci_run / "index.html").read_text(), "html.parser").get_text(" ")
    assert "Biggest moves since last quarter" in review and rfm["top_flows"][0] in review


def test_clv_artifacts_are_consistent(ci_run):
    scores = pd.read_parquet(ci_run / "artifacts" / "customer_scores.parquet")
    c = json.loads((ci_run / "artifacts" / "clv.json").read_text())
    assert {"p_alive", "expected_purchases_12m", "expected_spend", "clv_12m", "clv_low", "clv_high"} <= set(
        scores.columns
    )
    assert scores["rfm_segment"].notna().all()  # step 20's columns kept
    assert (scores["clv_low"] <= scores["clv_12m"] + 1e-6).all() and (
        scores["clv_12m"] <= scores["clv_high"] + 1e-6
    ).all()
    assert c["totals"]["clv_total"] == pytest.approx(scores["clv_12m"].sum(), rel=1e-9)
    assert c["totals"]["clv_total_low"] < c["totals"]["clv_total"] < c["totals"]["clv_total_high"]
    assert sum(r["clv_total"] for r in c["by_rfm_segment"]) == pytest.approx(c["totals"]["clv_total"], rel=1e-9)
    m = {r["model"]: r for r in c["backtest"]["metrics"]}
    assert {"BG/NBD", "Pareto/NBD", "naive (calibration rate)"} <= set(m)
    assert abs(m["BG/NBD"]["total_error_pct"]) < 0.25     # the demo follows the model's assumptions
    assert m["BG/NBD"]["mae"] < m["naive (calibration rate)"]["mae"]
    page = BeautifulSoup((ci_run / "30_clv.html").read_text(), "html.parser")
    assert len(page.find_all("img")) >= 5
    review = BeautifulSoup((ci_run / "index.html").read_text(), "html.parser").get_text(" ")
    assert "predicted to be worth" in review


def test_churn_artifacts_page_and_review(ci_run):
    orders = pd.read_parquet(ci_run / "artifacts" / "orders.parquet")
    scores = pd.read_parquet(ci_run / "artifacts" / "customer_scores.parquet")
    c = json.loads((ci_run / "artifacts" / "churn.json").read_text())
    assert c["available"] and c["mode"] == "snapshot" and c["horizon_days"] == 90
    assert (c["train_snapshot"][:10], c["eval_snapshot"][:10]) == ("2026-04-03", "2026-07-02")
    for model in ("gradient_boosting", "logistic", "blend", "bgnbd"):
        assert c["metrics"][model]["roc_auc"] > 0.65, model
    chosen = c["metrics"][c["chosen_model"]]
    assert abs(chosen["mean_predicted"] - chosen["observed_rate"]) < 0.1       # calibrated
    assert chosen[c["criterion"]] == min(m[c["criterion"]] for m in c["metrics"].values())   # never beaten
    # the scored population = customers with an order in the 365 days to the as-of date
    last = orders.groupby("customer_id")["order_ts"].max()
    active = set(last[last >= pd.Timestamp("2025-10-01")].index)
    scored = scores[scores["churn_tier"] != "not scored"]
    assert set(scored["customer_id"]) == active and c["scored_customers"] == len(active)
    assert scored["churn_probability"].between(0, 1).all() and scores.loc[
        scores["churn_tier"] == "not scored", "churn_probability"].isna().all()
    assert sum(c["tier_counts"].values()) == len(active)
    hi = scored["churn_tier"] == "high"
    assert (scored.loc[hi, "churn_probability"] >= c["thresholds"]["high"]).all()
    assert int(hi.sum()) == c["tier_counts"]["high"]
    assert (scores["retention_priority"] <= (scores["churn_tier"] == "high")).all()
    assert c["value_at_risk"] == pytest.approx(scored.loc[hi, "clv_12m"].sum(), rel=1e-6)
    assert c["logrank"]["p"] < 0.05 and c["drivers"]
    page = BeautifulSoup((ci_run / "40_churn.html").read_text(), "html.parser")
    text = page.get_text(" ")
    assert (
        len(page.find_all("img")) == 5 and "Snapshot mode" in text and "log-rank" in text
    )  # calibration, capture, drivers, partial dependence, retention
    review = BeautifulSoup((ci_run / "index.html").read_text(), "html.parser").get_text(" ")
    assert "Churn risk: who may stop buying" in review
    # tiers are shares: the headline leads with the expected churners, then the riskiest tier
    assert f"Of {c['scored_customers']:,} active customers, about {round(c['expected_churners']):,} " in review
    assert f"the riskiest {c['tier_counts']['high']:,} (" in review


def test_ab_artifacts_and_decisions(ci_run, ci_rendered):
    """On the CI sample (1,500 customers) both planted effects are real but the samples are small: neither lift
    is significant after Holm, so the right decision is "Inconclusive" for both, saying the smallest effect the
    design could detect, with no segment named; the true effects lie in the intervals."""
    ab = json.loads((ci_run / "artifacts" / "ab.json").read_text())
    truth = json.loads((ci_rendered / "data" / "ci" / "truth.json").read_text())["experiments"]
    assert ab["available"] and ab["unavailable"] == [] and len(ab["experiments"]) == 2
    for v in ab["experiments"].values():
        t = truth[v["experiment_id"]]["sample_ate"]
        assert v["decision"] == "Inconclusive" and v["ship_to"] == [] and v["net_value"] is None, v["experiment_id"]
        assert v["primary_p_holm"] > ab["alpha"] and not v["srm"]["failed"] and not v["balance"]["failed"]
        e = v["effects"][0]
        assert e["metric"] == "conversion" and e["ci_low"] <= t["conversion"] <= e["ci_high"]
        # the design's smallest detectable effect (from the arm sizes and the control's rate) is said
        mde = round(100 * v["power"]["mde"], 1)
        assert f"this design could detect {mde} points or more" in v["detail"] and "Holm-adjusted p = " in v["detail"]
    page = BeautifulSoup((ci_run / "50_ab_evaluation.html").read_text(), "html.parser")
    assert len(page.find_all("img")) == 2                  # one forest plot per experiment
    for tag in page(["style", "script"]):
        tag.decompose()
    text = page.get_text(" ")
    assert text.count("Inconclusive") >= 4 and "{'" not in text and "':" not in text   # no raw dictionaries
    review = BeautifulSoup((ci_run / "index.html").read_text(), "html.parser").get_text(" ")
    assert "Experiments: what to ship, and to whom" in review and "EXP-01-free-shipping" in review
    assert "2 experiments evaluated: 0 to ship to everyone, 0 to ship to some segments only, 2 inconclusive" in review


def test_review_numbers_match_the_clean_orders(ci_run):
    orders = pd.read_parquet(ci_run / "artifacts" / "orders.parquet")
    review = json.loads((ci_run / "artifacts" / "review.json").read_text())
    q = orders[(orders["order_ts"] >= "2026-07-01") & (orders["order_ts"] < "2026-10-01")]
    assert review["kpis"]["revenue"]["this_quarter"] == pytest.approx(q["amount"].sum(), abs=0.01)
    assert review["kpis"]["active_customers"]["this_quarter"] == q["customer_id"].nunique()
    assert review["kpis"]["orders"]["this_quarter"] == len(q)
    html = BeautifulSoup((ci_run / "index.html").read_text(), "html.parser").get_text(" ")
    assert f"{q['amount'].sum():,.0f}" in html


def test_rerun_without_force_is_refused_and_changes_nothing(ci_run, capsys):
    before = tree_digest(ci_run)
    assert main(["run", "--params", "params/ci.yaml"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert tree_digest(ci_run) == before


def test_misspelled_parameter_refused_before_anything_runs(project, capsys):
    p = project / "params" / "typo.yaml"
    p.write_text(yaml.safe_dump({"quarter": "2026Q3", "sources": {"orders": {"path": "data/ci/orders.parquet"}},
                                 "currrency": "EUR"}))
    assert main(["run", "--params", str(p)]) == 2
    err = capsys.readouterr().err
    assert "currrency" in err and "'currency'" in err and "typo.yaml" in err
    assert not (project / "reports").exists() or not any((project / "reports").iterdir())


def test_failed_run_keeps_previous_report_and_the_failed_notebook(ci_run, ci_rendered, capsys):
    project = ci_rendered
    before = tree_digest(ci_run)
    (project / "data" / "ci" / "bad.csv").write_text("customer_id,order_ts,amount\nA,2026-07-01,abc\nB,soon,12\n")
    p = project / "params" / "bad.yaml"
    p.write_text(yaml.safe_dump({"quarter": "2026Q3", "sources": {"orders": {"path": "data/ci/bad.csv"},
                                                                  "customers": None, "experiments": None}}))
    assert main(["run", "--params", str(p), "--force"]) == 1
    err = capsys.readouterr().err
    assert "10_ingest failed in cell" in err and "InputDataError" in err and "bad.csv" in err
    assert "kept at" in err
    kept = list((project / "reports" / ".failed").rglob("10_ingest.ipynb"))
    assert kept
    assert tree_digest(ci_run) == before
    assert not [x for x in (project / "reports").iterdir() if x.name.startswith((".run-", ".old-"))]


def test_a_failing_step_stops_the_step_running_beside_it(project, capsys, no_kept_kernels):
    """30_clv runs beside 20_rfm_clustering (it reads the segments late) and would wait for them for
    ever, then sleep ten minutes; when 20 fails, the runner stops 30 at once (its kernel is shut down,
    not waited for), keeps the failed notebook, starts nothing else, publishes nothing and leaves no
    kernel behind."""
    import time

    import psutil
    with open(project / "notebooks" / "20_rfm_clustering.py", "a") as f:
        f.write("\n# %%\nraise RuntimeError(\"boom in the segments step\")\n")
    with open(project / "notebooks" / "30_clv.py", "a") as f:
        f.write("\n# %%\nimport time\n\ntime.sleep(600)\n")
    before = {p.pid for p in psutil.Process().children(recursive=True)}  # e.g. a JVM of an earlier Spark test
    t0 = time.perf_counter()
    assert main(["run", "--params", "params/ci.yaml"]) == 1
    assert time.perf_counter() - t0 < 120  # not the ten minutes 30_clv would sleep, nor its wait for ever
    captured = capsys.readouterr()
    assert "20_rfm_clustering failed in cell" in captured.err and "boom in the segments step" in captured.err
    assert re.search(r"^\[3/6\] 30_clv \.\.\.$", captured.out, re.M)
    assert "30_clv done" not in captured.out and "40_churn ..." not in captured.out
    assert list((project / "reports" / ".failed").rglob("20_rfm_clustering.ipynb"))
    assert not (project / "reports" / "2026Q3").exists()
    assert not [x for x in (project / "reports").iterdir() if x.name.startswith((".run-", ".old-"))]

    def left() -> list:
        return [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and left():
        time.sleep(0.5)
    assert not left()


def test_steps_run_side_by_side_only_after_what_they_need(ci_run):
    """run.json's timeline: every step starts after the steps it reads have ended (those it reads late:
    after they started, and it ends after them), never more than two at once; 30_clv runs beside
    20_rfm_clustering and 40_churn beside 30_clv (they read segments and value late)."""
    from helpers.frame.registry import PIPELINE, awaits, needs
    tl = json.loads((ci_run / "run.json").read_text())["timeline"]
    assert tl["jobs"] == 2
    steps = tl["steps"]
    assert set(steps) == set(PIPELINE)
    assert needs("40_churn") == needs("30_clv") == needs("50_ab_evaluation") == ("10_ingest",)
    assert set(awaits("40_churn").values()) == {"20_rfm_clustering", "30_clv"}
    assert set(awaits("30_clv").values()) == {"20_rfm_clustering"}
    for s, t in steps.items():
        assert t["start"] < t["end"]
        for d in needs(s):
            assert steps[d]["end"] <= t["start"], (s, d)
        for d in awaits(s).values():
            assert steps[d]["start"] <= t["start"] and steps[d]["end"] <= t["end"], (s, d)
    rfm, clv, churn = steps["20_rfm_clustering"], steps["30_clv"], steps["40_churn"]
    assert clv["start"] < rfm["end"] and churn["start"] < clv["end"]
    moments = sorted({t["start"] for t in steps.values()})
    assert max(sum(t["start"] <= m < t["end"] for t in steps.values()) for m in moments) <= 2


def _content(folder: Path) -> dict:
    """Artifacts by content: Parquet as data, JSON parsed, other files as text."""
    out = {}
    for p in sorted((folder / "artifacts").iterdir()):
        if p.suffix == ".parquet":
            out[p.name] = pd.read_parquet(p)
        elif p.suffix == ".json":
            out[p.name] = json.loads(p.read_text())
        else:
            out[p.name] = p.read_text()
    return out


def test_second_run_progress_determinism_index_and_partial_update(ci_rendered, project, capsys):
    """A second, independent run of the CI quarter (its own project folder) shows its progress and
    gives artifacts and pages identical to the shared run; an earlier quarter joins the reports
    index; ``--only`` then updates one step of the quarter in place and keeps the rest."""
    assert main(["run", "--params", "params/ci.yaml"]) == 0
    out = capsys.readouterr().out
    # progress: every code cell of every notebook as it starts, stages of the long helpers, no progress file left
    assert re.search(r"^\[1/6\] 10_ingest cell 1/\d+ at \d+\.\d s: ", out, re.M)
    assert re.search(r"^\[4/6\] 40_churn  · churn: fitting gradient boosting and logistic regression on [\d,]+ "
                     r"customers \(\d+\.\d s\)$", out, re.M)
    assert re.search(r"^\[3/6\] 30_clv  · clv: scoring [\d,]+ customers with \d+ parameter draws", out, re.M)
    n_cells = int(re.search(r"^\[6/6\] 60_quarterly_review cell 1/(\d+)", out, re.M).group(1))
    assert len(re.findall(r"^\[6/6\] 60_quarterly_review cell \d+/", out, re.M)) == n_cells
    assert not list((project / "reports").rglob("progress.log"))

    # reproducible: same inputs and parameters, same artifacts and pages (every random step is seeded)
    ci_run = ci_rendered / "reports" / "2026Q3"
    q3 = project / "reports" / "2026Q3"
    a, b = _content(ci_run), _content(q3)
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            pd.testing.assert_frame_equal(a[k], b[k], check_exact=True)
        else:
            assert a[k] == b[k], k
    for page in ci_run.glob("*.html"):
        assert page.read_text() == (q3 / page.name).read_text(), f"{page.name} differs between runs"

    # an earlier quarter (the steps the review's comparison needs) is listed after the later one
    q2 = project / "params" / "ci_q2.yaml"
    q2.write_text((project / "params" / "ci.yaml").read_text().replace("quarter: 2026Q3", "quarter: 2026Q2")
                  + "steps: [10_ingest, 20_rfm_clustering, 30_clv, 60_quarterly_review]\n")
    assert main(["run", "--params", str(q2)]) == 0
    html = (project / "reports" / "index.html").read_text()
    assert html.index("2026Q3/index.html") < html.index("2026Q2/index.html")

    # --only: the review is re-rendered in place, now comparing with 2026Q2; other artifacts untouched
    orders_before = (q3 / "artifacts" / "orders.parquet").read_bytes()
    assert main(["run", "--params", "params/ci.yaml", "--only", "60_quarterly_review"]) == 0
    assert (q3 / "artifacts" / "orders.parquet").read_bytes() == orders_before
    run = json.loads((q3 / "run.json").read_text())
    assert run["steps_run"] == ["60_quarterly_review"]
    assert "10_ingest" in run["seconds"]  # timings of the untouched step are kept
    assert (q3 / "10_ingest.html").exists() and (q3 / "index.html").exists()
    text = BeautifulSoup((q3 / "index.html").read_text(), "html.parser").get_text(" ")
    q2_clv = json.loads((project / "reports" / "2026Q2" / "artifacts" / "clv.json").read_text())["totals"]["clv_total"]
    assert f"{q2_clv:,.0f}" in text


def test_cdnow_real_data_renders(project, capsys):
    """The real CDNOW log renders (run one notebook at a time: ``--jobs 1`` keeps pipeline order)."""
    assert main(["run", "--params", "params/cdnow.yaml", "--jobs", "0"]) == 1
    assert "jobs must be at least 1" in capsys.readouterr().err
    assert main(["run", "--params", "params/cdnow.yaml", "--jobs", "1"]) == 0
    out = project / "reports" / "1998Q2"
    tl = json.loads((out / "run.json").read_text())["timeline"]
    assert tl["jobs"] == 1
    spans = sorted((t["start"], t["end"], s) for s, t in tl["steps"].items())
    assert [s for *_, s in spans] == sorted(tl["steps"])  # pipeline order
    assert all(a[1] <= b[0] for a, b in zip(spans[:-1], spans[1:], strict=True))  # never two at once
    ingest = json.loads((out / "artifacts" / "ingest.json").read_text())
    assert ingest["sources"]["orders"]["rows_read"] == 69_659
    assert ingest["orders"] == 69_659 - 80  # 80 zero-value lines dropped
    assert ingest["customers_with_orders"] == 23_502
    assert ingest["sources"].get("customers") is None
    assert not (out / "artifacts" / "customers.parquet").exists()
    text = BeautifulSoup((out / "index.html").read_text(), "html.parser").get_text(" ")
    assert "USD" in text and "not available" in text
    assert json.loads((out / "artifacts" / "ab.json").read_text())["available"] is False
    assert "no experiments" in BeautifulSoup((out / "50_ab_evaluation.html").read_text(), "html.parser").get_text(" ")
    rfm = json.loads((out / "artifacts" / "rfm.json").read_text())
    assert rfm["customers"] == 23_502
    assert "share the lowest frequency (1)" in rfm["frequency_method"]  # most CDNOW customers bought once
    c = json.loads((out / "artifacts" / "clv.json").read_text())
    assert c["final"]["purchases"]["n"] == 23_502 and c["totals"]["clv_total"] > 0
    ch = json.loads((out / "artifacts" / "churn.json").read_text())
    assert ch["available"] and ch["mode"] == "snapshot" and ch["metrics"][ch["chosen_model"]]["roc_auc"] > 0.7
    assert "Snapshot mode" in BeautifulSoup((out / "40_churn.html").read_text(), "html.parser").get_text(" ")
    index = (project / "reports" / "index.html").read_text()
    assert "1998Q2/index.html" in index


# ---- the pages in a real browser -----------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


def test_pages_in_headless_chromium(ci_run, tmp_path):
    import os
    import shutil
    from pathlib import Path
    from urllib.parse import urlparse
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium package)")
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright
    pages = ["index.html", "60_quarterly_review.html", "20_rfm_clustering.html"]
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        errors, failed, external = [], [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("request", lambda r: external.append(r.url) if urlparse(r.url).scheme not in ("file", "data") else None)
        for name in pages:
            page.goto((ci_run / name).as_uri())
            page.wait_for_load_state("load")
            sizes = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            assert sizes, f"{name} has no figure"
            assert all(c and w > 0 and h > 0 for c, w, h in sizes), f"{name}: an image did not load"
            hrefs = page.eval_on_selector_all(".sr-nav a", "links => links.map(a => a.getAttribute('href'))")
            assert len(hrefs) >= 5
            for h in hrefs:
                assert (ci_run / h).exists(), f"{name}: navigation link {h} does not resolve"
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        browser.close()
    assert errors == [], errors
    assert failed == [], failed
    assert external == [], f"requests outside the file: {external}"
    assert all((shots / f"{n}.png").stat().st_size > 20_000 for n in pages)
    keep = os.environ.get("SEGREVIEW_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)


# ---- hand runs and backfills -----------------------------------------------------------------------

def assert_close(a, b, path: str = "") -> None:
    """Equal JSON values, floats to 1e-9 relative."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9), path
    else:
        assert a == b, path


def test_hand_runs_never_touch_the_published_quarter(ci_run, ci_rendered, monkeypatch, tmp_path):
    """Notebooks executed by hand, as JupyterLab does (the jupytext notebook with its parameters cell as
    written, no run_dir, working directory notebooks/ or the project root, no SEGREVIEW_ROOT), write into
    reports/.scratch/2026Q3/ and read the published quarter for the rest; every published file stays
    byte-identical."""
    import jupytext
    import nbformat
    import papermill as pm
    from nbclient import NotebookClient
    reports = ci_rendered / "reports"

    def published() -> dict[str, str]:
        return {k: v for k, v in tree_digest(reports).items() if not k.startswith(".scratch/")}

    before = published()
    monkeypatch.delenv("SEGREVIEW_ROOT")      # JupyterLab: the project is found from the working directory
    nb = jupytext.read(ci_rendered / "notebooks" / "20_rfm_clustering.py")
    assert 'run_dir = ""' in nb.cells[[c.metadata.get("tags") for c in nb.cells].index(["parameters"])].source
    in_notebooks = {"metadata": {"path": str(ci_rendered / "notebooks")}}
    NotebookClient(nb, kernel_name="python3", resources=in_notebooks).execute()
    src = tmp_path / "60_quarterly_review.ipynb"
    nbformat.write(jupytext.read(ci_rendered / "notebooks" / "60_quarterly_review.py"), src)
    pm.execute_notebook(str(src), str(tmp_path / "out.ipynb"), cwd=str(ci_rendered), kernel_name="python3",
                        progress_bar=False)

    assert published() == before
    scratch = reports / ".scratch" / "2026Q3" / "artifacts"
    assert sorted(p.name for p in scratch.iterdir()) == sorted(
        ["segment_scores.parquet", "rfm.json", "customer_scores.parquet", "segments_export.csv", "review.json"])
    # the hand runs read the published clean orders and the other steps' tables: the same results, to
    # rounding (the runner bounds each kernel's OpenMP threads; k-means sums its inertia over threads)
    for name in ("segment_scores.parquet", "customer_scores.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(scratch / name), pd.read_parquet(ci_run / "artifacts" / name),
                                      rtol=1e-9, obj=name)
    rfm = [json.loads((d / "rfm.json").read_text()) for d in (scratch, ci_run / "artifacts")]
    assert_close(*rfm)
    assert not list((ci_rendered / "notebooks").glob("*.ipynb"))


def test_backfill_renders_each_quarter_as_a_single_run_would(ci_run, project, capsys, monkeypatch):
    """`segreview backfill` renders 2026Q2, then 2026Q3 with the kernels 2026Q2's notebooks ran in (reset
    between quarters, one notebook at a time: every 2026Q3 notebook reuses a kernel); 2026Q3 is the
    quarter a single run gives (artifacts and pages), except that its review now compares with the
    2026Q2 just published. A second backfill skips both; reports/index.html lists them."""
    import nbformat

    from helpers.run.execute import SHELF, THREAD_VARIABLES
    for v in THREAD_VARIABLES:   # the shared run had two notebooks side by side: one thread per kernel
        monkeypatch.setenv(v, "1")
    assert main(["backfill", "--params", "params/ci.yaml", "--from", "2026Q2", "--to", "2026Q3", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert re.match(r"^2026Q2  rendered +\d+\.\d s  reports/2026Q2/index\.html", lines[-2])
    assert re.match(r"^2026Q3  rendered +\d+\.\d s  reports/2026Q3/index\.html", lines[-1])
    # the test session keeps kernels between runs (conftest): 2026Q2's may come from earlier tests' runs
    kept = re.search(r"12 notebooks on 6 kernels \(6 kernel\(s\) reused for a later quarter(, [1-6] kept from an "
                     r"earlier run)?\)", out)
    assert kept and (kept.group(1) is None or SHELF.enabled)
    assert re.search(r"^2026Q3 \[4/6\] 40_churn  · churn: fitting", out, re.M)   # progress, prefixed by quarter

    q3 = project / "reports" / "2026Q3"
    a, b = _content(ci_run), _content(q3)
    assert a.keys() == b.keys()
    # the trend reads the value and churn figures of quarters rendered earlier (the backfill's 2026Q2 now exists;
    # whether the single run had one depends on what ran before it): compared apart from the rest
    q2 = json.loads((project / "reports" / "2026Q2" / "artifacts" / "clv.json").read_text())
    trend_b = {t["quarter"]: t for t in b["review.json"]["trend"]["by_quarter"]}
    assert trend_b["2026Q2"]["clv_total"] == q2["totals"]["clv_total"]
    for t in (*a["review.json"]["trend"]["by_quarter"], *b["review.json"]["trend"]["by_quarter"]):
        t.pop("clv_total"), t.pop("high_churn_risk")
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            pd.testing.assert_frame_equal(a[k], b[k], check_exact=True, obj=k)
        else:
            assert a[k] == b[k], k
    for page in ci_run.glob("*.html"):
        if page.name not in ("index.html", "60_quarterly_review.html"):
            assert page.read_text() == (q3 / page.name).read_text(), f"{page.name} differs from a single run"
    for s in ("10_ingest", "30_clv", "60_quarterly_review"):     # reused kernels look like fresh ones
        nb = nbformat.read(q3 / "executed" / f"{s}.ipynb", as_version=4)
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), s
    q2_clv = json.loads((project / "reports" / "2026Q2" / "artifacts" / "clv.json").read_text())["totals"]["clv_total"]
    assert f"{q2_clv:,.0f}" in BeautifulSoup((q3 / "index.html").read_text(), "html.parser").get_text(" ")
    run = json.loads((q3 / "run.json").read_text())
    assert run["quarter"] == "2026Q3" and run["parameters_files"] == ["params/base.yaml", "params/ci.yaml"]
    html = (project / "reports" / "index.html").read_text()
    assert html.index("2026Q3/index.html") < html.index("2026Q2/index.html")
    assert not [x for x in (project / "reports").iterdir() if x.name.startswith((".run-", ".old-"))]

    before = tree_digest(project / "reports")
    assert main(["backfill", "--params", "params/ci.yaml", "--from", "2026Q2", "--to", "2026Q3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("2026Q2  skipped") and "already rendered (reports/2026Q2/); --force" in lines[-2]
    assert lines[-1].startswith("2026Q3  skipped")
    assert tree_digest(project / "reports") == before
