"""Seeded demo data: a realistic CRM export with known generating parameters.

The generator draws every customer's behaviour from the processes the models of this project
assume, so tests can check that the models recover what was planted:

- **purchases** follow a BG/NBD-style process (Fader, Hardie & Lee 2005): each customer buys at
  a Poisson rate ``lambda ~ Gamma(r, alpha)`` (per week) and becomes inactive after each purchase
  with probability ``p ~ Beta(a, b)``; the rate is modulated by a seasonal calendar (618 mid-year
  sales, Singles' Day, the year-end holidays, a Spring-Festival lull) by thinning;
- **spend** follows Gamma-Gamma: order values ``z ~ Gamma(p_spend, nu)`` with a per-customer
  ``nu ~ Gamma(q_spend, gamma_spend)``;
- **experiments**: two campaigns with potential outcomes simulated for every assigned customer,
  so the sample average treatment effect is known exactly: one lifts conversion overall, one only
  among lapsed customers who had bought on at least three days (its ``effect group``);
- **dirty rows**: duplicated order lines, null customer ids, zero amounts, refunds as negative
  amounts (same order id), cancelled orders, impossible dates, orders of customers missing from
  the customers table and orders after the export's quarter end.

The customers table carries synthetic PII (name, e-mail, phone) so privacy can be tested.
Everything is drawn from one ``numpy.random.Generator`` seeded from :class:`DemoSpec`.

**Chinese export** (``DemoSpec(language="zh-CN")``, ``segreview demo-data --language zh-CN``): the
same customers and orders (the same draws), written as a Chinese company's CRM export: regions,
cities, city tiers, categories, channels and acquisition channels in Chinese, and Chinese PII
columns ``姓名`` (names), ``手机号`` (11-digit mainland mobile numbers, some written with +86 or
dashes), ``身份证号`` (18-character resident ID numbers with a valid check character) and
``email``; experiments named ``EXP-01-包邮`` / ``EXP-02-挽留券`` with the arms ``对照组`` / ``实验组``;
``params/demo_zh.yaml`` reads it. The PII is drawn from a generator of its own, so the
behaviour data equal the English demo's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ['DEMO_FILES', 'ExperimentSpec', 'DemoSpec', 'DemoData', 'seasonal_factor', 'generate_demo', 'write_demo']


DEMO_FILES = ("orders.parquet", "customers.parquet", "experiments.parquet", "truth.json",
              "truth_customers.parquet")


_SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
             "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao", "Mueller", "Schmidt",
             "Rossi", "Dubois", "Garcia", "Novak", "Jansen", "Silva", "Kowalski", "Smith"]


_GIVEN = ["Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Jun", "Hua", "Tao", "Xin", "Ling", "Bo",
          "Qiang", "Mei", "Hao", "Yu", "Anna", "Lukas", "Sofia", "Marco", "Elena", "Jonas",
          "Clara", "Pierre", "Maria", "Tomas", "Eva", "Noah", "Lea", "Ivan"]


_REGIONS = ["East China", "North China", "South China", "Central China", "West China", "Overseas"]


_REGION_P = [0.32, 0.2, 0.2, 0.12, 0.1, 0.06]


_CITY_TIERS = ["Tier 1", "Tier 2", "Tier 3+"]


_ACQ = ["organic", "paid_search", "social", "referral", "marketplace"]


_ACQ_P = [0.35, 0.2, 0.2, 0.1, 0.15]


_CATEGORIES = ["electronics", "apparel", "home", "beauty", "books", "grocery"]


_CHANNELS = ["app", "web", "mini_program", "store"]


#: The Chinese export's words for the English demo's values (same draws, other labels).
_ZH_VALUES = {
    "region": {"East China": "华东", "North China": "华北", "South China": "华南", "Central China": "华中",
               "West China": "西部", "Overseas": "海外"},
    "city_tier": {"Tier 1": "一线城市", "Tier 2": "二线城市", "Tier 3+": "三线及以下城市"},
    "acquisition_channel": {"organic": "自然流量", "paid_search": "搜索广告", "social": "社交媒体",
                            "referral": "老客推荐", "marketplace": "电商平台"},
    "category": {"electronics": "数码家电", "apparel": "服饰鞋包", "home": "家居日用", "beauty": "美妆个护",
                 "books": "母婴玩具", "grocery": "食品生鲜"},
    "channel": {"app": "App", "web": "官网", "mini_program": "小程序", "store": "门店"},
    "status": {"completed": "已完成", "refunded": "已退款", "cancelled": "已取消"},
    "variant": {"control": "对照组", "treatment": "实验组"},
    "experiment_id": {"EXP-01-free-shipping": "EXP-01-包邮", "EXP-02-winback-coupon": "EXP-02-挽留券"},
}


#: Cities of the Chinese export by region and city tier (the city follows the customer's region and tier).
_ZH_CITIES = {
    ("华东", "一线城市"): ["上海"], ("华东", "二线城市"): ["杭州", "南京", "苏州", "宁波"],
    ("华东", "三线及以下城市"): ["嘉兴", "扬州", "金华"],
    ("华北", "一线城市"): ["北京"], ("华北", "二线城市"): ["天津", "石家庄", "济南"],
    ("华北", "三线及以下城市"): ["保定", "唐山", "廊坊"],
    ("华南", "一线城市"): ["广州", "深圳"], ("华南", "二线城市"): ["东莞", "佛山", "厦门"],
    ("华南", "三线及以下城市"): ["惠州", "汕头", "珠海"],
    ("华中", "一线城市"): ["武汉"], ("华中", "二线城市"): ["长沙", "郑州"],
    ("华中", "三线及以下城市"): ["宜昌", "岳阳"],
    ("西部", "一线城市"): ["成都"], ("西部", "二线城市"): ["重庆", "西安", "昆明"],
    ("西部", "三线及以下城市"): ["绵阳", "遵义", "兰州"],
    ("海外", "一线城市"): ["新加坡"], ("海外", "二线城市"): ["吉隆坡"], ("海外", "三线及以下城市"): ["曼谷"],
}


_ZH_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋"
                    "余于杜叶程魏苏吕丁任")
_ZH_SURNAMES_2 = ["欧阳", "司马", "上官", "诸葛"]
_ZH_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉晨宇浩然欣怡子涵梓轩思雨佳琪")


#: Area codes (administrative divisions) of the resident ID numbers: districts of large cities.
_ZH_AREAS = ["110101", "110105", "310101", "310115", "440103", "440305", "330106", "320102", "420106",
             "510104", "500103", "610113", "120101", "430102", "410105"]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(area: str, birth: pd.Timestamp, seq: int) -> str:
    """An 18-character resident ID number (GB 11643-1999) with its ISO 7064 MOD 11-2 check character."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def _zh_pii(seed: int, n: int) -> dict[str, np.ndarray]:
    """Chinese names, mobile numbers, resident ID numbers and e-mails (a generator of their own)."""
    rng = np.random.default_rng([seed, 86])
    compound = rng.random(n) < 0.02
    sur = np.where(compound, rng.choice(_ZH_SURNAMES_2, n), rng.choice(_ZH_SURNAMES, n))
    two = rng.random(n) < 0.7
    g1, g2 = rng.choice(_ZH_GIVEN, n), rng.choice(_ZH_GIVEN, n)
    names = np.array([s + a + (b if t else "") for s, a, b, t in zip(sur, g1, g2, two, strict=True)])
    prefix = rng.choice(["13", "15", "17", "18", "19"], n)
    digits = rng.integers(0, 10**9, n)
    style = rng.random(n)
    phones = []
    for p, d, st in zip(prefix, digits, style, strict=True):
        m = f"{p}{d:09d}"
        phones.append(m if st < 0.7 else (f"{m[:3]}-{m[3:7]}-{m[7:]}" if st < 0.85
                                          else f"+86 {m[:3]} {m[3:7]} {m[7:]}"))
    births = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 45 * 365, n), "D")
    areas = rng.choice(_ZH_AREAS, n)
    seqs = rng.integers(1, 1000, n)
    ids = np.array([resident_id(a, b, q) for a, b, q in zip(areas, births, seqs, strict=True)])
    qq = rng.integers(10**7, 10**10, n)
    emails = np.array([f"{q}@qq.com" if st < 0.6 else f"{q}@163.com" for q, st in zip(qq, style, strict=True)])
    return {"姓名": names, "手机号": np.array(phones), "身份证号": ids, "email": emails}


