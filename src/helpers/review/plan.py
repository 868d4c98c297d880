"""The plan per action group: who, the evidence, what to do, its expected value, a holdout and a contact list.

Built from this quarter's evidence only (the other steps' summaries, the joined customer tables and
the history of :mod:`helpers.review.history`). The rules that turn the evidence into an action,
applied in this order (README "The plan"):

1. **Start** from the action group's action in the parameters (``rfm.action_groups``).
2. **The offer**: unless the group takes no paid offers (``rfm.action_groups[].paid_offers: false``: its
   own action stays, and the plan says which treatment it leaves out), a treatment whose decision ships it
   to this group (to everyone, or a targeted
   decision naming the group) and whose effect in the group is positive is recommended there, at its own
   cost per treated customer (``ab.cost_per_treated``; unknown when not set, and the page says so); else
   the group's own offer at ``review.plan.offer_cost`` with an assumed lift (``mde_points``). A treatment
   that significantly lowered the primary metric in this group is ruled out there.
3. **Cost, per customer**: no costly offer to a customer whose predicted value (over the CLV horizon) at the
   gross margin (``review.plan.gross_margin``) is below the offer's cost: low-cost contact only. Without
   predicted value the rule cannot be checked, and the page says so.
4. **Break-even**: the offer pays when lift x the offered customers' average order x gross margin covers its
   cost; when it does not, nobody gets it this quarter and the break-even cost is given.
5. **Urgency**: when more than ``review.plan.high_risk_share`` of the group's active customers are at high
   churn risk, the plan says to act this quarter.
6. **Holdout**: every plan keeps a random control group (seeded by ``seed``) among the customers who get the
   offer, the smallest that detects the lift the plan counts on (the recommended experiment's; else the
   assumed ``review.plan.mde_points``) in the share of the group buying next quarter with
   ``review.plan.power`` at ``review.plan.alpha``, at most ``review.plan.max_holdout_share`` of those
   customers (the page says when that is too few) (baseline: the share of the group, as it
   stood at the previous quarter's end, that bought this quarter). It is written to its own file
   (``exports/<group>-holdout.csv``, not to be contacted). Next quarter's experiments table brings it back
   as experiment ``<ab.plan_prefix>-<quarter>-<group>`` and the review reads it out.

**Expected profit** (stated in a sentence with its assumptions): customers who get the offer x lift x their
average order x gross margin - those customers x the offer's cost; with a measured lift, also at the two ends
of the lift's interval (:func:`profit_range`), so that an offer that may lose money says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from helpers.frame.settings import AbSettings, PlanSettings, RfmSettings
from helpers.locale import (
    fmt_clauses,
    fmt_int,
    fmt_list,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_points,
    fmt_quarter,
    language,
    ntr,
    tr,
)
from helpers.review import inputs
from helpers.review.history import History
from helpers.review.model import detectable_lift, holdout_size

__all__ = ["PlanResult", "build_plan", "contact_list_name", "holdout_list_name", "plan_table", "plan_markdown",
           "readouts", "readout_table", "retention_counts"]


def contact_list_name(group: str) -> str:
    """The contact list's file name inside ``exports/``: the group's name, lower case, spaces to dashes
    (``Win back`` -> ``win-back.csv``); letters of any script are kept, other signs dropped."""
    slug = re.sub(r"[^\w]+", "-", group.strip().lower(), flags=re.UNICODE).strip("-")
    return f"{slug or 'group'}.csv"


RETENTION_LIST = "retention-priority.csv"


def holdout_list_name(group: str) -> str:
    """The holdout's file name inside ``exports/``: ``Win back`` -> ``win-back-holdout.csv`` (do not contact)."""
    return contact_list_name(group)[:-4] + "-holdout.csv"


