"""Customer attributes typed by their content at ingestion (issue 17, point 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.frame.errors import ParameterError
from helpers.frame.settings import CustomersColumns, defaults
from helpers.ingest.attributes import (
    attribute_table,
    convert,
    convert_rows,
    guess_type,
    model_features,
    parse_booleans,
    parse_numbers,
    type_attributes,
)
from helpers.ingest.rules import clean_customers


def messy() -> pd.DataFrame:
    """A CRM export's attributes as a CSV reader hands them over: everything is text."""
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(8)],
        "tenure": ["12", " 3 ", "", "48", "NA", "7", "0", "72"],
        "monthly_charges": ["29.85", "1,029.50", " 56.95", "¥ 42.30", "70.70", " ", "99.65", "18.25"],
        "total_charges": ["29.85", "1 889,5".replace(",", ""), " ", "1,840.75", "151.65", "820.50", "1\u00a0949.40",
                          "301.90"],
        "senior": ["0", "1", "0", "0", "1", "0", None, "0"],
        "partner": ["Yes", "no", "YES", "No", "", "yes", "NO", "yes"],
        "paperless": ["true", "False", "TRUE", "false", "t", "f", "True", "false"],
        "vip": ["是", "否", "否", "是", "否", "-", "否", "是"],
        "signed_up": ["2024-03-01", "2024/3/15", "2023年12月1日", "2022-07-09", "", "2025-01-31", "2021-11-30",
                      "2020-02-29"],
        "contract": ["Month-to-month", "One year", "Two year", "Month-to-month", "Month-to-month", " One year ",
                     "null", "Two year"],
        "zip": ["010010", "200001", "100080", "518000", "310000", "610000", "430000", "710000"],
        "tier": ["Tier 1", "Tier 2", "Tier 2", "Tier 3", "Tier 1", "Tier 2", "Tier 1", "Tier 3"],
    })


def test_guesses_on_messy_columns():
    d = messy()
    want = {"tenure": "number", "monthly_charges": "number", "total_charges": "number", "senior": "boolean",
            "partner": "boolean", "paperless": "boolean", "vip": "boolean", "signed_up": "date",
            "contract": "category", "zip": "category", "tier": "category"}
    assert {c: guess_type(d[c]) for c in want} == want


def test_numbers_with_blanks_spaces_and_thousands_separators():
    v, bad = parse_numbers(messy()["monthly_charges"])
    assert v.tolist()[:5] == [29.85, 1029.50, 56.95, 42.30, 70.70]
    assert np.isnan(v.iloc[5]) and not bad.any()          # a blank is missing, not an error
    v, _ = parse_numbers(messy()["total_charges"])
    assert v.iloc[3] == 1840.75 and v.iloc[6] == 1949.40 and np.isnan(v.iloc[2])
    v, bad = parse_numbers(pd.Series(["1'234.5", "1_000", "-3", "(4.5)", "１２", "12%", "abc", "1,23"]))
    assert v.tolist()[:6] == [1234.5, 1000.0, -3.0, -4.5, 12.0, 12.0]
    assert bad.tolist() == [False] * 6 + [True, True]       # "1,23" is not a thousands group: not guessed


def test_booleans_in_any_case_and_in_chinese():
    v, bad = parse_booleans(pd.Series(["Yes", "NO", "true", "False", "1", "0", "是", "否", "", "maybe"]))
    assert v.tolist()[:8] == [True, False, True, False, True, False, True, False]
    assert v.isna().tolist()[8:] == [True, True] and bad.tolist()[8:] == [False, True]


def test_a_column_that_is_mostly_numbers_keeps_its_stray_text_as_missing_and_counts_it():
    s = pd.Series([str(i) for i in range(100)] + ["unknown", "n.a"])
    assert guess_type(s) == "number"         # 100 of 101 present values read: at least 95%
    df, findings = type_attributes(pd.DataFrame({"customer_id": range(102), "x": s}), ["x"], {})
    assert df["x"].isna().sum() == 2 and df["x"].dtype == float
    (f,) = findings
    assert (f.column, f.rows, f.action) == ("x", 1, "set to missing") and "unknown" in f.examples
    # half numbers, half words: a category
    assert guess_type(pd.Series(["1", "2", "three", "four"])) == "category"


def test_an_explicit_type_overrides_the_guess():
    d = messy()
    df, findings = type_attributes(d, ["zip", "senior", "tenure"], {"zip": "number", "senior": "category"})
    assert df["zip"].dtype == float and df["zip"].iloc[0] == 10010.0
    assert df["senior"].tolist()[:3] == ["0", "1", "0"]              # a code, as the mapping says
    assert df["tenure"].dtype == float                              # still guessed
    # forcing a type the values do not have: they become missing, counted with examples
    df, findings = type_attributes(d, ["contract"], {"contract": "number"})
    assert df["contract"].isna().all() and findings[0].rows == 7 and findings[0].check.endswith("not a number")


