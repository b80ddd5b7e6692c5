"""拨改投: the fiscal money invested as equity, the events that change our holding, and the return."""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select

from grants import ledger
from grants.access import require_funder
from grants.db import CENT, unit_of_work
from grants.errors import Conflict, Invalid, NotFound
from grants.extensions import db
from grants.models import Category, EquityEvent, EquityEventKind, EquityInvestment, GrantStatus, User
from grants.registry import get_grant

SHARE_Q = Decimal("1e-10")
S = GrantStatus


def get_investment(grant_id: int, user: User) -> EquityInvestment:
    get_grant(grant_id, user)
    inv = db.session.execute(select(EquityInvestment).where(EquityInvestment.grant_id == grant_id)).scalar_one_or_none()
    if inv is None:
        raise NotFound("该课题尚无股权投资记录 / no equity investment for this grant")
    return inv


def initial_shareholding(amount: Decimal, pre_money: Decimal) -> Decimal:
    """Post-money share of a round we fund alone: amount / (pre-money + amount)."""
    return (amount / (pre_money + amount)).quantize(SHARE_Q, rounding=ROUND_DOWN)


def shareholding_after(current: Decimal, kind: EquityEventKind, *, amount: Decimal = Decimal(0),
                       round_size: Decimal | None = None, pre_money: Decimal | None = None,
                       fraction_sold: Decimal | None = None) -> Decimal:
    """Our share after an event.

    A round at pre-money V raising R, of which we put in X: (share·V + X) / (V + R).
    Selling a fraction p of our holding: share·(1 − p).
    """
    if kind in (EquityEventKind.FOLLOW_ON, EquityEventKind.DILUTION):
        r = round_size if round_size is not None else amount
        return ((current * pre_money + amount) / (pre_money + r)).quantize(SHARE_Q, rounding=ROUND_DOWN)
    return (current * (1 - fraction_sold)).quantize(SHARE_Q, rounding=ROUND_DOWN)


def create_investment(grant_id: int, data: dict, user: User) -> EquityInvestment:
    require_funder(user, "登记股权投资")
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        if grant.category != Category.GRANT_TO_EQUITY:
            raise Conflict("只有拨改投课题可以登记股权投资 / only grant_to_equity grants hold equity",
                           {"category": [grant.category.value]})
        if grant.status not in (S.APPROVED, S.ACTIVE, S.CLOSING, S.ACCEPTED):
            raise Conflict(f"课题状态为 {grant.status.value}，不能登记投资 / grant is {grant.status.value}")
        if s.execute(select(EquityInvestment.id).where(EquityInvestment.grant_id == grant.id)).first():
            raise Conflict("该课题已有股权投资记录 / investment already recorded")
        if data["amount"] > grant.fiscal_amount:
            raise Invalid(f"投资额超过财政资金 {grant.fiscal_amount:.2f} 元 / amount exceeds the fiscal amount",
                          {"amount": ["exceeds fiscal amount"]})
        inv = EquityInvestment(grant_id=grant.id, shareholding=initial_shareholding(
            data["amount"], data["pre_money_valuation"]), **data)
        s.add(inv)
        s.flush()
        ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.EQUITY_INVESTMENT, inv.invested_on, inv.amount,
                                                "equity_investment", inv.id, memo=f"投资 {inv.investee_name}")])
    return inv


def update_investment(grant_id: int, data: dict, user: User) -> EquityInvestment:
    require_funder(user, "修改股权投资")
    with unit_of_work():
        inv = get_investment(grant_id, user)
        for k, v in data.items():
            setattr(inv, k, v)
    return inv