def _same_ids(a: pd.Series, b: pd.Series) -> bool:
    """Whether two id columns hold the same ids in the same order (compared as text, by Arrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if len(a) != len(b):
        return False
    x, y = (pa.Array.from_pandas(v.astype(str)).cast(pa.large_string()) for v in (a, b))
    return bool(pc.all(pc.equal(x, y)).as_py()) if len(a) and not (x.null_count or y.null_count) else \
        np.array_equal(a.astype(str).to_numpy(), b.astype(str).to_numpy())


@dataclass
class PlanResult:
    """The plan: one entry per action group (``entries``, for ``review.json``) and the contact lists."""

    entries: list[dict]
    contacts: dict[str, pd.DataFrame]
    notes: list[str]


def _group_experiments(ab: dict | None, group: str, segments: list[str], alpha: float) -> list[dict]:
    """Results of this quarter's experiments in a group (rows of ab.json's per-segment tables)."""
    out = []
    for e in inputs.ab_experiments(ab).values():
        for row in e.get("segments") or []:
            seg = str(row.get("segment"))
            if seg != group and seg not in segments:
                continue
            if row.get("diff") is None:
                continue
            everyone = e["decision"] == "Ship"
            ships = everyone or (e["decision"] == "Ship to segments" and seg in e.get("ship_to", []))
            overall = (e.get("effects") or [{}])[0]
            # shipped to everyone: the effect is similar across segments, so the pooled estimate is the
            # group's best estimate; targeted: the segment's own estimate
            lift = overall.get("diff") if everyone else row["diff"]
            out.append({"experiment": e["experiment_id"], "where": seg, "diff": row["diff"], "lift": lift,
                        "overall": overall.get("diff"), "overall_low": overall.get("ci_low"),
                        "overall_high": overall.get("ci_high"), "window_days": ab.get("window_days"),
                        "interaction_p": (e.get("interaction") or {}).get("p_value"),
                        "ci_low": row["ci_low"], "ci_high": row["ci_high"], "p_bh": row.get("p_bh"),
                        "significant": bool(row.get("significant")), "decision": e["decision"],
                        "decision_label": e.get("decision_label", e["decision"]),
                        "recommended": bool(ships and lift is not None and lift > 0),
                        "ruled_out": bool(row.get("significant") and row["diff"] < 0),
                        "metric": (e.get("effects") or [{}])[0].get("metric", "conversion")})
    return out


def build_plan(scores: pd.DataFrame | None, history: History, rfm_json: dict | None, clv: dict | None,
               churn: dict | None, ab: dict | None, rfm: RfmSettings, plan: PlanSettings, ab_settings: AbSettings,
               seed: int, quarter: str, currency: str) -> PlanResult:
    """The plan per action group (rules in the module docstring).

    Parameters
    ----------
    scores : DataFrame or None
        The joined per-customer tables (``Catalog.customer_scores()``): ``rfm_segment``, ``action_group``,
        ``revenue``, ``average_order_value`` and, when those steps ran, the predicted value and the churn tier.
    history : History
        From :func:`helpers.review.history.build_history`.
    """
    notes: list[str] = []
    if scores is None or "action_group" not in scores:
        return PlanResult([], {}, [tr("No plan: the segments step did not run, so there are no action groups.")])
    vcol = inputs.value_column(scores)
    h_months = inputs.clv_horizon(clv)
    actions = {g["name"]: g["action"] for g in inputs.rfm_action_groups(rfm_json)}
    cur = history.current
    # the stage of each scored customer: both tables are sorted by customer id (one join when they differ)
    ids = scores["customer_id"].astype(str).to_numpy()
    if len(ids) == len(cur) and _same_ids(scores["customer_id"], cur["customer_id"]):
        stage_of = cur["stage"].astype(str).to_numpy()
    else:
        stage_of = (pd.DataFrame({"customer_id": ids}).merge(cur[["customer_id", "stage"]], on="customer_id",
                                                             how="left")["stage"].astype(str).to_numpy())
    retention = cur.groupby("previous_group")["bought_this_quarter"].mean()
    group_codes, group_names = pd.factorize(scores["action_group"].astype(str))
    group_names = list(group_names)
    segment_col = scores["rfm_segment"].astype(str).to_numpy()
    # the columns the plan reads, selected once (each group's rows are then taken from these only), and the
    # contact lists' text columns as Arrow-backed text (taken per group without converting millions of strings)
    used = scores[[c for c in dict.fromkeys((vcol, "churn_tier", "average_order_value", "retention_priority",
                                             "churn_probability", "revenue")) if c is not None and c in scores]]
    id_text = scores["customer_id"].astype(str).array
    segment_text = scores["rfm_segment"].astype(str).array
    # the stage as the pages and the glossary name it: "established" (the code "active" would read as the KPI's
    # active customers, which include the new ones)
    stage_text = pd.array(np.where(stage_of == "active", "established", stage_of), dtype="str")
    groups_trend = history.groups
    entries, contacts = [], {}
    retention_rows: list[pd.DataFrame] = []
    for gi, g in enumerate(rfm.action_groups):
        in_group = group_codes == (group_names.index(g.name) if g.name in group_names else -2)
        mine = used[in_group]
        mine_seg = segment_col[in_group]
        n = len(mine)
        if n == 0:
            continue
        segs = [s for s in g.segments if (mine_seg == s).any()]
        value_per = {s: float(mine[vcol].to_numpy()[mine_seg == s].mean()) if vcol else None for s in segs}
        hi = (mine["churn_tier"].astype(str) == "high") if "churn_tier" in mine else None
        baseline = float(retention.get(g.name, float("nan")))
        change = None
        if len(groups_trend) >= 2:
            change = int(groups_trend[g.name].iloc[-1] - groups_trend[g.name].iloc[-2])
        exps = _group_experiments(ab, g.name, g.segments, ab_settings.alpha)
        cost = plan.offer_cost.get(g.name)
        aov = float(mine["average_order_value"].mean()) if "average_order_value" in mine else float("nan")
        rules: list[str] = []
        rec = [e for e in exps if e["recommended"]]
        if rec and not g.paid_offers:
            # the group's policy (rfm.action_groups[].paid_offers: false) keeps experiments' paid treatments out of it:
            # the evidence is said, the group keeps its own action
            for e in rec:
                rules.append(tr("Not sent here: the treatment of {experiment} ({decision}; it lifted conversion by "
                                "{effect}). This group takes no paid offers (its action group's setting), so it keeps "
                                "its own action; allow paid offers for the group to have the plan weigh that "
                                "treatment's cost against its lift.",
                                experiment=e["experiment"], decision=e["decision_label"],
                                effect=fmt_points(e["lift"])))
            rec = []
        out_ = [e for e in exps if e["ruled_out"]]
        # of the treatments recommended here, the one with the highest expected profit per customer (lift x the
        # group's average order x gross margin - its cost); treatments without a cost after those with one
        def _profit(e: dict, aov: float = aov) -> tuple[int, float]:
            c = ab_settings.cost_per_treated.get(e["experiment"])
            gain = e["lift"] * aov * plan.gross_margin if np.isfinite(aov) else e["lift"]
            return (0, -(gain - c)) if c is not None else (1, -e["lift"])
        rec = sorted(rec, key=_profit)
        for e in rec[:1]:
            if e["decision"] == "Ship":
                # the chain-wide lift is the one counted on here; the group's own estimate is quoted beside it
                # with the reason (the segments did not differ beyond chance; the group's own rests on fewer customers)
                covers = (e["overall"] is not None and e["ci_low"] is not None and e["ci_high"] is not None
                          and e["ci_low"] <= e["overall"] <= e["ci_high"])
                p_text = (tr(" (treatment x segment test p = {p})", p=fmt_number(e["interaction_p"], 2))
                          if e.get("interaction_p") is not None else "")
                rules.append((tr("Use the treatment of {experiment} ({decision}): it lifted conversion by {effect} "
                                 "({low} to {high}) over all its customers, and the effect did not differ between "
                                 "segments beyond chance{test}, so the plan counts on that lift here. {where}'s own "
                                 "estimate, {seg} ({slow} to {shigh}), rests on its customers alone and its interval "
                                 "includes that lift.") if covers else
                              tr("Use the treatment of {experiment} ({decision}): it lifted conversion by {effect} "
                                 "({low} to {high}) over all its customers, and the effect did not differ between "
                                 "segments beyond chance{test}, so the plan counts on that lift here. {where}'s own "
                                 "estimate is {seg} ({slow} to {shigh}), on its customers alone.")).format(
                    experiment=e["experiment"], decision=e["decision_label"], effect=fmt_points(e["overall"]),
                    low=fmt_points(e["overall_low"]), high=fmt_points(e["overall_high"]), test=p_text,
                    where=e["where"], seg=fmt_points(e["diff"]), slow=fmt_points(e["ci_low"]),
                    shigh=fmt_points(e["ci_high"])))
            else:
                rules.append(tr("Use the treatment of {experiment} ({decision}): it lifted conversion by {effect} "
                                "({low} to {high}) in {where}, and not elsewhere.", experiment=e["experiment"],
                                decision=e["decision_label"], effect=fmt_points(e["diff"]),
                                low=fmt_points(e["ci_low"]), high=fmt_points(e["ci_high"]), where=e["where"]))
        for e in out_:
            rules.append(tr("Do not use the treatment of {experiment} here: it lowered {metric} by {effect} in "
                            "{where}.",
                            experiment=e["experiment"], metric=tr("conversion"), effect=fmt_points(e["diff"]),
                            where=e["where"]))
        # the offer: a recommended experiment's treatment (its measured lift, its own cost per treated customer
        # from ab.cost_per_treated), else the group's own offer (review.plan.offer_cost, an assumed lift)
        margin = plan.gross_margin
        if rec:
            lift, lift_from = rec[0]["lift"], rec[0]["experiment"]
            cost = ab_settings.cost_per_treated.get(lift_from)
            if cost is None:
                rules.append(tr("The cost of treating a customer with {experiment}'s treatment is not set "
                                "({param}), so its profit cannot be checked; set it before sending it to the whole "
                                "group.",
                                experiment=lift_from, param="ab.cost_per_treated"))
        else:
            lift, lift_from = plan.mde_points, None
            if cost is None:
                rules.append(tr("No offer cost is set for {group} (review.plan.offer_cost), so the value of the offer "
                                "cannot be checked against it.", group=g.name))
        # no costly offer to a customer whose predicted value, at the gross margin, is below the offer's cost
        vals = mine[vcol].to_numpy(dtype=float) if vcol else None
        if cost is not None and vals is None:
            rules.append(tr("The predicted value is not available, so the offer's cost ({cost}) cannot be checked "
                            "against what these customers are worth.", cost=fmt_money(cost, currency)))
        worth = (vals * margin >= cost) if (cost is not None and vals is not None) else np.ones(n, bool)
        below = {s: int(((mine_seg == s) & ~worth).sum()) for s in segs}
        cheap = [s for s in segs if below[s] and below[s] == int((mine_seg == s).sum())]
        if cost is not None and vals is not None and (~worth).any():
            rules.append(ntr("The offer is not sent to the {n} customer ({detail}) whose predicted {h}-month value "
                             "at a {margin} gross margin is below its cost of {cost} per customer (a predicted value "
                             "under {floor}); they get low-cost contact only.",
                             "The offer is not sent to the {n} customers ({detail}) whose predicted {h}-month value "
                             "at a {margin} gross margin is below its cost of {cost} per customer (a predicted value "
                             "under {floor}); they get low-cost contact only.", int((~worth).sum()),
                             detail=fmt_list(f"{s} {fmt_int(c)}" for s, c in below.items() if c), h=h_months,
                             margin=fmt_pct(margin), cost=fmt_money(cost, currency, 2),
                             floor=fmt_money(cost / margin, currency, 2)))
        aov_all = mine["average_order_value"].to_numpy(dtype=float) if "average_order_value" in mine else None
        aov_of = aov_all[worth] if aov_all is not None and worth.any() else aov_all
        aov = float(np.nanmean(aov_of)) if aov_of is not None and np.isfinite(aov_of).any() else float("nan")
        # gross profit an offered customer brings: the lift x one average order x the gross margin
        per_customer = lift * aov * margin
        # an unknown average order (no order amounts for these customers) leaves the break-even unknown: the
        # offer is not held back on a number nobody has, and the page says its profit cannot be checked
        aov_unknown = not np.isfinite(per_customer)
        pays = cost is None or aov_unknown or per_customer >= cost
        if aov_unknown and cost is not None:
            rules.append(tr("The average order of these customers is not known, so the offer's profit cannot be "
                            "checked against its cost of {cost} per customer; check it before sending the offer to "
                            "the whole group.", cost=fmt_money(cost, currency, 2)))
        if not pays:
            rules.append(tr("At {cost} per customer the offer does not pay for itself on the lift {source}: it breaks "
                            "even at {breakeven} per customer (lift x average order x gross margin). Do not send it "
                            "this quarter; low-cost contact only, and look for an offer that costs less than "
                            "{breakeven}.", cost=fmt_money(cost, currency, 2),
                            source=(tr("measured by {experiment}", experiment=lift_from) if lift_from else
                                    tr("assumed below")),
                            breakeven=fmt_money(per_customer, currency, 2)))
        eligible = int(worth.sum())
        worth_value = worth   # who is worth the offer by predicted value, before the group's break-even
        if not pays:
            worth = np.zeros(n, bool)
        # a share of the group's active (scored) customers, as on the churn page: one meaning of "at high risk"
        scored = mine["churn_tier"].astype(str).isin(["high", "medium", "low"]) if hi is not None else None
        high_share = float(hi.sum() / scored.sum()) if hi is not None and scored.sum() else None
        if high_share is not None and high_share > plan.high_risk_share:
            rules.append(tr("Act this quarter: {share} of the group's active customers are at high risk of not buying "
                            "in the next {days} days.", share=fmt_pct(high_share), days=inputs.churn_horizon(churn)))
        offered = worth
        treated_pool = int(offered.sum())
        p0 = baseline if np.isfinite(baseline) else 0.5
        # the holdout is sized to detect the lift the plan counts on (an experiment's measured lift), else the
        # assumed one (review.plan.mde_points): a holdout that cannot see the planned lift cannot confirm it
        target = lift if lift_from and lift > 0 else plan.mde_points
        h_size, powered = holdout_size(treated_pool, p0, target, plan.alpha, plan.power, plan.min_holdout,
                                       plan.max_holdout_share) if treated_pool >= 2 else (0, False)
        # the holdout is drawn from the customers who get the offer (seeded), by customer id order
        rng = np.random.default_rng([seed, gi])
        # positions of the offered customers in customer-id order (the joined tables are sorted by id)
        pool = np.flatnonzero(offered)
        gid = ids[in_group]
        if len(pool) > 1 and not (gid[pool][1:] >= gid[pool][:-1]).all():
            pool = pool[np.argsort(gid[pool], kind="stable")]
        hold = np.zeros(n, bool)
        if h_size:
            hold[pool[rng.choice(len(pool), size=min(h_size, len(pool)), replace=False)]] = True
        treated = treated_pool - int(hold.sum())
        ev_cost = treated * cost if cost is not None else None
        ev_gross = treated * per_customer
        ev = {"treated": treated, "lift": lift, "lift_from": lift_from, "average_order_value": aov,
              "gross_margin": margin, "offer_cost": cost, "gross": None if aov_unknown else ev_gross, "cost": ev_cost,
              "net": ev_gross - ev_cost if ev_cost is not None and not aov_unknown else None, "pays": bool(pays),
              "breakeven_cost": per_customer, "low_cost_contacts": int(n - treated_pool)}
        action = _action_words(actions.get(g.name, g.action), g.offer, lift_from, cost, treated, currency)
        cur_code = currency
        pooled = bool(rec) and rec[0]["decision"] == "Ship"
        own = rec[0] if rec else None
        how = (tr("the lift {experiment} measured over all its customers, counted on rather than this group's own "
                  "{own} ({low} to {high}) since the effect did not differ between segments beyond chance",
                  experiment=lift_from, own=fmt_points(own["diff"]), low=fmt_points(own["ci_low"]),
                  high=fmt_points(own["ci_high"])) if lift_from and pooled else
               tr("measured by {experiment} in this group", experiment=lift_from) if lift_from else
               tr("an assumption: the smallest effect the holdout is sized to detect; no experiment has measured it "
                  "here"))
        # the sum written out: whole amounts (a Chinese page would write 1.3万 - 6,138 = 6,412 otherwise)
        money = partial(fmt_money, currency=cur_code, compact=False)
        if not pays:
            ev_sentence = tr("Expected profit if the offer were sent to the {k} customers worth it: {k} x {lift} lift "
                             "({how}) x {aov} average order x {margin} gross margin = {gross}, minus the offer's cost "
                             "{cost} = {net}. So it is not sent.", k=fmt_int(eligible), lift=fmt_points(lift), how=how,
                             aov=money(aov), margin=fmt_pct(margin),
                             gross=money(eligible * per_customer),
                             cost=money(eligible * cost),
                             net=money(eligible * (per_customer - cost)))
        elif treated == 0:
            ev_sentence = tr("Expected profit: none this quarter; no customer of this group gets the offer.")
        elif aov_unknown:
            ev_sentence = tr("Expected profit: unknown; the average order of the {treated} customers who get the "
                             "offer is not known.", treated=fmt_int(treated))
        elif cost is None:
            ev_sentence = tr("Expected gross profit: {treated} customers get the offer x {lift} lift ({how}) x {aov} "
                             "average order x {margin} gross margin = {gross}; its cost is not set, so its profit is "
                             "unknown.", treated=fmt_int(treated), lift=fmt_points(lift), how=how,
                             aov=money(aov), margin=fmt_pct(margin),
                             gross=money(ev_gross))
        else:
            ev_sentence = tr("Expected profit: {treated} customers get the offer x {lift} lift ({how}) x {aov} average "
                             "order x {margin} gross margin = {gross}, minus the offer's cost {cost} = {net}. Assumes "
                             "the lift repeats and each extra buyer places one average order.",
                             treated=fmt_int(treated), lift=fmt_points(lift), how=how,
                             aov=money(aov), margin=fmt_pct(margin),
                             gross=money(ev_gross), cost=money(ev_cost),
                             net=money(ev["net"]))
            band = profit_range(rec[0] if rec else None, treated, aov, margin, cost)
            if band is not None:
                ev["net_low"], ev["net_high"] = band[2], band[3]
                ev_sentence = _sentences(ev_sentence, profit_range_sentence(band, money))
        reach = detectable_lift(treated_pool, h_size, p0, plan.alpha, plan.power)
        hold_sentence = holdout_sentence(treated_pool, h_size, powered, target, bool(lift_from and lift > 0), p0,
                                         plan.power, reach)
        # the churn page's retention list (high risk, top spend to date) inside this group: the same offer rule,
        # and the retention team calls every one of them who is not in the holdout
        rp = (mine["retention_priority"].astype("boolean").fillna(False).to_numpy(dtype=bool)
              if "retention_priority" in mine else None)
        rlist = None
        if rp is not None and rp.any():
            rlist = {"customers": int(rp.sum()), "offer": int((rp & offered & ~hold).sum()),
                     "no_offer": int((rp & ~offered).sum()), "in_holdout": int((rp & hold).sum()),
                     "below_cost": int((rp & ~worth_value).sum()),
                     "offer_not_sent": int((rp & worth_value & ~offered).sum())}
            if not pays:   # nobody gets the offer this quarter: that, not their value, is why they get the call only
                rules.append(tr("{n} of this group's customers are on the churn page's retention list (high churn "
                                "risk, top spend to date): the retention team calls them personally; the offer is not "
                                "sent this quarter (it does not pay for itself), so they get the call only.",
                                n=fmt_int(rlist["customers"])))
            else:
                rules.append(_retention_sentence(rlist))
        fname = contact_list_name(g.name)
        entry = {
            "group": g.name, "segments": segs, "customers": n,
            "revenue_to_date": float(mine["revenue"].sum()) if "revenue" in mine else None,
            "predicted_value": float(mine[vcol].sum()) if vcol else None,
            "value_per_customer": float(mine[vcol].mean()) if vcol else None,
            "value_per_customer_by_segment": value_per, "horizon_months": h_months,
            "high_risk": int(hi.sum()) if hi is not None else None, "high_risk_share": high_share,
            "change_since_last_quarter": change,
            "trend": [int(x) for x in groups_trend[g.name]] if g.name in groups_trend else [],
            "bought_this_quarter_share": baseline if np.isfinite(baseline) else None,
            "experiments": exps, "offer_cost": cost, "action_template": actions.get(g.name, g.action),
            "action": action, "rules": rules, "no_costly_offer": cheap, "below_cost": below,
            "offer_from": lift_from, "offered": treated_pool,
            "expected_value": ev, "expected_value_sentence": ev_sentence,
            "holdout": {"size": h_size, "powered": powered, "baseline_rate": p0, "mde_points": target,
                        "sized_for": "measured lift" if lift_from and lift > 0 else "assumed lift",
                        "alpha": plan.alpha, "power": plan.power, "pool": treated_pool, "detectable_lift": reach,
                        "experiment_id": f"{ab_settings.plan_prefix}-{quarter}-{g.name}"},
            "holdout_sentence": hold_sentence, "contact_list": f"exports/{fname}",
            "holdout_list": f"exports/{holdout_list_name(g.name)}" if h_size else None,
            "retention_list": rlist,
        }
        entries.append(entry)
        c = pd.DataFrame({"customer_id": id_text[in_group], "segment": segment_text[in_group]})
        c["lifecycle_stage"] = stage_text[in_group]
        if vcol:
            c[f"predicted_value_{h_months}m" if h_months else "predicted_value"] = mine[vcol].round(2).to_numpy()
        if "churn_probability" in mine:
            c["churn_risk"] = mine["churn_probability"].round(4).to_numpy()
            c["churn_tier"] = mine["churn_tier"].astype(str).fillna("not active").to_numpy()
        if rp is not None:
            c["retention_priority"] = rp
        # the holdout's rows say so (they were eligible for the offer, and get nothing)
        c["offer"] = np.where(hold, "held out", np.where(offered, "offer", "low-cost only"))
        c["in_holdout"] = hold
        if not c["customer_id"].is_monotonic_increasing:  # sorted already when the joined tables are
            c = c.sort_values("customer_id", kind="stable").reset_index(drop=True)
        # the holdout in its own file: whoever sends the contact list cannot message it by mistake
        contacts[fname] = c[~c["in_holdout"]].reset_index(drop=True)
        if h_size:
            contacts[holdout_list_name(g.name)] = c[c["in_holdout"]].reset_index(drop=True)
        if rp is not None:
            retention_rows.append(c[c["retention_priority"] & ~c["in_holdout"]].assign(action_group=g.name))
    if retention_rows:
        rl = pd.concat(retention_rows).sort_values("customer_id", kind="stable").reset_index(drop=True)
        if len(rl):
            contacts[RETENTION_LIST] = rl.drop(columns=["retention_priority", "in_holdout"])
            listed = sum(e["retention_list"]["customers"] for e in entries if e["retention_list"])
            words = dict(name=RETENTION_LIST, link=f"exports/{RETENTION_LIST}", n=fmt_int(len(rl)),
                         listed=fmt_int(listed), held=fmt_int(listed - len(rl)))
            notes.append(tr("Retention list for the retention team: [{name}]({link}), {n} customers to contact: all "
                            "those at high churn risk with the highest spend to date (the churn page's retention "
                            "priority); none of them is held out as a control group. The column offer says who also "
                            "gets the group's offer.", **words) if listed == len(rl) else
                         tr("Retention list for the retention team: [{name}]({link}), {n} customers to contact: of the "
                            "{listed} at high churn risk with the highest spend to date (the churn page's retention "
                            "priority), {held} are held out as a control group and are not on it. The column offer "
                            "says who also gets the group's offer.", **words))
    return PlanResult(entries, contacts, notes)


def _sentences(*parts: str) -> str:
    """Sentences one after the other as the page's language writes them: a space between English ones,
    none between Chinese ones (which end in a full-width stop)."""
    return ("" if language() != "en" else " ").join(parts)


def profit_range(experiment: dict | None, treated: int, aov: float, margin: float,
                 cost: float) -> tuple[float, float, float, float] | None:
    """The expected profit at the two ends of the counted-on lift's interval.

    ``experiment``: the plan's recommended experiment row (:func:`_group_experiments`): shipped to everyone,
    its pooled interval (``overall_low``, ``overall_high``), else the group's own (``ci_low``, ``ci_high``).
    Returns ``(lift_low, lift_high, net_low, net_high)`` with ``net = treated x (lift x aov x margin - cost)``,
    or None when no experiment measured the lift (an assumed lift has no interval) or a bound is missing.
    """
    if experiment is None:
        return None
    pooled = experiment.get("decision") == "Ship"
    lo, hi = ((experiment.get("overall_low"), experiment.get("overall_high")) if pooled else
              (experiment.get("ci_low"), experiment.get("ci_high")))
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(aov)):
        return None
    return (float(lo), float(hi), treated * (lo * aov * margin - cost), treated * (hi * aov * margin - cost))


def profit_range_sentence(band: tuple[float, float, float, float], money: Callable[[float], str]) -> str:
    """The sentence on :func:`profit_range`: the profit over the lift's interval and what it means."""
    lo, hi, net_lo, net_hi = band
    words = dict(low=fmt_points(lo), high=fmt_points(hi), net_low=money(net_lo), net_high=money(net_hi))
    if net_lo >= 0:
        return tr("Over the lift's interval ({low} to {high}) the profit is {net_low} to {net_high}: the offer pays "
                  "even at the low end.", **words)
    if net_hi <= 0:
        return tr("Over the lift's interval ({low} to {high}) the profit is {net_low} to {net_high}: even at the "
                  "high end the offer does not pay.", **words)
    return tr("Over the lift's interval ({low} to {high}) the profit is {net_low} to {net_high}: at the low end the "
              "offer loses money, so the holdout's read-out next quarter decides whether to keep it.", **words)


