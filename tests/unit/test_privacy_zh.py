"""Personal data in Chinese exports: names, mainland mobile numbers and resident ID numbers recognised by content."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from helpers.demo.generator import DemoSpec, generate_demo, resident_id
from helpers.frame.settings import CustomersColumns, defaults
from helpers.ingest.rules import clean_customers, cn_id_check_ok, detect_pii_columns, looks_like_cn_name


@pytest.fixture(scope="module")
def zh_demo():
    return generate_demo(replace(DemoSpec(), n_customers=800, language="zh-CN"))


def test_resident_id_check_character():
    assert cn_id_check_ok("11010519491231002X")  # the standard's own example
    assert not cn_id_check_ok("110105194912310021")  # wrong check character
    assert not cn_id_check_ok("11010519491331002X")  # month 13
    assert not cn_id_check_ok("1101051949123100")  # too short
    ident = resident_id("310101", pd.Timestamp("1990-07-15"), 123)
    assert len(ident) == 18 and cn_id_check_ok(ident) and ident.startswith("31010119900715123")


def test_chinese_names():
    for name in ("王伟", "欧阳娜娜", "李秀英", "阿卜杜拉·买买提"):
        assert looks_like_cn_name(name), name
    for word in ("北京", "数码家电", "Wang Wei", "一线城市", "三线及以下城市"):
        assert not looks_like_cn_name(word), word


def test_generated_chinese_pii_is_well_formed(zh_demo):
    c = zh_demo.customers
    assert c["身份证号"].map(cn_id_check_ok).all()
    digits = c["手机号"].str.replace(r"[\s\-+]", "", regex=True).str.removeprefix("86")
    assert digits.str.fullmatch(r"1[3-9]\d{9}").all()
    assert c["姓名"].map(looks_like_cn_name).mean() > 0.95
    assert zh_demo.truth["pii_columns"] == ["姓名", "手机号", "身份证号", "email"]


def test_pii_columns_are_found_by_content_and_others_are_not(zh_demo):
    found = detect_pii_columns(zh_demo.customers)
    assert set(found) == {"姓名", "手机号", "身份证号", "email"}


def test_pii_mapped_as_attributes_is_dropped_at_ingestion(zh_demo):
    raw = zh_demo.customers.rename(columns={"姓名": "contact", "手机号": "mobile", "身份证号": "ident"})
    cols = CustomersColumns.minimal(attributes=["region", "city", "contact", "mobile", "ident"])
    clean, findings = clean_customers(raw, cols, defaults().ingest, "customers.parquet")
    assert {"contact", "mobile", "ident"}.isdisjoint(clean.columns)
    assert {"region", "city"} <= set(clean.columns)
    assert any(f.action == "dropped column" and "mobile" in f.column for f in findings)


def test_demo_in_chinese_has_the_english_demos_behaviour(zh_demo):
    en = generate_demo(replace(DemoSpec(), n_customers=800))
    assert zh_demo.orders["amount"].equals(en.orders["amount"])
    assert zh_demo.orders["order_ts"].equals(en.orders["order_ts"])
    assert set(zh_demo.orders["category"]) <= {"数码家电", "服饰鞋包", "家居日用", "美妆个护", "母婴玩具", "食品生鲜"}
    assert set(zh_demo.orders["status"]) == {"已完成", "已退款", "已取消"}
    assert set(zh_demo.customers["region"]) <= {"华东", "华北", "华南", "华中", "西部", "海外"}
    assert zh_demo.customers.loc[zh_demo.customers["city_tier"] == "一线城市", "city"].isin(
        ["上海", "北京", "广州", "深圳", "武汉", "成都", "新加坡"]).all()
