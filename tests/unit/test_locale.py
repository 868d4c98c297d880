"""Languages: catalogs, message checks, numbers and dates in the locale, names of the segment map."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.frame.settings import defaults, load_config
from helpers.locale import (
    catalog,
    fmt_clauses,
    fmt_compact,
    fmt_date,
    fmt_int,
    fmt_labelled,
    fmt_list,
    fmt_money,
    fmt_month,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_points,
    fmt_quarter,
    fmt_range,
    language,
    ntr,
    set_language,
    tr,
)
from helpers.locale.check import conflicts, field_mismatches, messages, missing

#: The PO files of the i18n engineer's packages: complete on this branch.
MINE = {"locale", "page", "ingest", "segments", "run", "frame", "names"}


@pytest.fixture()
def zh():
    before = language()
    set_language("zh-CN")
    yield
    set_language(before)


@pytest.fixture()
def en():
    before = language()
    set_language("en")
    yield
    set_language(before)


def test_money_in_chinese(zh):
    assert fmt_money(3_416_406, "CNY") == "¥341.6万"
    assert fmt_money(1234, "CNY") == "¥1,234"
    assert fmt_money(123_456_789, "CNY") == "¥1.23亿"
    # rounded before the unit is chosen: never "¥10000万"
    assert fmt_money(99_999_999, "CNY") == "¥1亿"
    assert fmt_money(9_999.6, "CNY") == "¥1万"
    assert fmt_money(-45_678, "CNY") == "−¥4.6万"
    assert fmt_money(1234.5, "CNY", decimals=2) == "¥1,234.50"
    assert fmt_money(None, "CNY") == "暂无"
    assert fmt_money(3_416_406, "USD") == "US$341.6万"
    # grouped like every other amount on the page (a Chinese reader found ¥1699.5万)
    assert fmt_money(16_995_000, "CNY") == "¥1,699.5万"
    assert fmt_money(-99_950_000, "CNY") == "−¥9,995万"
    assert fmt_compact(16_995_000) == "1,699.5万"


def test_money_in_english_unchanged(en):
    assert fmt_money(3_416_406, "CNY") == "CNY 3,416,406"
    assert fmt_money(1234.5, "USD", decimals=2) == "USD 1,234.50"
    assert fmt_money(None, "CNY") == "n/a"


def test_negative_money_has_one_style(en):
    # a loss reads as a finance reader writes it: the minus sign before the currency, on every page
    assert fmt_money(-43_302, "CNY") == "\u2212CNY 43,302"
    assert fmt_money(-49_493.4, "USD") == "\u2212USD 49,493"
    assert fmt_money(-0.4, "CNY") == "CNY 0"  # rounds to nothing: no sign
    assert fmt_money(-1.256, "CNY", decimals=2) == "\u2212CNY 1.26"


def test_signed_money_says_no_change(en):
    assert fmt_money(1234, "CNY", signed=True) == "+CNY 1,234"
    assert fmt_money(-1234, "CNY", signed=True) == "\u2212CNY 1,234"
    assert fmt_money(0.3, "CNY", signed=True) == "±CNY 0"
    assert fmt_money(-0.3, "CNY", signed=True) == "±CNY 0"


def test_negative_and_signed_money_in_chinese(zh):
    assert fmt_money(-1234, "CNY") == "\u2212¥1,234"
    assert fmt_money(-123_456, "CNY", signed=True) == "\u2212¥12.3万"
    assert fmt_money(0.2, "CNY", signed=True) == "±¥0"
    assert fmt_money(-0.004, "CNY", compact=True) == "¥0"


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_money_sign_follows_the_value_as_shown(x):
    for lang in ("en", "zh-CN"):
        set_language(lang)
        try:
            s, signed = fmt_money(x, "CNY"), fmt_money(x, "CNY", signed=True)
        finally:
            set_language("en")
        assert "-" not in s  # never a hyphen: one minus sign everywhere
        assert s.startswith("\u2212") == (x < 0 and round(-x) > 0 and not s.endswith(("¥0", "CNY 0")))
        assert signed[0] in "+\u2212±"


def test_ranges_of_whole_numbers_and_points(en):
    assert fmt_range(431.0, 995.0) == "431 to 995"
    assert fmt_range(1.0, 1.0) == "1"
    assert fmt_range(0.6, 1.4) == "1"  # both ends show as 1: one value
    assert fmt_range(12.5, 40, lambda v: fmt_money(v, "USD")) == "USD 12 to USD 40"
    set_language("zh-CN")
    try:
        assert fmt_range(431.0, 995.0) == "431 至 995"
    finally:
        set_language("en")


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=10_000, max_value=5e12, allow_nan=False))
def test_compact_money_reads_back_within_rounding(x):
    set_language("zh-CN")
    try:
        s = fmt_money(x, "CNY")
    finally:
        set_language("en")
    m = re.fullmatch(r"¥(\d{1,3}(?:,\d{3})*(?:\.\d+)?)(万亿|万|亿)", s)
    assert m, s
    unit = {"万": 1e4, "亿": 1e8, "万亿": 1e12}[m.group(2)]
    shown = float(m.group(1).replace(",", ""))
    assert shown < 10_000, s  # the next unit is used once the number would reach 10000
    assert abs(shown * unit - x) <= (0.051 * unit if x < 1e8 else 0.0051 * unit)


def test_numbers_dates_and_quarters_in_chinese(zh):
    assert fmt_int(1_234_567) == "1,234,567"
    assert fmt_number(1234.567, 2) == "1,234.57"
    assert fmt_pct(0.1234) == "12%"
    # a share that is not zero never reads 0%, nor one that is not all 100%; changes round as they are
    assert (fmt_pct(0.003), fmt_pct(0.0004, 1), fmt_pct(0.005), fmt_pct(0.0)) == ("<1%", "<0.1%", "<1%", "0%")
    assert (fmt_pct(0.997), fmt_pct(0.9996, 1), fmt_pct(0.994), fmt_pct(1.0)) == (">99%", ">99.9%", "99%", "100%")
    assert fmt_pct(0.003, signed=True) == "+0%"
    assert fmt_pct(0.1234, 1, signed=True) == "+12.3%"
    assert fmt_points(0.131) == "+13.1个百分点"
    assert fmt_p(0.0004) == "< 0.001"
    assert fmt_date("2026-09-30") == "2026年9月30日"
    assert fmt_month("2026-09-30") == "2026年9月"
    assert [fmt_quarter(f"2026Q{i}") for i in range(1, 5)] == ["2026年第一季度", "2026年第二季度",
                                                              "2026年第三季度", "2026年第四季度"]
    assert fmt_compact(150_000) == "15万"


def test_numbers_in_english(en):
    assert fmt_points(0.131) == "+13.1 points"
    assert fmt_date("2026-09-30") == "2026-09-30"
    assert fmt_month("2026-09-30") == "Sep 2026"
    assert fmt_quarter("2026Q3") == "2026Q3"


def test_tr_translates_whole_templates_and_falls_back_to_english(zh):
    assert tr("{items} or {last}", items="甲、乙", last="丙") == "甲、乙或丙"
    assert tr("a message nobody translated {x}", x=1) == "a message nobody translated 1"
    assert ntr("{n} new customer arrived as {segment}", "{n} new customers arrived as {segment}", 1200,
               segment="新客户") == "1,200位新客户进入新客户"


def test_po_files_parse_and_fields_agree():
    assert catalog("zh-CN"), "no zh-CN catalog"
    assert field_mismatches("zh-CN") == []
    assert conflicts("zh-CN") == []


def test_every_message_of_the_i18n_packages_is_translated():
    lack = [(m.domain, m.id[:60]) for m in missing("zh-CN") if m.domain in MINE]
    assert lack == []


def test_extraction_finds_code_notebook_and_map_messages():
    problems: list[str] = []
    found = {(m.context, m.id): m for m in messages(problems=problems)}
    assert problems == [], problems  # no tr() of an f-string anywhere
    assert (None, "zero amount") in found and found[(None, "zero amount")].domain == "ingest"
    assert ("rfm segment", "Champions") in found and found[("rfm segment", "Champions")].domain == "names"
    md = [m for (c, i), m in found.items() if i.startswith("# Customer segments")]
    assert md and md[0].domain == "segments"
    assert (None, "Segments") in found  # the registry's page labels (navigation)


def test_default_segment_map_is_localised_consistently():
    en_map = defaults().rfm
    zh_map = defaults().replace(language="zh-CN").rfm
    names = [s.name for s in zh_map.segments]
    assert all(re.search(r"[\u4e00-\u9fff]", n) for n in names), names
    assert len(set(names)) == len(names) == len(en_map.segments)
    assert sorted(zh_map.segment_order) == sorted(names)
    assert sorted(s for g in zh_map.action_groups for s in g.segments) == sorted(names)
    for g in zh_map.action_groups:
        assert re.search(r"[\u4e00-\u9fff]", g.name) and g.action.startswith(g.name + "：")
    # the lapsed flags and score ranges travel with the names
    assert [(s.r, s.f, s.m, s.lapsed) for s in zh_map.segments] == [(s.r, s.f, s.m, s.lapsed) for s in en_map.segments]
    assert zh_map.localized("zh-CN") == zh_map  # idempotent (a notebook validates what the runner passed)
    assert defaults().rfm == en_map  # English untouched


def test_a_teams_own_names_stay_as_written():
    rfm = defaults().rfm.model_dump()
    rfm["segments"][0]["name"] = "VIP 客户"
    rfm["segment_order"][0] = "VIP 客户"
    rfm["action_groups"][0]["segments"][0] = "VIP 客户"
    rfm["action_groups"][1]["action"] = "Our own wording"
    rfm["action_groups"][1]["offer"] = None   # its own wording names no offer of the default's
    zh_map = type(defaults().rfm).model_validate(rfm).localized("zh-CN")
    assert zh_map.segments[0].name == "VIP 客户"
    assert zh_map.action_groups[1].action == "Our own wording"
    assert zh_map.segments[1].name == "忠诚客户"


def test_chinese_preset_eight_value_groups(repo, root_env):
    import shutil
    shutil.copytree(repo / "params" / "presets", root_env / "params" / "presets")
    q = root_env / "params" / "q.yaml"
    q.write_text("extends: params/presets/rfm_zh_8.yaml\nquarter: 2026Q3\n", encoding="utf-8")
    for lang in ("en", "zh-CN"):
        cfg = load_config(q) if lang == "en" else load_config(q).replace(language=lang)
        rfm = cfg.rfm
        names = [s.name for s in rfm.segments]
        assert names[0] == "重要价值客户" and len(names) == 8  # written in Chinese, unchanged in both languages
        cells = {}
        for s in rfm.segments:  # every (R high/low, F high/low, M high/low) combination exactly once
            key = tuple(rng[0] >= 4 for rng in (s.r, s.f, s.m))
            assert all(rng in ((4, 5), (1, 3)) for rng in (s.r, s.f, s.m))
            cells[key] = s.name
        assert len(cells) == 8
        assert cells[(True, True, True)] == "重要价值客户" and cells[(False, False, False)] == "一般挽留客户"
        assert cells[(True, False, True)] == "重要发展客户" and cells[(False, True, True)] == "重要保持客户"
        assert cells[(False, False, True)] == "重要挽留客户"
        assert {s.name for s in rfm.segments if s.lapsed} == {"重要挽留客户", "一般挽留客户"}
        actions = " ".join(g.action for g in rfm.action_groups)
        for channel in ("企业微信", "短信", "App 推送", "小程序"):
            assert channel in actions


def test_offer_costs_follow_the_action_groups_into_chinese():
    """The plan finds each group's offer cost whatever the page's language (the groups are renamed at validation)."""
    zh = load_config("params/demo_zh.yaml")
    groups = {g.name for g in zh.rfm.action_groups}
    assert groups <= set(zh.review.plan.offer_cost)
    en = defaults()
    both = en.replace(language="zh-CN")
    assert {g.name for g in both.rfm.action_groups} <= set(both.review.plan.offer_cost)
    assert both.review.plan.offer_cost[both.rfm.action_groups[0].name] == en.review.plan.offer_cost[
        en.rfm.action_groups[0].name]


def test_lists_clauses_and_labels_use_full_width_punctuation_in_chinese(zh):
    """Code joined Chinese words with ", ", "; " and ": " (对照组 4,034, 实验组 3,966; EXP-01-包邮: 向全部客户推广)."""
    assert fmt_list(["对照组 4,034", "实验组 3,966"]) == "对照组 4,034、实验组 3,966"
    assert fmt_clauses(["已取消", "交易关闭"]) == "已取消；交易关闭"
    assert fmt_labelled("EXP-01-包邮", "**向全部客户推广**") == "EXP-01-包邮：**向全部客户推广**"
    set_language("en")
    assert (fmt_list(["a", "b"]), fmt_clauses(["a", "b"]), fmt_labelled("EXP-1", "Ship")) == ("a, b", "a; b",
                                                                                              "EXP-1: Ship")
