"""CSV exports that open in Excel: UTF-8 with BOM for zh-CN by default, GB18030 as an option; read back equal."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.frame.catalog import Catalog, csv_encoding_of, write_csv
from helpers.frame.settings import defaults

EXPORT = pd.DataFrame({
    "customer_id": ["007", "C000002", "C000003"],
    "segment": ["重要价值客户", "一般挽留客户", "Champions"],
    "action_group": ["核心维护", "低成本唤醒", "Protect"],
    "recommended_action": ["核心维护：企业微信专属顾问一对一服务，新品抢先购", "低成本唤醒：仅用短信和 App 推送",
                           'say "hi", twice'],
    "clv_12m": [1234.5, None, 0.25],
    "retention_priority": [True, False, True],
})


@pytest.mark.parametrize("encoding,head", [("utf-8-sig", b"\xef\xbb\xbf"), ("utf-8", b'"customer_id"'),
                                           ("gb18030", b'"customer_id"')])
def test_export_encodings_read_back_equal(tmp_path, encoding, head):
    cat = Catalog(tmp_path, step="60_quarterly_review", csv_encoding=encoding)
    p = cat.save("segments_export", EXPORT)
    raw = p.read_bytes()
    assert raw.startswith(head)
    assert csv_encoding_of(p) == encoding
    if encoding == "gb18030":
        assert "重要价值客户".encode("gb18030") in raw and "重要价值客户".encode() not in raw
    back = cat.load("segments_export")
    pd.testing.assert_frame_equal(back, EXPORT, check_dtype=False)
    # what Excel's importer does with the declared encoding
    pd.testing.assert_frame_equal(pd.read_csv(p, encoding=encoding, dtype={"customer_id": str}), EXPORT,
                                  check_dtype=False)


def test_auto_is_bom_for_chinese_and_plain_utf8_for_english():
    ex = defaults().export
    assert ex.encoding == "auto"
    assert ex.csv_encoding("zh-CN") == "utf-8-sig" and ex.csv_encoding("en") == "utf-8"
    assert ex.replace(encoding="gb18030").csv_encoding("en") == "gb18030"
    with pytest.raises(ValueError):
        ex.replace(encoding="latin-1")


def test_bom_flag_still_works(tmp_path):
    write_csv(EXPORT, tmp_path / "a.csv", bom=True)
    assert (tmp_path / "a.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(ValueError, match="not one of"):
        write_csv(EXPORT, tmp_path / "b.csv", encoding="latin-1")