def test_the_mapping_refuses_a_type_for_an_attribute_it_does_not_keep():
    base = defaults().columns.customers
    assert base.attribute_types == {}
    ok = base.replace(attributes=["tenure"], attribute_types={"tenure": "number"})
    assert ok.attribute_types == {"tenure": "number"}
    with pytest.raises(Exception, match="attribute_types names"):
        base.replace(attribute_types={"tenure": "number"})
    with pytest.raises(Exception, match="number"):
        base.replace(attributes=["tenure"], attribute_types={"tenure": "integer"})


def test_a_parameters_file_with_a_bad_type_is_refused_before_anything_runs(root_env):
    from helpers.frame.settings import load_config
    (root_env / "params" / "q.yaml").write_text(
        "columns:\n  customers:\n    attributes: [tenure]\n    attribute_types: {tenure: integer}\n")
    with pytest.raises(ParameterError, match="attribute_types"):
        load_config(root_env / "params" / "q.yaml")


def test_clean_customers_types_the_attributes_and_reports_unreadable_values():
    raw = messy().assign(tenure=lambda d: d["tenure"].where(d.index != 1, "about ten"))
    # "about ten" among 5 numbers would make tenure a category (under 95% read): the mapping says number
    cols = CustomersColumns.minimal(attributes=["tenure", "partner", "signed_up", "contract"],
                                    attribute_types={"tenure": "number", "contract": "category"})
    df, findings = clean_customers(raw, cols, defaults().ingest, "c.csv")
    assert df["tenure"].dtype == float and df["tenure"].isna().sum() == 3        # blank, NA, "about ten"
    assert str(df["partner"].dtype) == "boolean" and df["partner"].isna().sum() == 1
    assert str(df["signed_up"].dtype) == "datetime64[us]" and df["signed_up"].iloc[2] == pd.Timestamp("2023-12-01")
    assert df["contract"].iloc[5] == "One year" and pd.isna(df["contract"].iloc[6])
    assert [(f.column, f.rows) for f in findings if f.check.startswith("attribute")] == [("tenure", 1)]


def test_a_typed_table_survives_parquet(tmp_path):
    cols = CustomersColumns.minimal(attributes=["tenure", "partner", "signed_up", "contract"])
    df, _ = clean_customers(messy(), cols, defaults().ingest, "c.csv")
    df.to_parquet(tmp_path / "c.parquet")
    back = pd.read_parquet(tmp_path / "c.parquet")
    assert {c: guess_type(back[c]) for c in cols.attributes} == {
        "tenure": "number", "partner": "boolean", "signed_up": "date", "contract": "category"}


def test_intake_table_shows_type_missing_share_and_levels():
    cols = ["tenure", "partner", "signed_up", "contract", "zip"]
    df, _ = type_attributes(messy(), cols, {"zip": "category"})
    t = attribute_table(df, cols, {"zip": "category"}).set_index("Attribute")
    assert t["Type"].to_dict() == {"tenure": "number", "partner": "yes/no", "signed_up": "date",
                                   "contract": "category", "zip": "category"}
    assert t.loc["tenure", "Missing"] == pytest.approx(2 / 8) and t.loc["partner", "Missing"] == pytest.approx(1 / 8)
    assert t.loc["contract", "Levels"] == 3 and t.loc["tenure", "Levels"] == 6
    assert t.loc["zip", "Decided by"] == "set in the column mapping"
    assert t.loc["tenure", "Decided by"] == "guessed from the values"
    assert attribute_table(None, cols, {}).empty


def test_identifier_like_columns_are_left_out_of_models_with_a_note():
    rng = np.random.default_rng(0)
    n = 400
    c = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                      "account_no": [f"A{100000 + i}" for i in range(n)],            # unique text: an id
                      "member_no": np.arange(n) + 5000,                              # unique whole numbers
                      "charges": rng.gamma(2, 30, n).round(2),                       # continuous: kept
                      "plan": rng.choice(["basic", "plus"], n),
                      "country": "CN"})                                             # one value: left out
    X, notes, kinds = model_features(c, ["account_no", "member_no", "charges", "plan", "country"],
                                     pd.Timestamp("2026-09-30"), max_levels=20)
    assert list(X.columns) == ["charges", "plan"] and kinds == {"charges": "number", "plan": "category"}
    assert {(n.attribute, n.action) for n in notes} == {("account_no", "identifier"), ("member_no", "identifier"),
                                                        ("country", "constant")}
    assert "identifier" in next(n for n in notes if n.attribute == "account_no").sentence
    # a type set in the mapping says the column is data: it is kept
    X, notes, _ = model_features(c, ["member_no"], pd.Timestamp("2026-09-30"), 20, types={"member_no": "number"})
    assert list(X.columns) == ["member_no"] and not notes
    t = attribute_table(c, ["account_no", "charges"], {}).set_index("Attribute")
    assert "identifier" in t.loc["account_no", "Note"] and t.loc["charges", "Note"] == ""