def add_equity_event(grant_id: int, data: dict, user: User) -> EquityEvent:
    require_funder(user, "登记股权事件")
    kind = data["kind"]
    errors = {}
    if kind in (EquityEventKind.FOLLOW_ON, EquityEventKind.DILUTION):
        if data.get("pre_money_valuation") is None:
            errors["pre_money_valuation"] = ["required for a financing round"]
        if kind == EquityEventKind.FOLLOW_ON and not data.get("amount"):
            errors["amount"] = ["a follow-on needs the amount we invest"]
        if kind == EquityEventKind.DILUTION and not data.get("round_size"):
            errors["round_size"] = ["a dilution needs the round size"]
        if data.get("fraction_sold") is not None:
            errors["fraction_sold"] = ["not for a financing round"]
    else:
        if data.get("fraction_sold") is None:
            errors["fraction_sold"] = ["required: the fraction of our holding sold"]
        if data.get("proceeds") is None:
            errors["proceeds"] = ["required for a buy-back or exit"]
        if data.get("amount"):
            errors["amount"] = ["a disposal has proceeds, not an amount invested"]
    if kind == EquityEventKind.FOLLOW_ON and data.get("round_size") is not None and data.get("amount") \
            and data["round_size"] < data["amount"]:
        errors["round_size"] = ["smaller than our own amount"]
    if errors:
        raise Invalid("股权事件数据不完整 / incomplete equity event", errors)
    with unit_of_work() as s:
        grant = get_grant(grant_id, user, for_update=True)
        inv = get_investment(grant_id, user)
        if inv.shareholding <= 0:
            raise Conflict("已全部退出，不能再登记事件 / the position is fully exited")
        if data["event_date"] < inv.invested_on:
            raise Invalid("事件日期早于投资日期 / event before the investment", {"event_date": ["before investment"]})
        if kind in (EquityEventKind.BUY_BACK, EquityEventKind.EXIT) and inv.lock_up_end \
                and data["event_date"] < inv.lock_up_end:
            raise Conflict(f"锁定期至 {inv.lock_up_end}，不能提前退出 / locked up until {inv.lock_up_end}",
                           {"event_date": ["within the lock-up period"]})
        amount = data.get("amount") or Decimal("0.00")
        after = shareholding_after(inv.shareholding, kind, amount=amount, round_size=data.get("round_size"),
                                   pre_money=data.get("pre_money_valuation"), fraction_sold=data.get("fraction_sold"))
        ev = EquityEvent(investment_id=inv.id, kind=kind, event_date=data["event_date"], amount=amount,
                         round_size=data.get("round_size"), pre_money_valuation=data.get("pre_money_valuation"),
                         fraction_sold=data.get("fraction_sold"), proceeds=data.get("proceeds") or Decimal("0.00"),
                         shareholding_after=after, note=data.get("note", ""))
        inv.shareholding = after
        s.add(ev)
        s.flush()
        money = amount if kind == EquityEventKind.FOLLOW_ON else -ev.proceeds
        if money:
            ledger.post(s, [ledger.Posting.for_grant(grant, ledger.EntryType.EQUITY_EVENT, ev.event_date, money,
                                                    "equity_event", ev.id, memo=kind.value)])
    return ev


def equity_position(grant_id: int, user: User) -> dict:
    """Invested, proceeds and the return on the fiscal money, with average-cost accounting."""
    inv = get_investment(grant_id, user)
    invested = inv.amount
    cost = inv.amount            # cost basis of what we still hold
    disposed_cost = Decimal("0")
    proceeds = Decimal("0")
    steps = [f"初始投资 {inv.amount:.2f} 元，投前估值 {inv.pre_money_valuation:.2f} 元"]
    for ev in inv.events:
        if ev.kind == EquityEventKind.FOLLOW_ON:
            invested += ev.amount
            cost += ev.amount
            steps.append(f"{ev.event_date} 跟投 {ev.amount:.2f} 元")
        elif ev.kind in (EquityEventKind.BUY_BACK, EquityEventKind.EXIT):
            part = (cost * ev.fraction_sold).quantize(CENT)
            disposed_cost += part
            cost -= part
            proceeds += ev.proceeds
            steps.append(f"{ev.event_date} {'回购' if ev.kind == EquityEventKind.BUY_BACK else '退出'} "
                         f"{ev.fraction_sold:%} 持股，收回 {ev.proceeds:.2f} 元（对应成本 {part:.2f} 元）")
        else:
            steps.append(f"{ev.event_date} 稀释：他方融资 {ev.round_size:.2f} 元")
    multiple = (proceeds / disposed_cost).quantize(Decimal("0.0001")) if disposed_cost else None
    return {"investment": inv, "events": list(inv.events), "shareholding": inv.shareholding,
            "invested": invested, "proceeds": proceeds, "cost_of_disposed": disposed_cost,
            "realised_gain": proceeds - disposed_cost, "remaining_cost": cost, "multiple": multiple,
            "explanation": {"zh": steps, "method": "average cost; multiple = proceeds / cost of disposed shares"}}
