"""One glossary: every term the pages use, defined once, with the parameters that set it.

The review shows it as its last section and ``review.json`` carries it; the segments' names come
from the segment map (``rfm.segments``), whose defaults avoid the words of the lifecycle stages and
the KPIs so that each word has one meaning.
"""

from __future__ import annotations

import pandas as pd

from helpers.frame.settings import LifecycleSettings
from helpers.locale import fmt_int, fmt_list, tr

__all__ = ["glossary"]


def glossary(lifecycle: LifecycleSettings, churn_horizon: int | None, clv_horizon: int | None,
             lapsed: list[str], contractual: bool = False) -> pd.DataFrame:
    """Term and definition, in the page's language; ``contractual`` (subscriptions) defines the quarter's
    figures and the predicted value in subscription words, as the pages then show them."""
    a, lost = fmt_int(lifecycle.active_days), fmt_int(lifecycle.lost_days)
    if contractual:
        return _subscription_glossary(lifecycle, churn_horizon, clv_horizon, lapsed)
    rows = [
        (tr("Buyers"), tr("Customers with at least one completed order in the quarter.")),
        (tr("New customer"), tr("A customer whose first completed order ever is in the quarter (lifecycle stage "
                                "new).")),
        (tr("Returning customer"), tr("A buyer of the quarter who had bought before it.")),
        (tr("Active customer"), tr("A customer whose last completed order is in the last {days} days (lifecycle "
                                   "stages new and established together). The churn page scores exactly these "
                                   "customers.", days=a)),
        (tr("Established customer"), tr("Lifecycle stage: bought in the last {days} days and not new this quarter "
                                      "(with the new customers, the active customers).", days=a)),
        (tr("Still a customer (P(alive))"), tr("The value page's model chance that a customer who buys when they "
                                               "like has not silently left; not a lifecycle stage.")),
        (tr("Dormant"), tr("Last order {active} to {lost} days ago.", active=a, lost=lost)),
        (tr("Lost"), tr("No order for {lost} days or more (a lifecycle stage, not a segment).", lost=lost)),
        *_segment_rows(lapsed),
        (tr("Revenue"), tr("Completed orders net of refunds, in the report's currency.")),
        (tr("Repeat-purchase rate"), tr("Share of the quarter's buyers who bought on two or more different days in "
                                        "it.")),
    ]
    if clv_horizon:
        rows.append((tr("Predicted value"), tr("What a customer is expected to spend in the next {h} months, "
                                               "discounted, from the purchase and spend models.", h=clv_horizon)))
    if churn_horizon:
        rows.append((tr("High churn risk"), tr("An active customer whose predicted chance of no order in the next "
                                               "{days} days is in the high tier of the churn page.",
                                               days=churn_horizon)))
    rows += _plan_rows()
    return pd.DataFrame(rows, columns=[tr("Term"), tr("Meaning")])


def _subscription_glossary(lifecycle: LifecycleSettings, churn_horizon: int | None, clv_horizon: int | None,
                           lapsed: list[str]) -> pd.DataFrame:
    """The glossary of a contractual business: subscribers, payments, renewals and remaining subscription revenue."""
    a, lost = fmt_int(lifecycle.active_days), fmt_int(lifecycle.lost_days)
    rows = [
        (tr("Paying subscribers"), tr("Subscribers with at least one payment in the quarter.")),
        (tr("New subscriber"), tr("A subscriber whose first payment ever is in the quarter (lifecycle stage new).")),
        (tr("Renewing subscriber"), tr("A paying subscriber of the quarter who had paid before it (renewed).")),
        (tr("Active customer"), tr("A subscriber whose last payment is in the last {days} days (lifecycle stages new "
                                   "and established together).", days=a)),
        (tr("Established customer"), tr("Lifecycle stage: paid in the last {days} days and not new this quarter.",
                                        days=a)),
        (tr("Dormant"), tr("Last payment {active} to {lost} days ago.", active=a, lost=lost)),
        (tr("Lost"), tr("No payment for {lost} days or more (a lifecycle stage, not a segment).", lost=lost)),
        *_segment_rows(lapsed),
        (tr("Revenue"), tr("Subscription payments net of refunds, in the report's currency.")),
        (tr("Share paying in two or more months"), tr("Share of the quarter's paying subscribers who paid on two or "
                                                      "more different days in it (renewed within the quarter).")),
        (tr("Retention"), tr("The share of a cohort of subscribers still subscribed after a number of periods.")),
    ]
    if clv_horizon:
        rows.append((tr("Predicted value"), tr("Expected remaining subscription revenue of a subscriber over the next "
                                               "{h} months, discounted, from the retention model and what the "
                                               "subscriber pays per period.", h=clv_horizon)))
    if churn_horizon:
        rows.append((tr("High churn risk"), tr("A subscriber whose predicted chance of cancelling is in the high tier "
                                               "of the churn page.")))
    rows += _plan_rows()
    return pd.DataFrame(rows, columns=[tr("Term"), tr("Meaning")])


def _segment_rows(lapsed: list[str]) -> list[tuple[str, str]]:
    """The segment map's terms, the same for every kind of business."""
    return [
        (tr("Segment"), tr("A group of customers with similar recency, frequency and spend scores (RFM), named by "
                           "the segment map of the parameters.")),
        (tr("Lapsed"), tr("In a segment of customers who have slipped away: {segments}.",
                          segments=fmt_list(lapsed))),
        (tr("Action group"), tr("Segments that get the same kind of action; the plan is per action group.")),
    ]


def _plan_rows() -> list[tuple[str, str]]:
    """The plan's and the experiments' terms, the same for every kind of business."""
    return [
        (tr("Holdout"), tr("Customers picked at random who do not get the action, so that its effect can be "
                           "measured next quarter.")),
        (tr("Expected profit"), tr("The plan's estimate of what an offer earns: the customers who get it x the lift x "
                                   "their average order x the gross margin, minus the offer's cost.")),
        (tr("Percentage points"), tr("The difference between two percentages: 5% to 8% is +3 points.")),
        (tr("Smallest detectable effect"), tr("The smallest true effect a test of this size finds with the stated "
                                              "power; planned from the design, not from the result.")),
    ]