def to_chinese(data: DemoData, seed: int) -> DemoData:
    """The demo export as a Chinese company writes it (see the module docstring): same rows, Chinese labels."""
    orders = data.orders.copy()
    for col in ("category", "channel", "status"):
        orders[col] = orders[col].map(_ZH_VALUES[col])
    c = data.customers.drop(columns=["name", "email", "phone"])
    for col in ("region", "city_tier", "acquisition_channel"):
        c[col] = c[col].map(_ZH_VALUES[col])
    rng = np.random.default_rng([seed, 156])
    c.insert(c.columns.get_loc("city_tier"), "city",
             [str(rng.choice(_ZH_CITIES[(r, t)])) for r, t in zip(c["region"], c["city_tier"], strict=True)])
    pii = _zh_pii(seed, len(c))
    for i, (k, v) in enumerate(pii.items()):
        c.insert(1 + i, k, v)
    experiments = data.experiments.copy()
    for col in ("experiment_id", "variant"):
        experiments[col] = experiments[col].map(lambda v, col=col: _ZH_VALUES[col].get(v, v))
    exp_truth = {_ZH_VALUES["experiment_id"].get(k, k): v for k, v in data.truth["experiments"].items()}
    truth = {**data.truth, "experiments": exp_truth, "pii_columns": list(pii), "language": "zh-CN",
             "control_variant": "对照组"}
    return DemoData(orders, c, experiments, truth, data.truth_customers)


