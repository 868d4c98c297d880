"""Rendering in the page's language: lang attribute, translated markdown and navigation, embedded font, index page."""

from __future__ import annotations

import json

import nbformat
import pytest

from helpers.locale import language, set_language
from helpers.locale.check import messages
from helpers.run.render import render_page, write_reports_index


@pytest.fixture(autouse=True)
def _restore_language():
    before = language()
    yield
    set_language(before)


def _notebook(markdown: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell("x = 1")]
    return nb


def _segments_intro() -> str:
    return next(m.id for m in messages() if m.id.startswith("# Customer segments"))


def test_zh_page_has_lang_chinese_markdown_navigation_and_font(tmp_path):
    out = render_page(_notebook(_segments_intro()), tmp_path / "p.html", "20_rfm_clustering",
                      ["10_ingest", "20_rfm_clustering", "60_quarterly_review"], "示例公司", "数据截至2026年9月30日",
                      "segreview", language="zh-CN")
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "# 客户分群" not in html and "客户分群" in html and "Customer segments" not in html
    assert ">数据接入<" in html and ">季度复盘<" in html  # navigation
    assert "unicode-range" in html and 'font-family: "segreview Noto Sans SC"' in html
    assert "--sr-font-stack" in html


def test_en_page_is_unchanged_english_without_embedded_font(tmp_path):
    out = render_page(_notebook(_segments_intro()), tmp_path / "p.html", "20_rfm_clustering",
                      ["10_ingest", "20_rfm_clustering"], "Demo Retail Co.", "As of 2026-09-30", "segreview",
                      language="en")
    html = out.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Customer segments" in html and ">Data intake<" in html
    assert "@font-face" not in html


def test_reports_index_in_the_newest_quarters_language(tmp_path):
    for q, lang in (("2026Q2", "en"), ("2026Q3", "zh-CN")):
        d = tmp_path / q
        (d / "artifacts").mkdir(parents=True)
        (d / "index.html").write_text("<html></html>", encoding="utf-8")
        params = {"language": lang, "currency": "CNY", "company": "示例公司"}
        (d / "run.json").write_text(json.dumps({"parameters": params, "finished_at": "2026-10-05T10:00:00"}),
                                    encoding="utf-8")
        (d / "artifacts" / "review.json").write_text(json.dumps({"kpis": {
            "active_customers": {"this_quarter": 7359}, "revenue": {"this_quarter": 3_416_406},
            "orders": {"this_quarter": 14242}}}), encoding="utf-8")
    html = write_reports_index(tmp_path).read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "季度客户复盘报告" in html
    assert "2026年第三季度" in html and "2026年第二季度" in html and "¥341.6万" in html and "7,359" in html
    assert language() == "en"  # the process's language is left as it was


def test_every_figure_has_an_alt_text_in_the_pages_language(tmp_path):
    """nbconvert writes "No description has been provided for this image" on a figure without alt text; the
    kernel's PNG of a figure carries one in the page's language (helpers.page.figures.figure_alt), which the
    template writes."""
    import base64

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.page.figures import figure_alt
    set_language("zh-CN")
    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("季度趋势")
    a.set_title("收入")
    b.set_ylabel("购买客户")
    alt = figure_alt(fig)
    plt.close(fig)
    assert alt == "图：季度趋势；收入；购买客户"
    nb = _notebook(_segments_intro())
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": png},
                                                  metadata={"image/png": {"alt": alt}})]
    out = render_page(nb, tmp_path / "p.html", "20_rfm_clustering", ["20_rfm_clustering"], "示例公司",
                      "数据截至2026年9月30日", "segreview", language="zh-CN")
    html = out.read_text(encoding="utf-8")
    assert 'alt="图：季度趋势；收入；购买客户"' in html and "No description" not in html
