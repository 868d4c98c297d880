"""A zh-CN review end to end: the Chinese demo export rendered in Chinese (params/demo_zh.yaml on a small
sample), and the English pages next to it.

- every page is ``lang="zh-CN"``, its figures have no missing glyph, its text has no English left
  (:func:`english_words`; one test per page, each offending string reported with its page);
- the generated Chinese PII (names, mobile numbers, resident ID numbers, e-mails) reaches no page,
  export or artifact;
- the campaign export is UTF-8 with a BOM and reads back equal;
- in headless Chromium the zh review has its language attribute, every image loads and the embedded
  font is used (screenshots kept with ``SEGREVIEW_SCREENSHOTS=<folder>``);
- the English pages stay English (``lang="en"``, no embedded font when the data has no Chinese).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from conftest import CI_CUSTOMERS, make_project

pytestmark = pytest.mark.pipeline

PAGES = ["index.html", "10_ingest.html", "20_rfm_clustering.html", "30_clv.html", "40_churn.html",
         "50_ab_evaluation.html", "60_quarterly_review.html"]

#: Latin words a Chinese CRM page may keep: acronyms and model names Chinese practice uses as they
#: are, units and currency codes, the product's name, the channel "App".
ALLOWED = {
    "RFM", "CLV", "ROC", "AUC", "PR", "KPI", "ID", "SHA", "A", "B", "AB", "k", "App", "APP", "BG", "NBD", "MBG",
    "Pareto", "Gamma", "sBG", "CUPED", "SRM", "Holm", "Benjamini", "Hochberg", "Welch", "Brier", "Kaplan", "Meier",
    "OLS", "F", "R", "M", "p", "z", "t", "x", "n", "CI", "MAE", "RMSE", "AIC", "log", "segreview", "CNY", "USD",
    "EUR", "HKD", "EXP", "SHAP", "MDE", "ML", "GB", "UTF", "BOM", "Excel", "CSV", "vs", "k-means", "K-means",
    # model and method names used as they are, the notation P(alive), a parameter symbol, the README file
    "Gamma-Gamma", "Benjamini-Hochberg", "MSE", "P", "alive", "q", "README", "BdW",
}


def english_words(text: str) -> list[str]:
    """Latin words in a page's visible text that a Chinese reader should not find.

    Ignored: allowed acronyms and units (:data:`ALLOWED`), and data rather than prose: tokens with a
    digit, an underscore, a slash, a dot or an @ inside (ids ``C000123``, columns ``customer_id``,
    files ``orders.parquet``). An English quarter label (``2026Q3``) is reported.
    """
    found = re.findall(r"(?<![-\w])\d{4}Q[1-4](?![-\w])", text)   # not inside an id such as PLAN-2026Q2-<group>
    for chunk in text.split():
        if re.search(r"[A-Za-z]", chunk) is None:
            continue
        core = chunk.strip("()[]{}.,;:!?\"'“”‘’（）【】《》，。；：！？、")
        if re.search(r"[\d_/@]|[A-Za-z]\.[A-Za-z]", core):
            continue
        for word in re.findall(r"[A-Za-z][A-Za-z'-]*", core):
            w = word.strip("-'")
            if w and w not in ALLOWED and w.upper() not in ALLOWED:
                found.append(w)
    return found


def visible_text(html: str) -> list[str]:
    """The text a reader sees on a page, block by block (no styles, scripts or hidden anchors)."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["style", "script", "head"]):
        tag.decompose()
    for a in soup.select("a.anchor-link"):
        a.decompose()
    blocks = []
    for el in soup.find_all(["p", "li", "td", "th", "h1", "h2", "h3", "h4", "caption", "div", "a", "strong"]):
        if el.find(["p", "li", "td", "th", "h1", "h2", "h3", "div", "table"]) is None:
            t = " ".join(el.get_text(" ").split())
            if t:
                blocks.append(t)
    return blocks


@pytest.fixture(scope="module")
def zh_data(tmp_path_factory) -> Path:
    from helpers.demo.generator import DemoSpec, write_demo
    out = tmp_path_factory.mktemp("ci_zh")
    write_demo(out, replace(DemoSpec(), n_customers=CI_CUSTOMERS, language="zh-CN"))
    return out