def holdout_sentence(pool: int, size: int, powered: bool, target: float, measured: bool, p0: float, power: float,
                     reach: float) -> str:
    """What the group's holdout is and what it can detect next quarter.

    ``pool``: customers who get the offer, ``size`` of them held out; ``target``: the lift the holdout is
    sized for, ``measured`` when an experiment measured it (the lift the plan counts on) rather than the
    assumed ``review.plan.mde_points``; ``reach``: the smallest lift the holdout detects with ``power``.
    """
    if pool == 0:
        return tr("No customer of this group gets the offer, so there is no holdout.")
    if size == 0:
        return tr("No holdout: {n} customers get the offer, too few to keep a control group.", n=fmt_int(pool))
    share = tr("{share} of the {pool} who get the offer", share=fmt_pct(size / max(pool, 1)), pool=fmt_int(pool))
    aim = (tr("the {mde} lift the plan counts on", mde=fmt_points(target)) if measured else
           tr("a lift of {mde} (the assumed lift)", mde=fmt_points(target)))
    if powered:
        return tr("Holdout: {h} customers ({share}) picked at random get nothing; with them next quarter's review can "
                  "detect {aim} in the share buying (baseline {base}, power {power}).", h=fmt_int(size),
                  share=share, aim=aim, base=fmt_pct(p0), power=fmt_pct(power))
    return tr("Holdout: {h} customers ({share}, the most the parameters allow) picked at random get nothing. That is "
              "too few to detect {aim} with {power} power; next quarter's read-out can detect {reach} or more.",
              h=fmt_int(size), share=share, aim=aim, power=fmt_pct(power), reach=fmt_points(reach).lstrip("+"))