@dataclass(frozen=True)
class ExperimentSpec:
    """One planted experiment.

    Parameters
    ----------
    experiment_id : str
        Identifier written to the experiments table.
    assign_start : str
        First day of assignment (ISO date); assignment is spread over ``assign_days`` days.
    eligibility : str
        ``"active"`` (a purchase in the 365 days before assignment) or ``"lapsed"`` (no purchase
        in the 90 days before assignment, at least one ever).
    uplift : float
        Probability that a treated customer in the effect group who would not have bought in the
        window buys once more because of the treatment.
    effect_action_group : str, optional
        Only customers in this RFM action group (default rules of :class:`helpers.frame.settings.RfmSettings`,
        computed on the orders before the day of ``assign_start``) respond; ``None`` = everybody.
    """

    experiment_id: str
    assign_start: str
    eligibility: str
    uplift: float
    effect_action_group: str | None = None
    assign_days: int = 7
    window_days: int = 30
    treatment_share: float = 0.5
    max_customers: int = 8000


@dataclass(frozen=True)
class DemoSpec:
    """Generating parameters of the demo data (saved beside it as ``truth.json``).

    Rates are per week. Defaults give about 20,000 customers and 100,000 orders over
    2024-01-01 .. 2026-10-20, an export taken a few weeks after the demo quarter 2026Q3.
    """

    n_customers: int = 20_000
    start: str = "2024-01-01"
    end: str = "2026-10-20"
    seed: int = 20260930
    r: float = 0.75
    alpha: float = 6.0
    a: float = 0.8
    b: float = 4.0
    p_spend: float = 6.0
    q_spend: float = 4.0
    gamma_spend: float = 120.0
    acquisition_growth: float = 1.4
    share_never_ordered: float = 0.03
    share_duplicate_lines: float = 0.003
    share_null_customer: float = 0.002
    share_zero_amount: float = 0.001
    share_refunded: float = 0.02
    share_cancelled: float = 0.012
    n_impossible_dates: int = 6
    n_unknown_customers: int = 15
    language: str = "en"
    experiments: tuple[ExperimentSpec, ...] = field(default_factory=lambda: (
        ExperimentSpec("EXP-01-free-shipping", "2026-08-03", "active", uplift=0.06),
        ExperimentSpec("EXP-02-winback-coupon", "2026-06-15", "lapsed", uplift=0.15,
                       effect_action_group="Win back"),
    ))


@dataclass
class DemoData:
    """The generated tables plus the truth needed by tests."""

    orders: pd.DataFrame
    customers: pd.DataFrame
    experiments: pd.DataFrame
    truth: dict
    truth_customers: pd.DataFrame