@pytest.fixture(scope="module")
def zh_project(tmp_path_factory, ci_data, zh_data) -> Path:
    """One rendered zh-CN quarter: params/demo_zh.yaml (the Chinese preset) on the small Chinese sample."""
    import shutil

    from helpers.run.cli import main
    root = make_project(tmp_path_factory.mktemp("zh") / "proj", ci_data)
    shutil.copytree(zh_data, root / "data" / "ci_zh")
    (root / "params" / "ci_zh.yaml").write_text(
        "extends: params/demo_zh.yaml\n"
        "sources:\n"
        "  orders: {path: data/ci_zh/orders.parquet}\n"
        "  customers: {path: data/ci_zh/customers.parquet}\n"
        "  experiments: {path: data/ci_zh/experiments.parquet}\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGREVIEW_ROOT", str(root))
        mp.chdir(root)
        assert main(["run", "--params", "params/ci_zh.yaml"]) == 0
    return root


@pytest.fixture()
def zh_run(zh_project, monkeypatch) -> Path:
    monkeypatch.setenv("SEGREVIEW_ROOT", str(zh_project))
    monkeypatch.chdir(zh_project)
    return zh_project / "reports" / "demo_zh" / "2026Q3"


def test_zh_pages_are_chinese_with_chinese_names(zh_run):
    run = json.loads((zh_run / "run.json").read_text(encoding="utf-8"))
    assert run["parameters"]["language"] == "zh-CN"
    for page in PAGES:
        html = (zh_run / page).read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html, page
        assert "@font-face" in html and "segreview Noto Sans SC" in html, page
    review = (zh_run / "index.html").read_text(encoding="utf-8")
    for label in ("季度复盘", "数据接入", "客户分群", "客户价值", "未复购风险", "实验评估", "2026年第三季度"):
        assert label in review
    rfm = json.loads((zh_run / "artifacts" / "rfm.json").read_text(encoding="utf-8"))
    assert set(rfm["segments"]) <= {"重要价值客户", "重要保持客户", "重要发展客户", "重要挽留客户", "一般价值客户",
                                    "一般保持客户", "一般发展客户", "一般挽留客户"}
    seg_page = (zh_run / "20_rfm_clustering.html").read_text(encoding="utf-8")
    assert "各分群及应对行动" in seg_page and "企业微信" in seg_page
    ingest = (zh_run / "10_ingest.html").read_text(encoding="utf-8")
    assert "数据接入与质量" in ingest and "已剔除" in ingest and "¥" in ingest and "万" in ingest