def _retention_sentence(r: dict) -> str:
    """The plan's sentence on a group's customers on the churn page's retention list, when its offer pays.

    ``r`` holds ``customers``, ``in_holdout``, ``offer`` and ``no_offer`` (counts). No count of zero is said
    ("0 of them are in the holdout", "0 of those get the offer"): a group whose holdout holds none of them, or
    all of them, and one whose listed customers all get the offer, or none does, has its own wording.
    """
    n, held = r["customers"], r["in_holdout"]
    words = dict(n=fmt_int(n), offer=fmt_int(r["offer"]), no_offer=fmt_int(r["no_offer"]), held=fmt_int(held),
                 contact=fmt_int(n - held))
    if held >= n:
        return tr("{n} of this group's customers are on the churn page's retention list (high churn risk, top spend "
                  "to date): all of them are in the holdout (no call, no offer), so the retention team calls none of "
                  "them this quarter.", **words)
    if held == 0:
        if r["no_offer"] == 0:
            return tr("{n} of this group's customers are on the churn page's retention list (high churn risk, top "
                      "spend to date): none of them is held out, so the retention team calls each of them "
                      "personally; all of them also get the offer.", **words)
        if r["offer"] == 0:
            return tr("{n} of this group's customers are on the churn page's retention list (high churn risk, top "
                      "spend to date): none of them is held out, so the retention team calls each of them "
                      "personally; all of them are predicted to be worth less than the offer's cost and get the call "
                      "only.", **words)
        return tr("{n} of this group's customers are on the churn page's retention list (high churn risk, top spend "
                  "to date): none of them is held out, so the retention team calls each of them personally; {offer} "
                  "of those also get the offer, {no_offer} are predicted to be worth less than its cost and get the "
                  "call only.", **words)
    if r["no_offer"] == 0:
        return tr("{n} of this group's customers are on the churn page's retention list (high churn risk, top spend "
                  "to date): {held} of them are in the holdout (no call, no offer), and the retention team calls the "
                  "other {contact} personally; all of them also get the offer.", **words)
    if r["offer"] == 0:
        return tr("{n} of this group's customers are on the churn page's retention list (high churn risk, top spend "
                  "to date): {held} of them are in the holdout (no call, no offer), and the retention team calls the "
                  "other {contact} personally; all of them are predicted to be worth less than the offer's cost and "
                  "get the call only.", **words)
    return tr("{n} of this group's customers are on the churn page's retention list (high churn risk, top spend to "
              "date): {held} of them are in the holdout (no call, no offer), and the retention team calls the other "
              "{contact} personally; {offer} of those also get the offer, {no_offer} are predicted to be worth less "
              "than its cost and get the call only.", **words)


