"""The page rendering (helpers.run.render.render_page) on a small executed notebook: no code, no prompts,
the page's language, the navigation; the review's and experiments' figures labelled with units."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

from helpers.locale import set_language


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("en")


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Key numbers against the previous quarter"),
        nbformat.v4.new_code_cell("quarter = '2026Q3'  # SECRET_PARAMETER", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import sys\nprint('visible output 12,345')\nprint('a warning', file=sys.stderr)"),
        nbformat.v4.new_code_cell("HIDDEN_SETUP = 1", metadata={"tags": ["remove"]}),
        nbformat.v4.new_code_cell("from IPython.display import HTML\nHTML('<table><tr><td>cell 7</td></tr></table>')"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _render(nb, tmp_path, language, step="60_quarterly_review"):
    from helpers.run.render import render_page
    out = render_page(nb, tmp_path / f"{language}.html", step, ["10_ingest", "50_ab_evaluation", "60_quarterly_review"],
                      "Demo Retail Co. · 2026Q3", "As of 2026-09-30", "segreview · test", language=language)
    return out.read_text(encoding="utf-8")


def test_rendered_page_shows_outputs_without_code_or_prompts(executed, tmp_path):
    html = _render(executed, tmp_path, "en")
    soup = BeautifulSoup(html, "html.parser")
    text = soup.get_text(" ")
    assert "visible output 12,345" in text and "cell 7" in text
    assert "Key numbers against the previous quarter" in text
    for code in ("print(", "import sys", "HIDDEN_SETUP", "SECRET_PARAMETER", "from IPython"):
        assert code not in html, code
    assert "a warning" not in text                                   # stderr is dropped
    assert "In [" not in text and "Out[" not in text and not soup.select(".jp-InputPrompt, .prompt")
    assert soup.html["lang"] == "en"
    assert "Demo Retail Co. · 2026Q3" in text and "segreview · test" in text


def test_navigation_lists_the_quarters_pages_and_marks_this_one(executed, tmp_path):
    soup = BeautifulSoup(_render(executed, tmp_path, "en", step="50_ab_evaluation"), "html.parser")
    links = {a.get_text(strip=True): a["href"] for a in soup.select("nav a")}
    assert links == {"Quarterly review": "index.html", "Data intake": "10_ingest.html",
                     "Experiments": "50_ab_evaluation.html"}
    current = [a.get_text(strip=True) for a in soup.select("nav a") if "current" in " ".join(a.get("class", []))
               or a.get("aria-current")]
    assert current == ["Experiments"]


def test_chinese_page_has_its_language_attribute_and_navigation(executed, tmp_path):
    soup = BeautifulSoup(_render(executed, tmp_path, "zh-CN"), "html.parser")
    assert soup.html["lang"] == "zh-CN"
    labels = [a.get_text(strip=True) for a in soup.select("nav a")]
    from helpers.locale import tr
    set_language("zh-CN")                    # the labels go through the zh-CN catalogs
    assert labels == [tr("Quarterly review"), tr("Data intake"), tr("Experiments")]


# --- figures: titles and axis labels with units -----------------------------------------------------

def _labels(fig):
    out = []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    return " | ".join(x for x in out if x)


def test_forest_plot_labels_say_the_unit_and_the_interval_level():
    import matplotlib.pyplot as plt

    from helpers.experiments.figures import forest_chart
    d = pd.DataFrame({"label": ["All customers", "Win back (n = 2,305)"], "diff": [0.048, 0.131],
                      "ci_low": [0.037, 0.109], "ci_high": [0.059, 0.153], "significant": [True, True]})
    fig = forest_chart(d, "EXP-02", "conversion", 0.05)
    assert fig.axes[0].get_xlabel() == "Effect on conversion (percentage points), 95% CI"
    assert "EXP-02" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Win back (n = 2,305)", "All customers"]
    plt.close(fig)
    fig = forest_chart(d, "EXP-02", "revenue_per_customer", 0.1, "CNY")
    assert fig.axes[0].get_xlabel() == "Effect on revenue per customer (CNY), 90% CI"
    plt.close(fig)


def test_review_figures_name_their_units(tmp_path):
    import matplotlib.pyplot as plt

    from helpers.demo.generator import DemoSpec, generate_demo
    from helpers.frame.settings import OrdersColumns, defaults
    from helpers.ingest.rules import clean_orders
    from helpers.review.data import quarter_panel
    from helpers.review.figures import lifecycle_flow_figure, trend_figure
    from helpers.review.history import build_history
    d = defaults()
    demo = generate_demo(DemoSpec(n_customers=800))
    orders, _ = clean_orders(demo.orders, OrdersColumns.minimal(), d.ingest, pd.Timestamp("2026-09-30"), "o")
    h = build_history(quarter_panel(orders, "2026Q3", 8), "2026Q3", 8, d.rfm, d.review.lifecycle)
    fig = trend_figure(h, "CNY")
    text = _labels(fig)
    assert "Revenue (CNY, net of refunds)" in text and "Buyers in the quarter (customers)" in text
    assert "Customers by lifecycle stage" in text and "Action-group mix (% of customers)" in text
    assert "The last 8 quarters" in text and len(fig.axes) == 4
    assert [t.get_text() for t in fig.axes[3].get_xticklabels()] == h.quarters
    plt.close(fig)
    fig = lifecycle_flow_figure(h.transitions, "2026Q2", "2026Q3")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Customers" and ax.get_ylabel() == "Stage at the end of 2026Q2"
    assert ax.get_title() == "Lifecycle moves, 2026Q2 to 2026Q3"
    assert ax.get_legend().get_title().get_text() == "Stage at the end of 2026Q3"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["new", "established", "dormant", "lost"][
        :len(ax.get_legend().get_texts())]
    plt.close(fig)


def test_a_legend_is_coloured_like_the_bars_it_names():
    """The segments' share chart (segments page, and the review's "which segments carry the business") gave its
    legend the colour of one segment's bars while every segment has its own colour: a legend swatch is either the
    colour of all the bars it names or, when those bars are in many colours, a neutral grey."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from helpers.page.figures import set_segment_order
    from helpers.review.figures import segment_share_figure
    from helpers.segments.figures import segment_share_chart
    set_segment_order(["Champions", "Loyal", "At Risk", "Hibernating"])
    t = pd.DataFrame({"segment": ["Champions", "Loyal", "At Risk", "Hibernating"],
                      "share_of_customers": [0.1, 0.3, 0.2, 0.4], "share_of_revenue": [0.4, 0.3, 0.2, 0.1]})
    rfm = {"segments": {r.segment: {"customers": 10, "share_of_customers": r.share_of_customers,
                                    "share_of_revenue": r.share_of_revenue, "revenue": 1.0, "action_group": "g"}
                        for r in t.itertuples()}}
    for fig in (segment_share_chart(t), segment_share_figure(rfm)):
        ax = fig.axes[0]
        bars = [to_rgb(p.get_facecolor()) for c in ax.containers for p in c]
        assert len(set(bars)) > 1   # the bars are in their segments' colours
        swatches = [to_rgb(h.get_facecolor()) for h in ax.get_legend().legend_handles]
        assert len(swatches) == 2
        for rgb in swatches:
            assert max(rgb) - min(rgb) < 0.15 and rgb not in bars, rgb   # neutral, unlike any one segment's bar
        plt.close(fig)