def test_no_figure_of_the_zh_run_misses_a_glyph(zh_run):
    for nb_path in sorted((zh_run / "executed").glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                text = out.get("text", "") if out.get("output_type") == "stream" else ""
                assert "missing from font" not in text, f"{nb_path.name}: {text[:300]}"
    pngs = sum(1 for p in PAGES for _ in re.finditer("data:image/png", (zh_run / p).read_text(encoding="utf-8")))
    assert pngs >= 10


@pytest.mark.parametrize("page", PAGES)
def test_no_english_left_on_the_zh_page(zh_run, page):
    """Fails until every package's strings are translated; the message lists every offending string."""
    offending = []
    for block in visible_text((zh_run / page).read_text(encoding="utf-8")):
        words = english_words(block)
        if words:
            offending.append(f"{sorted(set(words))} in: {block[:160]}")
    assert not offending, f"{page}: {len(offending)} text block(s) with English words:\n" + "\n".join(offending)


def test_zh_plan_action_names_the_offer_made_and_counts_say_which_they_are(zh_run):
    """A Chinese manager's findings: 核心维护 said 无需折扣 beside 包邮 sent to thousands, 重点挽留 promised 有分量的
    专属优惠券 and got ¥2.50 free shipping; the summary's retention count did not say 39 of them are held out; every
    figure's alt text was nbconvert's English default."""
    review = json.loads((zh_run / "artifacts" / "review.json").read_text(encoding="utf-8"))
    checked = 0
    for e in review["plan"]:
        treated = e["expected_value"]["treated"]
        if e["offer_from"] and treated:      # a tested treatment sent: the action names it, not the group's own offer
            assert f"发送经 {e['offer_from']} 验证的优惠" in e["action"], e["action"]
        elif not treated:                    # no offer sent: the action promises none
            assert "本季度不发付费优惠" in e["action"], e["action"]
        else:
            continue
        assert "无需折扣" not in e["action"] and "有分量的专属优惠券" not in e["action"], e["action"]
        checked += 1
    assert checked
    html = (zh_run / "index.html").read_text(encoding="utf-8")
    held = sum(e["retention_list"]["in_holdout"] for e in review["plan"] if e.get("retention_list"))
    if held:
        assert f"有 {held} 位留作对照组：维系团队名单（retention-priority.csv）需联系" in html
    for page in PAGES:
        text = (zh_run / page).read_text(encoding="utf-8")
        alts = [img.get("alt") or "" for img in BeautifulSoup(text, "html.parser").find_all("img")]
        assert "No description has been provided" not in text, page
        assert all(a.startswith("图") for a in alts), (page, alts)
    assert "README" not in BeautifulSoup(html, "html.parser").get_text()


def test_english_words_finder():
    assert english_words("截至2026年9月30日，共有 1,500位客户（RFM、CLV、ROC AUC）") == []
    assert english_words("文件 data/ci_zh/orders.parquet，字段 customer_id，客户 C000123，App 推送") == []
    assert english_words("Share of revenue 收入占比") == ["Share", "of", "revenue"]
    assert english_words("2026Q3 客户复盘") == ["2026Q3"]


def test_generated_chinese_pii_reaches_no_page_or_export(zh_run, zh_project):
    cust = pd.read_parquet(zh_project / "data" / "ci_zh" / "customers.parquet")
    secrets = set(cust["身份证号"]) | set(cust["email"]) | set(cust["手机号"])
    secrets |= {re.sub(r"\D", "", p)[-11:] for p in cust["手机号"]}
    names = {n for n in cust["姓名"] if len(n) >= 3}  # two-character names can also be ordinary words
    files = [p for p in zh_run.rglob("*") if p.is_file()]
    assert any(p.name == "segments_export.csv" for p in files)
    for p in files:
        text = (pd.read_parquet(p).astype(str).to_csv() if p.suffix == ".parquet"
                else p.read_bytes().decode("utf-8", errors="replace"))
        leaked = [s for s in secrets if s in text] + [n for n in names if n in text]
        assert not leaked, f"{p.relative_to(zh_run)} holds personal data: {leaked[:5]}"
    kept = set(pd.read_parquet(zh_run / "artifacts" / "customers.parquet"))
    assert not {"姓名", "手机号", "身份证号", "email"} & kept


def test_zh_export_is_utf8_with_bom_and_reads_back_equal(zh_run):
    from helpers.frame.catalog import Catalog
    p = zh_run / "artifacts" / "segments_export.csv"
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = Catalog.published("2026Q3", "reports/demo_zh").load("segments_export")
    via_excel = pd.read_csv(p, encoding="utf-8-sig", dtype={"customer_id": str})
    pd.testing.assert_frame_equal(back, via_excel)
    scores = pd.read_parquet(zh_run / "artifacts" / "customer_scores.parquet")
    merged = back.merge(scores[["customer_id", "rfm_segment"]], on="customer_id")
    assert len(merged) == len(back) and (merged["segment"] == merged["rfm_segment"]).all()
    assert merged["segment"].str.contains("客户").all()


CHROMIUM = "/usr/bin/chromium"


def test_zh_review_in_headless_chromium(zh_run, tmp_path):
    import shutil
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium package)")
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright
    shots = tmp_path / "screenshots_zh"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        errors, failed = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        for name in ("index.html", "20_rfm_clustering.html"):
            page.goto((zh_run / name).as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
            assert sizes and all(c and w > 0 for c, w in sizes), f"{name}: an image did not load"
            fonts = page.evaluate("document.fonts.ready.then(() => [...document.fonts].map(f => [f.family, f.status]))")
            assert ["segreview Noto Sans SC", "loaded"] in fonts, fonts
            title = page.inner_text(".sr-title")
            assert page.evaluate("t => document.fonts.check('16px \"segreview Noto Sans SC\"', t)", title)
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        page.goto((zh_run / "index.html").as_uri())
        page.emulate_media(media="print")
        page.pdf(path=str(shots / "review.pdf"), format="A4")
        browser.close()
    assert errors == [] and failed == []
    assert (shots / "review.pdf").stat().st_size > 50_000
    keep = os.environ.get("SEGREVIEW_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)


def test_english_pages_stay_english(ci_rendered):
    out = ci_rendered / "reports" / "2026Q3"
    for page in PAGES:
        html = (out / page).read_text(encoding="utf-8")
        assert '<html lang="en">' in html, page
        assert "@font-face" not in html, page  # no Chinese character in the English demo: nothing embedded
        assert "--sr-font-stack" in html, page  # the one font change: fonts.css
    seg = (out / "20_rfm_clustering.html").read_text(encoding="utf-8")
    for text in ("Customer segments", "Segments and what to do with them", "Share of customers", "Champions",
                 "Protect: early access"):
        assert text in seg
    assert not re.search(r"[\u4e00-\u9fff]", BeautifulSoup(seg, "html.parser").get_text())