def retention_counts(result: PlanResult | None) -> dict | None:
    """The retention-priority customers of the plan: ``listed`` (the churn page's count), ``held_out`` (in a group's
    holdout, so not to be contacted) and ``to_contact`` (the rows of retention-priority.csv); None without them."""
    if result is None:
        return None
    lists = [e["retention_list"] for e in result.entries if e.get("retention_list")]
    if not lists:
        return None
    listed = sum(r["customers"] for r in lists)
    held = sum(r["in_holdout"] for r in lists)
    return {"listed": listed, "held_out": held, "to_contact": listed - held, "file": RETENTION_LIST}


def plan_table(result: PlanResult, currency: str) -> pd.DataFrame:
    """One row per action group: who, value, risk, movement, holdout and the contact list link (HTML)."""
    rows = []
    for e in result.entries:
        rows.append({
            tr("Action group"): e["group"],
            tr("Customers"): fmt_int(e["customers"]),
            tr("Change since last quarter"): ("" if e["change_since_last_quarter"] is None
                                             else _signed_int(e["change_since_last_quarter"])),
            tr("Revenue to date"): fmt_money(e["revenue_to_date"], currency),
            tr("Predicted value per customer"): fmt_money(e["value_per_customer"], currency),
            tr("Active customers at high churn risk"): (fmt_pct(e["high_risk_share"])
                                                        if e["high_risk_share"] is not None else tr("n/a")),
            tr("Offer"): e["offer_from"] or tr("the group's own offer"),
            tr("Offer cost per customer"): fmt_money(e["offer_cost"], currency, 2) if e["offer_cost"] is not None
            else tr("not set"),
            tr("Get the offer"): fmt_int(e["expected_value"]["treated"]),
            tr("Expected profit"): (fmt_money(e["expected_value"]["net"], currency)
                                    if e["expected_value"]["net"] is not None else
                                    tr("unknown") if e["expected_value"]["gross"] is None else tr("cost not set")),
            tr("Holdout"): fmt_int(e["holdout"]["size"]),
            tr("Contact list"): " ".join(f'<a href="{x}">{x.split("/")[-1]}</a>'
                                         for x in (e["contact_list"], e["holdout_list"]) if x),
        })
    if len(result.entries) > 1:
        t = plan_totals(result)
        changes = [e["change_since_last_quarter"] for e in result.entries]
        rows.append({
            tr("Action group"): tr("All groups"), tr("Customers"): fmt_int(t["customers"]),
            tr("Change since last quarter"): "" if None in changes else _signed_int(sum(changes)),
            tr("Revenue to date"): (fmt_money(t["revenue_to_date"], currency)
                                    if t["revenue_to_date"] is not None else ""),
            tr("Predicted value per customer"): (fmt_money(t["predicted_value"] / t["customers"], currency)
                                                 if t["predicted_value"] is not None else ""),
            tr("Active customers at high churn risk"): "", tr("Offer"): "", tr("Offer cost per customer"): "",
            tr("Get the offer"): fmt_int(t["treated"]),
            tr("Expected profit"): fmt_money(t["net"], currency) + (" " + tr("(groups with a known profit)")
                                                                   if t["unknown"] else ""),
            tr("Holdout"): fmt_int(t["held_out"]), tr("Contact list"): "",
        })
    return pd.DataFrame(rows)