def test_many_levels_keep_the_most_frequent_plus_other_and_dates_become_ages():
    rng = np.random.default_rng(1)
    n = 2000
    city = np.where(rng.random(n) < 0.6, rng.choice(["Beijing", "Shanghai", "Shenzhen"], n),
                    np.array([f"city{i}" for i in rng.integers(0, 300, n)]))
    c = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "city": city,
                      "signed_up": pd.Timestamp("2026-01-01") - pd.to_timedelta(rng.integers(0, 900, n), "D"),
                      "vip": pd.array(rng.choice([True, False, None], n), dtype="boolean")})
    X, notes, kinds = model_features(c, ["city", "signed_up", "vip"], pd.Timestamp("2026-09-30"), max_levels=5)
    assert X["city"].nunique() == 6 and "other" in set(X["city"])
    assert {"Beijing", "Shanghai", "Shenzhen"} <= set(X["city"])
    (note,) = notes
    assert note.action == "levels" and note.kept == 5 and note.levels == c["city"].nunique()
    assert note.other_share == pytest.approx((X["city"] == "other").mean())
    assert (X["signed_up"] == (pd.Timestamp("2026-09-30") - c.set_index("customer_id")["signed_up"]).dt.days).all()
    assert set(X["vip"].dropna()) == {0.0, 1.0} and X["vip"].isna().any()
    assert kinds == {"city": "category", "signed_up": "date", "vip": "boolean"}


def test_untyped_text_reaching_a_model_is_typed_by_the_same_rules():
    c = messy().iloc[:6]
    X, _, kinds = model_features(c, ["tenure", "partner"], pd.Timestamp("2026-09-30"), 20)
    assert kinds == {"tenure": "number", "partner": "boolean"} and X["tenure"].iloc[0] == 12.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.none()), min_size=1, max_size=40),
       st.sampled_from(["{:,.2f}", "{:.3f}", " {:.1f} ", "¥{:,.2f}", "{:.0f}"]))
def test_formatted_numbers_read_back_as_the_numbers_they_show(values, fmt):
    text = pd.Series([("" if v is None else fmt.format(v)) for v in values])
    got, bad = parse_numbers(text)
    want = [np.nan if v is None else float(fmt.format(v).strip().replace(",", "").replace("¥", "")) for v in values]
    np.testing.assert_allclose(got.to_numpy(), np.array(want, float))
    assert not bad.any()
    if any(v is not None and fmt.format(v).strip() not in ("0.0", "1.0") for v in values) and fmt != "{:.0f}":
        assert guess_type(text) == "number"


def test_convert_refuses_an_unknown_type():
    with pytest.raises(ValueError, match="unknown attribute type"):
        convert(pd.Series(["1"]), "integer")


MESSY_VALUES = ["12", " 3 ", "", "NA", "n/a", " ", "1,029.50", "¥ 42.30", "(5)", "0012", "yes", "No", "是", "否",
                "TRUE", "0", "1", "2024-03-05", "2024/3/5", "2024年3月5日", "05.03.2024", "2024-03-05 10:00",
                "北京", "华东 ", "Shanghai", "gold  member", "3.0", "abc", None, np.nan]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(MESSY_VALUES), min_size=2, max_size=60),
       st.sampled_from(["boolean", "category", "date", "number"]),
       st.sampled_from(["object", "string", "str", "category"]), st.sampled_from([None, "region"]))
def test_convert_per_distinct_value_equals_row_by_row(values, kind, dtype, name):
    """Property: reading each distinct value once and spreading it back gives every row what reading the rows
    one by one gives (values, their dtype and the unreadable mask), whatever the mix of text, blanks and
    missing values."""
    s = pd.Series(values, dtype=dtype, index=pd.RangeIndex(100, 100 + len(values)), name=name)
    got, bad = convert(s, kind)
    want, want_bad = convert_rows(s, kind)
    pd.testing.assert_series_equal(got, want)
    pd.testing.assert_series_equal(bad, want_bad)