def seasonal_factor(ts: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Multiplicative purchase-rate factor of the demo calendar (peak 2.5).

    Parameters
    ----------
    ts : DatetimeIndex or Series of datetimes

    Returns
    -------
    numpy.ndarray
        1.0 on ordinary days; 1.8 from 1 to 18 June (618), 2.5 from 1 to 11 November (Singles'
        Day), 1.6 from 12 to 31 December, 0.7 in February (Spring Festival).
    """
    ts = pd.DatetimeIndex(ts)
    month, day = ts.month.to_numpy(), ts.day.to_numpy()
    f = np.ones(len(ts))
    f[(month == 6) & (day <= 18)] = 1.8
    f[(month == 11) & (day <= 11)] = 2.5
    f[(month == 12) & (day >= 12)] = 1.6
    f[month == 2] = 0.7
    return f


_SEASON_MAX = 2.5


_WEEK = pd.Timedelta(days=7)


def _group_rank(keys: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal (sorted) keys."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run_start


def _draw_orders(spec: DemoSpec, rng: np.random.Generator, n: int):
    start, end = pd.Timestamp(spec.start), pd.Timestamp(spec.end)
    horizon_w = (end - start) / _WEEK
    # acquisition (first purchase) skewed late: a growing business
    t0_w = horizon_w * rng.beta(spec.acquisition_growth, 1.0, size=n)
    lam = rng.gamma(spec.r, 1.0 / spec.alpha, size=n)
    p_drop = rng.beta(spec.a, spec.b, size=n)
    nu = rng.gamma(spec.q_spend, 1.0 / spec.gamma_spend, size=n)
    # BG/NBD: a customer can drop out only right after a repeat purchase, so the number of repeat
    # purchases they would make with unlimited time is Geometric(p) on {1, 2, ...}
    k_repeat = rng.geometric(p_drop)
    # candidate events of a homogeneous process at the peak rate, thinned by the calendar
    h = horizon_w - t0_w
    n_cand = rng.poisson(lam * _SEASON_MAX * h)
    cust = np.repeat(np.arange(n), n_cand)
    t_cand = t0_w[cust] + rng.random(len(cust)) * h[cust]
    accept = rng.random(len(cust)) < seasonal_factor(start + pd.to_timedelta(t_cand * 7, "D")) / _SEASON_MAX
    cust, t_cand = cust[accept], t_cand[accept]
    order = np.lexsort((t_cand, cust))
    cust, t_cand = cust[order], t_cand[order]
    keep = _group_rank(cust) < k_repeat[cust]
    cust, t_rep = cust[keep], t_cand[keep]
    # alive at the end of the export: did not drop out after the last purchase
    n_rep = np.bincount(cust, minlength=n)
    alive_end = n_rep < k_repeat
    all_cust = np.r_[np.arange(n), cust]
    all_t = np.r_[t0_w, t_rep]
    latent = pd.DataFrame({"lambda_per_week": lam, "p_dropout": p_drop, "nu_spend": nu,
                           "first_purchase_week": t0_w, "alive_at_end": alive_end,
                           "repeat_purchases": n_rep})
    return all_cust, all_t, latent


def _names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sur = rng.choice(_SURNAMES, n)
    giv = rng.choice(_GIVEN, n)
    num = rng.integers(100, 99999, n)
    names = np.char.add(np.char.add(giv.astype(str), " "), sur.astype(str))
    emails = np.array([f"{g.lower()}.{s.lower()}{k}@example.com" for g, s, k in zip(giv, sur, num, strict=True)])
    phones = np.array([f"+86 1{rng_d:02d} {a:04d} {b:04d}" for rng_d, a, b in zip(
        rng.integers(30, 99, n), rng.integers(0, 10000, n), rng.integers(0, 10000, n), strict=True)])
    return names, emails, phones


def generate_demo(spec: DemoSpec | None = None) -> DemoData:
    """Generate the demo CRM export.

    Parameters
    ----------
    spec : DemoSpec, optional
        Generating parameters; defaults to :class:`DemoSpec()`.

    Returns
    -------
    DemoData
        ``orders`` (customer_id, order_id, order_ts, amount, quantity, category, channel, status,
        discount), ``customers`` (with PII), ``experiments`` (experiment_id, customer_id, variant,
        assigned_at), ``truth`` (generating parameters and the experiments' true effects) and
        ``truth_customers`` (latent rate, dropout probability, spend scale, alive flag).
    """
    spec = spec or DemoSpec()
    rng = np.random.default_rng(spec.seed)
    n = spec.n_customers
    start, end = pd.Timestamp(spec.start), pd.Timestamp(spec.end)
    ids = np.array([f"C{i:06d}" for i in range(1, n + 1)])

    cust_idx, t_w, latent = _draw_orders(spec, rng, n)
    # order timestamps: day plus a time of day between 08:00 and 23:00 (seconds resolution)
    days = np.floor(t_w * 7)
    secs = rng.integers(8 * 3600, 23 * 3600, len(days))
    ts = start + pd.to_timedelta(days, "D") + pd.to_timedelta(secs, "s")
    nu = latent["nu_spend"].to_numpy()
    amount = np.round(rng.gamma(spec.p_spend, 1.0 / nu[cust_idx]), 2)
    amount = np.maximum(amount, 1.0)

    fav_cat = rng.integers(0, len(_CATEGORIES), n)
    cat_idx = np.where(rng.random(len(cust_idx)) < 0.6, fav_cat[cust_idx],
                       rng.integers(0, len(_CATEGORIES), len(cust_idx)))
    app_pref = rng.beta(2, 2, n)
    chan_idx = np.where(rng.random(len(cust_idx)) < app_pref[cust_idx], 0,
                        rng.integers(1, len(_CHANNELS), len(cust_idx)))
    promo = seasonal_factor(ts) > 1.5
    disc_share = np.where(promo, 0.45, 0.1)
    discount = np.where(rng.random(len(ts)) < disc_share, np.round(amount * 0.1, 2), 0.0)
    quantity = 1 + rng.poisson(amount / 250.0)

    orders = pd.DataFrame({
        "customer_id": ids[cust_idx], "order_ts": ts, "amount": amount,
        "quantity": quantity.astype("int64"), "category": np.array(_CATEGORIES)[cat_idx],
        "channel": np.array(_CHANNELS)[chan_idx], "discount": discount,
        "status": "completed",
    }).sort_values(["order_ts", "customer_id"], kind="stable").reset_index(drop=True)
    orders.insert(1, "order_id", [f"O{i:07d}" for i in range(1, len(orders) + 1)])

    # customers table (with PII), attributes, signup a little before the first purchase
    names, emails, phones = _names(rng, n)
    first_ts = start + pd.to_timedelta(latent["first_purchase_week"].to_numpy() * 7, "D")
    signup = (first_ts - pd.to_timedelta(rng.exponential(20.0, n), "D")).normalize()
    customers = pd.DataFrame({
        "customer_id": ids, "name": names, "email": emails, "phone": phones,
        "signup_date": signup, "region": rng.choice(_REGIONS, n, p=_REGION_P),
        "city_tier": rng.choice(_CITY_TIERS, n, p=[0.3, 0.4, 0.3]),
        "acquisition_channel": rng.choice(_ACQ, n, p=_ACQ_P),
    })
    # a few registered customers never ordered: drop their orders
    never = rng.random(n) < spec.share_never_ordered
    orders = orders[~orders["customer_id"].isin(ids[never])].reset_index(drop=True)

    experiments, exp_truth, orders = _plant_experiments(spec, rng, orders, nu, ids)
    orders = _add_dirt(spec, rng, orders, end)

    truth_customers = latent.assign(customer_id=ids, never_ordered=never)
    truth = {
        "spec": {k: v for k, v in asdict(spec).items() if k not in ("experiments", "language")},
        "bgnbd_weekly": {"r": spec.r, "alpha": spec.alpha, "a": spec.a, "b": spec.b},
        "gamma_gamma": {"p": spec.p_spend, "q": spec.q_spend, "gamma": spec.gamma_spend},
        "seasonality": "see helpers.demo.generator.seasonal_factor (peak 2.5, Singles' Day)",
        "experiments": exp_truth,
        "demo_quarter": "2026Q3",
        "pii_columns": ["name", "email", "phone"],
    }
    data = DemoData(orders, customers, experiments, truth, truth_customers)
    if spec.language == "zh-CN":
        return to_chinese(data, spec.seed)
    if spec.language != "en":
        raise ValueError(f"demo data language {spec.language!r} is not en or zh-CN")
    return data


def _sample_ate(po: tuple[np.ndarray, ...], mask: np.ndarray) -> dict:
    """Sample average treatment effects from both potential outcomes of every customer in ``mask``."""
    y0c, y1c, y0r, y1r = po
    if not mask.any():
        return {"n": 0, "conversion": None, "revenue_per_customer": None, "control_conversion": None}
    return {"n": int(mask.sum()), "conversion": float((y1c - y0c)[mask].mean()),
            "revenue_per_customer": float((y1r - y0r)[mask].mean()),
            "control_conversion": float(y0c[mask].mean())}


def _plant_experiments(spec: DemoSpec, rng: np.random.Generator, orders: pd.DataFrame,
                       nu: np.ndarray, ids: np.ndarray):
    """Assign customers, simulate both potential outcomes, add the treatment's extra orders."""
    exp_rows, truth, extra = [], {}, []
    id_to_idx = pd.Series(np.arange(len(ids)), index=ids)
    next_order = len(orders) + 1
    for ex in spec.experiments:
        a0 = pd.Timestamp(ex.assign_start)
        before = orders[orders["order_ts"] < a0]
        g = before.groupby("customer_id")["order_ts"]
        last = g.max()
        group_of = pd.Series(dtype=str)
        if ex.effect_action_group:
            from helpers.frame.settings import defaults
            from helpers.segments.data import customer_summary
            from helpers.segments.model import segment_of
            seg = segment_of(customer_summary(before[["customer_id", "order_ts", "amount"]],
                                              a0 - pd.Timedelta(days=1)), defaults().rfm)
            group_of = seg.set_index("customer_id")["action_group"].astype(str)
        if ex.eligibility == "active":
            elig = last[last >= a0 - pd.Timedelta(days=365)].index.to_numpy()
        else:
            elig = last[last < a0 - pd.Timedelta(days=90)].index.to_numpy()
        elig = np.sort(elig)
        if len(elig) > ex.max_customers:
            elig = np.sort(rng.choice(elig, ex.max_customers, replace=False))
        m = len(elig)
        treated = rng.random(m) < ex.treatment_share
        assigned = a0 + pd.to_timedelta(rng.integers(0, ex.assign_days * 86400, m), "s")
        win_end = assigned + pd.Timedelta(days=ex.window_days)
        # baseline (control potential outcome) from the simulated orders in the window
        w = orders.merge(pd.DataFrame({"customer_id": elig, "a": assigned, "e": win_end}), on="customer_id")
        w = w[(w["order_ts"] > w["a"]) & (w["order_ts"] <= w["e"])]
        base_rev = w.groupby("customer_id")["amount"].sum().reindex(elig, fill_value=0.0).to_numpy()
        base_conv = base_rev > 0
        in_group = (group_of.reindex(elig).to_numpy() == ex.effect_action_group) if ex.effect_action_group \
            else np.ones(m, bool)
        respond = (~base_conv) & in_group & (rng.random(m) < ex.uplift)
        extra_amt = np.round(np.maximum(rng.gamma(spec.p_spend, 1.0 / nu[id_to_idx[elig].to_numpy()]), 1.0), 2)
        extra_ts = assigned + pd.to_timedelta(rng.integers(3600, ex.window_days * 86400 - 3600, m), "s")
        add = treated & respond
        # potential outcomes: treated outcome = baseline + response for everyone
        y0c, y1c = base_conv.astype(float), (base_conv | respond).astype(float)
        y0r, y1r = base_rev, base_rev + np.where(respond, extra_amt, 0.0)
        po = (y0c, y1c, y0r, y1r)
        truth[ex.experiment_id] = {
            **asdict(ex), "eligible": m, "treated": int(treated.sum()),
            "sample_ate": _sample_ate(po, np.ones(m, bool)),
            "sample_ate_effect_group": _sample_ate(po, in_group),
            "sample_ate_outside_effect_group": _sample_ate(po, ~in_group),
            "effect_group_rule": (f"action group {ex.effect_action_group!r} on the day before assignment "
                                  "(default RFM rules)" if ex.effect_action_group else "everybody"),
        }
        exp_rows.append(pd.DataFrame({
            "experiment_id": ex.experiment_id, "customer_id": elig,
            "variant": np.where(treated, "treatment", "control"), "assigned_at": assigned,
            "_effect_group": in_group,
        }))
        k = int(add.sum())
        if k:
            extra.append(pd.DataFrame({
                "customer_id": elig[add],
                "order_id": [f"O{i:07d}" for i in range(next_order, next_order + k)],
                "order_ts": extra_ts[add].floor("s"), "amount": extra_amt[add],
                "quantity": 1, "category": rng.choice(_CATEGORIES, k), "channel": "app",
                "discount": 0.0, "status": "completed",
            }))
            next_order += k
    experiments = pd.concat(exp_rows, ignore_index=True)
    if extra:
        orders = pd.concat([orders, *extra], ignore_index=True)
    orders = orders.sort_values(["order_ts", "order_id"], kind="stable").reset_index(drop=True)
    return experiments, truth, orders


def _add_dirt(spec: DemoSpec, rng: np.random.Generator, orders: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Add the dirty rows that validation must find (documented in the module docstring)."""
    n = len(orders)
    orders = orders.copy()
    orders["customer_id"] = orders["customer_id"].astype(object)
    # refunds: a negative line on the same order id, 2-20 days later, full or half
    ref = rng.random(n) < spec.share_refunded
    refunds = orders[ref].copy()
    frac = np.where(rng.random(len(refunds)) < 0.7, 1.0, 0.5)
    refunds["amount"] = -np.round(refunds["amount"].to_numpy() * frac, 2)
    refunds["order_ts"] = refunds["order_ts"] + pd.to_timedelta(rng.integers(2, 21, len(refunds)), "D")
    refunds["status"] = "refunded"
    refunds["quantity"] = 0
    refunds = refunds[refunds["order_ts"] <= end]
    # cancelled orders (status only; amount positive)
    canc = rng.random(n) < spec.share_cancelled
    orders.loc[canc & ~ref, "status"] = "cancelled"
    # zero amounts
    zero = rng.random(n) < spec.share_zero_amount
    orders.loc[zero, "amount"] = 0.0
    # null customer ids
    nul = rng.random(n) < spec.share_null_customer
    orders.loc[nul, "customer_id"] = None
    # exact duplicate lines (an export that joined twice)
    dup = orders[rng.random(n) < spec.share_duplicate_lines]
    # impossible dates
    bad = orders.sample(spec.n_impossible_dates, random_state=int(rng.integers(1 << 31))).copy()
    bad["order_ts"] = [pd.Timestamp("1900-01-01"), pd.Timestamp("2099-12-31")] * (len(bad) // 2) + \
        [pd.Timestamp("1900-01-01")] * (len(bad) % 2)
    bad["order_id"] = [f"X{i:06d}" for i in range(len(bad))]
    # orders of customers that the customers table does not know
    unk = orders.sample(spec.n_unknown_customers, random_state=int(rng.integers(1 << 31))).copy()
    unk["customer_id"] = [f"U{i:06d}" for i in range(len(unk))]
    unk["order_id"] = [f"Y{i:06d}" for i in range(len(unk))]
    out = pd.concat([orders, refunds, dup, bad, unk], ignore_index=True)
    out = out.sort_values(["order_ts", "order_id"], kind="stable").reset_index(drop=True)
    out["customer_id"] = out["customer_id"].astype("string")
    return out


def write_demo(out_dir: str | Path, spec: DemoSpec | None = None, overwrite: bool = False) -> Path:
    """Generate the demo data and write it to ``out_dir`` as Parquet plus ``truth.json``.

    Parameters
    ----------
    out_dir : str or Path
        Target folder (created).
    spec : DemoSpec, optional
    overwrite : bool
        Regenerate even when all files exist.

    Returns
    -------
    Path
        The folder written.
    """
    out = Path(out_dir)
    if not overwrite and all((out / f).exists() for f in DEMO_FILES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    d = generate_demo(spec)
    d.orders.to_parquet(out / "orders.parquet", index=False)
    d.customers.to_parquet(out / "customers.parquet", index=False)
    d.experiments.drop(columns="_effect_group").to_parquet(out / "experiments.parquet", index=False)
    d.truth_customers.merge(
        d.experiments.pivot_table(index="customer_id", columns="experiment_id", values="_effect_group",
                                  aggfunc="first").add_prefix("effect_group_").reset_index(),
        on="customer_id", how="left").to_parquet(out / "truth_customers.parquet", index=False)
    (out / "truth.json").write_text(json.dumps(d.truth, indent=2, default=str) + "\n")
    return out