def plan_totals(result: PlanResult) -> dict:
    """The plan over all groups: customers, who get an offer, its cost and expected profit (and the profit's range
    when every group that gets an offer has one: :func:`profit_range`), the holdouts, the groups with an offer."""
    es = result.entries
    ev = [e["expected_value"] for e in es]
    sent = [e for e in es if e["expected_value"]["treated"] > 0]
    known = [v for v in ev if v["net"] is not None]
    banded = all("net_low" in e["expected_value"] for e in sent) and bool(sent)
    values = [e["predicted_value"] for e in es]
    revenues = [e["revenue_to_date"] for e in es]
    return {"customers": sum(e["customers"] for e in es), "treated": sum(v["treated"] for v in ev),
            "cost": sum(v["cost"] or 0.0 for v in ev if v["treated"]), "net": sum(v["net"] for v in known),
            "unknown": len(known) < len(ev),
            "net_low": sum(e["expected_value"]["net_low"] for e in sent) if banded else None,
            "net_high": sum(e["expected_value"]["net_high"] for e in sent) if banded else None,
            "held_out": sum(e["holdout"]["size"] for e in es), "groups": [e["group"] for e in sent],
            "predicted_value": None if None in values else sum(values),
            "revenue_to_date": None if None in revenues else sum(revenues)}