def test_the_churn_page_of_a_subscription_book_has_its_own_title(executed, tmp_path):
    """A subscription book's churn page said 未复购风险 (no repeat purchase in 90 days) and "customers about to stop
    buying": its score is the risk of cancelling (退订), so the page takes its own title and opening, in both
    languages, from the mode of the step's summary; a retail book keeps the notebook's."""
    from helpers.frame.registry import SUBSCRIPTION_CHURN_HEADING, page_heading
    from helpers.locale import catalog
    from helpers.run.render import render_page
    assert page_heading("40_churn", {"mode": "contractual"}) == SUBSCRIPTION_CHURN_HEADING
    assert page_heading("40_churn", {"mode": "snapshot"}) is None and page_heading("40_churn", None) is None
    assert page_heading("30_clv", {"mode": "contractual"}) is None
    zh = catalog("zh-CN")[SUBSCRIPTION_CHURN_HEADING]
    assert zh.startswith("# 退订风险") and "未复购" not in zh and "停止购买" not in zh
    en = SUBSCRIPTION_CHURN_HEADING
    assert en.startswith("# Cancellation risk") and "stop buying" not in en
    for lang, title in (("en", "Cancellation risk"), ("zh-CN", "退订风险")):
        out = render_page(executed, tmp_path / f"{lang}.html", "40_churn", ["40_churn"], "Co · 2026Q3", "as of",
                          "footer", language=lang, heading=SUBSCRIPTION_CHURN_HEADING)
        soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
        assert soup.find("h1").get_text().strip().rstrip("¶") == title
        assert soup.title.get_text().startswith(title)
        assert "Key numbers against the previous quarter" not in soup.get_text()   # the replaced first cell
