"""Figures draw Chinese text (from the translation and from the data) in both languages, with no missing glyph."""

from __future__ import annotations

import io
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helpers.locale import language, set_language
from helpers.page import setup_style
from helpers.page.fonts import CJK_FAMILY, cjk_characters, cjk_font_path, font_chain, page_font_css

CHINESE = ["北京", "上海", "母婴玩具", "美妆个护", "企业微信", "重要价值客户", "一般挽留客户"]


def _glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw()
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.fixture(params=["en", "zh-CN"])
def lang(request):
    before = language()
    set_language(request.param)
    setup_style()
    yield request.param
    set_language(before)
    setup_style()


def _bar_chart():
    fig, ax = plt.subplots()
    ax.barh(CHINESE, range(1, len(CHINESE) + 1), label="收入占比 share")
    ax.set_title("各分群收入（人民币）· Revenue by segment ▲▼ −5%")
    ax.set_xlabel("客户数（位）")
    ax.legend(title="图例")
    return fig


def test_the_font_is_an_ofl_noto_sans_sc_from_the_installed_package():
    from fontTools.ttLib import TTFont
    path = cjk_font_path()
    assert "site-packages" in str(path) and path.suffix == ".otf"
    name = TTFont(str(path), lazy=True)["name"]
    assert name.getDebugName(1) == CJK_FAMILY
    assert "Open Font License" in name.getDebugName(13)


def test_chinese_labels_and_data_render_without_missing_glyphs(lang):
    assert _glyph_warnings(_bar_chart) == []
    assert list(plt.rcParams["font.family"]) == font_chain(lang)


def test_without_the_cjk_font_the_same_figure_warns():
    """The check above can fail: DejaVu Sans alone has no Chinese glyphs."""
    setup_style()
    with plt.rc_context({"font.family": ["DejaVu Sans"]}):
        assert _glyph_warnings(_bar_chart)


def test_segment_figures_with_chinese_names_render_cleanly(lang):
    from helpers.segments.figures import migration_heatmap, segment_share_chart
    from helpers.segments.model import NEW
    table = pd.DataFrame({"segment": CHINESE[-2:] + ["Champions"], "share_of_customers": [0.2, 0.5, 0.3],
                          "share_of_revenue": [0.6, 0.1, 0.3]})
    assert _glyph_warnings(lambda: segment_share_chart(table)) == []
    counts = pd.DataFrame([[3, 1], [0, 4], [2, 2]], index=[NEW, "重要价值客户", "一般挽留客户"],
                          columns=["重要价值客户", "一般挽留客户"])
    assert _glyph_warnings(lambda: migration_heatmap(counts, "2026Q2", "2026Q3")) == []


def test_english_pages_keep_dejavu_first_and_chinese_pages_noto_first():
    assert font_chain("en")[0] == "DejaVu Sans" and font_chain("zh-CN")[0] == CJK_FAMILY
    assert set(font_chain("en")) == set(font_chain("zh-CN"))


def test_page_font_subset_holds_exactly_the_pages_characters():
    import base64
    import re

    from fontTools.ttLib import TTFont
    text = "<p>季度客户复盘：重要价值客户，北京、上海。</p><img src='data:image/png;base64,iVBORw0KGgo='>"
    css = page_font_css(text)
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)\)", css).group(1))
    font = TTFont(io.BytesIO(data))
    cmap = font.getBestCmap()
    chars = cjk_characters(text)
    assert chars and all(ord(c) in cmap for c in chars)
    assert len(data) < 60_000  # a subset, not the 8 MB font
    assert page_font_css("<p>English only</p>") == ""