def plan_headline(result: PlanResult | None, currency: str) -> str:
    """This quarter's decision in one paragraph: who gets an offer, its total cost and expected profit, the holdouts
    and the retention calls (the plan's numbers, added up); empty without a plan."""
    if result is None or not result.entries:
        return ""
    t = plan_totals(result)
    money = partial(fmt_money, currency=currency, compact=False)
    if not t["treated"]:
        text = tr("**This quarter's decision**: no paid offer is sent: in no group does a tested or planned offer pay "
                  "for itself (each group's plan below says why and what it would take).")
    else:
        rng = (tr(" ({low} to {high} over the measured lifts' intervals)", low=money(t["net_low"]),
                  high=money(t["net_high"])) if t["net_low"] is not None else "")
        if t["unknown"]:   # a group whose profit is not known (no cost set, no average order) is not in the sum
            rng = ("" if language() != "en" else " ") + tr("(groups with a known profit)")
        text = tr("**This quarter's decision**: send offers to {n} customers in {groups}, at a cost of {cost}, for an "
                  "expected profit of {net}{range}; hold out {held} customers as control groups so that next "
                  "quarter's review can check the lifts.", n=fmt_int(t["treated"]), groups=fmt_list(t["groups"]),
                  cost=money(t["cost"]), net=money(t["net"]), range=rng, held=fmt_int(t["held_out"]))
    rc = retention_counts(result)
    if rc:
        text = _sentences(text, tr("The retention team calls {n} customers ({file}).", n=fmt_int(rc["to_contact"]),
                                   file=rc["file"]))
    return text


def _action_words(template: str, offer_words: str | None, experiment: str | None, cost: float | None, treated: int,
                  currency: str) -> str:
    """The group's action as the plan carries it out: the template of the parameters, with the words that name the
    group's own offer (``rfm.action_groups[].offer``) replaced by the offer actually made, so that the action never
    contradicts it (a "no discounts needed" beside free shipping sent to thousands).

    - a tested treatment sent to ``treated`` customers: its experiment and cost per customer;
    - no offer sent (it does not pay, or no customer is worth it): "no paid offer this quarter";
    - the group's own offer sent: the template as written.
    Without ``offer_words`` the template is kept and a sentence says which offer replaces any it names.
    """
    if experiment is None and treated:
        return template
    if experiment is not None and treated:
        price = fmt_money(cost, currency, 2) if cost is not None else tr("cost not set")
        made = tr("the offer tested in {experiment} ({cost} per customer, to {n} customers)", experiment=experiment,
                  cost=price, n=fmt_int(treated))
        instead = tr("This quarter's offer is the one tested in {experiment} ({cost} per customer, to {n} customers), "
                     "in place of any offer named above.", experiment=experiment, cost=price, n=fmt_int(treated))
    else:
        made = tr("no paid offer this quarter (see below)")
        instead = tr("No paid offer is sent this quarter (see below), whatever offer is named above.")
    if offer_words and offer_words in template:
        return template.replace(offer_words, made, 1)
    return f"{template} {instead}"


def _signed_int(x: int) -> str:
    return ("+" if x > 0 else "") + fmt_int(x) if x >= 0 else "−" + fmt_int(-x)


def plan_markdown(result: PlanResult, currency: str) -> str:
    """Each group's plan in words: the action, the rules that shaped it, expected value, holdout, contact list.

    Every line of a group's entry is a paragraph (or a bullet) of its own: who, the evidence and the action
    each on their line, the rules as bullets, then the expected profit, the holdout and the contact lists
    (markdown joins lines without a blank line between them into one block).
    """
    if not result.entries:
        return "\n\n".join(result.notes)
    out = []
    for e in result.entries:
        out.append(f"### {e['group']}")
        who = tr("{n} customers ({segments}); revenue to date {revenue}", n=fmt_int(e["customers"]),
                 segments=fmt_list(e["segments"]), revenue=fmt_money(e["revenue_to_date"], currency))
        if e["value_per_customer"] is not None:
            who += tr("; predicted {h}-month value {value} per customer", h=e["horizon_months"],
                      value=fmt_money(e["value_per_customer"], currency))
        per = {k: v for k, v in (e["value_per_customer_by_segment"] or {}).items() if v is not None}
        if len(per) > 1:
            who += tr(" ({values})", values=fmt_list(f"{k} {fmt_money(v, currency)}" for k, v in per.items()))
        if e["high_risk_share"] is not None:
            who += tr("; {share} of its active customers at high churn risk", share=fmt_pct(e["high_risk_share"]))
        out.append(tr("**Who:** {who}.", who=who))
        ev = []
        if e["change_since_last_quarter"] is not None:
            ev.append(tr("{change} customers since last quarter (over the trend: {first} to {last})",
                         change=_signed_int(e["change_since_last_quarter"]), first=fmt_int(e["trend"][0]),
                         last=fmt_int(e["trend"][-1])))
        if e["bought_this_quarter_share"] is not None:
            ev.append(tr("{share} of last quarter's group bought again this quarter",
                         share=fmt_pct(e["bought_this_quarter_share"])))
        if not e["experiments"]:
            ev.append(tr("no experiment measured an effect in this group this quarter"))
        out.append(tr("**Evidence:** {evidence}.", evidence=fmt_clauses(ev)))
        out.append(tr("**What:** {action}", action=e["action"]))
        if e["rules"]:
            out.append("\n".join(f"- {r}" for r in e["rules"]))
        out.append(e["expected_value_sentence"])
        out.append(e["holdout_sentence"])
        out.append(tr("Contact list: [{name}]({link}) (customer id, segment, predicted value, churn risk, whether "
                      "they get the offer).", name=e["contact_list"].split("/")[-1], link=e["contact_list"]))
        if e["holdout_list"]:
            out.append(tr("Holdout: [{name}]({link}), do not contact (next quarter's control group).",
                          name=e["holdout_list"].split("/")[-1], link=e["holdout_list"]))
    out += result.notes
    # a blank line between the parts: each is a paragraph (or a list) of its own on the page
    return "\n\n".join(out)


def readouts(ab: dict | None, ab_settings: AbSettings, previous_quarter: str) -> list[dict]:
    """Last quarter's plan actions that came back in the experiments table, with their statistics.

    Marked by their experiment id ``<ab.plan_prefix>-<previous quarter>-<action group>`` (the holdout in
    the control variant); evaluated by the experiments step like any experiment.
    """
    prefix = f"{ab_settings.plan_prefix}-{previous_quarter}-"
    out = []
    for e in inputs.ab_experiments(ab).values():
        if not str(e["experiment_id"]).startswith(prefix):
            continue
        eff = e["effects"][0]
        out.append({"experiment": e["experiment_id"], "group": str(e["experiment_id"])[len(prefix):],
                    "decision": e["decision"], "decision_label": e.get("decision_label", e["decision"]),
                    "metric": eff["metric"], "diff": eff["diff"], "ci_low": eff["ci_low"], "ci_high": eff["ci_high"],
                    "p_holm": e.get("primary_p_holm"), "counts": e["counts"], "detail": e["detail"],
                    # a "Do not ship" with a net value: it worked but did not pay for itself
                    "did_not_pay": e["decision"] == "Do not ship" and e.get("net_value") is not None})
    return out


def readout_table(items: list[dict], previous_quarter: str, ab_settings: AbSettings,
                  example_group: str = "Win back") -> str:
    """Last quarter's actions read out, in words; or how to mark them when there are none.

    ``example_group`` names an action group of the segment map for the example experiment id (the id keeps
    the quarter's code, ``PLAN-2026Q2-<group>``, in every language: it is what the experiments table holds)."""
    from helpers.experiments import p_is
    if not items:
        return tr("No action of the {quarter} plan is in this quarter's experiments table. To read an action out, "
                  "add its customers to the experiments table as experiment {prefix}-{code}-[action group] (for "
                  "example {prefix}-{code}-{group}): the contacted customers in a treatment variant, the holdout "
                  "in the control variant ({control}).",
                  quarter=fmt_quarter(previous_quarter), code=previous_quarter, group=example_group,
                  prefix=ab_settings.plan_prefix,
                  control=ab_settings.control_variant)
    lines = []
    for r in items:
        worked = {"Ship": tr("it worked"), "Ship to segments": tr("it worked in some segments"),
                  "Do not ship": tr("it did harm"), "Inconclusive": tr("no effect could be shown"),
                  "Do not trust": tr("the holdout was not random enough to tell")}.get(r["decision"], r["decision"])
        if r.get("did_not_pay"):
            worked = tr("it worked but did not pay for itself")
        lines.append("- " + tr("{group} ({quarter} plan): {worked}: {metric} {effect} ({low} to {high}), Holm-adjusted "
                               "{p}, {n} customers.", group=r["group"], quarter=fmt_quarter(previous_quarter),
                               worked=worked, metric=tr("conversion") if r["metric"] == "conversion" else r["metric"],
                               effect=fmt_points(r["diff"]), low=fmt_points(r["ci_low"]),
                               high=fmt_points(r["ci_high"]), p=p_is(r["p_holm"]),
                               n=fmt_int(sum(r["counts"].values()))))
    return "\n".join(lines)
