"""Labour: who may receive labour fees (kind ``labour_recipient``), hired staff's pay against the local wage
(kind ``hired_pay``), and whether an expert fee is stated net or gross of tax (kind ``fee_basis``).

中办发〔2016〕50号 一, 国办发〔2021〕32号 三, 国科发资〔2020〕132号: students, postdocs, visiting scholars and
project-hired researchers and support staff (科研助理, 财务助理) may receive labour fees. Hired staff's pay is
referenced to the local average wage of 科学研究和技术服务业 (the IM figure is unconfirmed: above the multiple
→ needs_approval). The expert-fee rates of 财科教〔2017〕128号 are after tax: a gross amount is taken net of the
individual income tax withheld on 劳务报酬 before it is compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import calculation, finding, missing, yuan
from compliance.rules.params import CENT, ParamReader, any_match
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class Recipient:
    applies: tuple
    allowed: frozenset


def compile_recipient(p: ParamReader) -> Recipient:
    return Recipient(p.matchers("applies_to", required=True), p.strs("allowed_payee_kinds", "payee_kinds", required=True))


def check_recipient(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Recipient = rule.params
    if not any_match(P.applies, e, text):
        return None
    if e.payee_kind is None:
        return missing(rule, policy, "payee_kind", "劳务费只能支付给规定人员", "labour fees go only to the listed people")
    if e.payee_kind in P.allowed:
        return None
    return finding(rule, rule.severity,
                   f"{rule.title_zh}：收款人「{e.payee_name or '?'}」类型为「{e.payee_kind}」，不属于可领取劳务费的人员"
                   f"（{'、'.join(sorted(P.allowed))}），金额 {yuan(e.amount)} 元",
                   f"{rule.title_en}: payee '{e.payee_name or '?'}' of kind '{e.payee_kind}' may not receive labour "
                   f"fees (allowed: {', '.join(sorted(P.allowed))}); amount {yuan(e.amount)} yuan",
                   {"payee_kind": e.payee_kind, "allowed_payee_kinds": sorted(P.allowed), "amount": str(e.amount)})


@dataclass(frozen=True, slots=True)
class HiredPay:
    applies: tuple
    wage: Decimal
    multiple: Decimal


def compile_hired(p: ParamReader) -> HiredPay:
    return HiredPay(p.matchers("applies_to", required=True), p.decimal("local_average_monthly_wage"),
                    p.decimal("multiple"))


def check_hired(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: HiredPay = rule.params
    if not any_match(P.applies, e, text):
        return None
    if not e.pay_months:
        return missing(rule, policy, "pay_months", "按月工资与当地平均工资比较", "monthly pay is compared with the local wage")
    monthly = (e.amount / e.pay_months).quantize(CENT, ROUND_HALF_UP)
    ceiling = P.wage * P.multiple
    figures = {"amount": str(e.amount), "pay_months": e.pay_months, "monthly": str(monthly),
               "local_average_monthly_wage": str(P.wage), "multiple": str(P.multiple), "ceiling": str(ceiling)}
    if monthly <= ceiling:
        return None
    return finding(rule, rule.severity,
                   f"{rule.title_zh}：月薪 {yuan(monthly)} 元（{yuan(e.amount)} ÷ {e.pay_months} 月）超过当地科学研究和"
                   f"技术服务业平均工资 {yuan(P.wage)} 元的 {P.multiple} 倍（{yuan(ceiling)} 元），需审批",
                   f"{rule.title_en}: monthly pay {yuan(monthly)} ({yuan(e.amount)} / {e.pay_months}) exceeds "
                   f"{P.multiple}× the local average wage of {yuan(P.wage)} ({yuan(ceiling)}); needs approval", figures)


@dataclass(frozen=True, slots=True)
class FeeBasis:
    applies: tuple
    fixed_deduction: Decimal
    fixed_up_to: Decimal
    deduction_ratio: Decimal
    brackets: tuple           # ((up_to | None, rate, quick deduction), ...)


def compile_fee_basis(p: ParamReader) -> FeeBasis:
    raw = p.get("withholding_brackets")
    if not isinstance(raw, list) or not raw:
        raise p.err("params.withholding_brackets must list {up_to, rate, quick_deduction}")
    brackets = []
    for b in raw:
        if not isinstance(b, dict) or set(b) != {"up_to", "rate", "quick_deduction"}:
            raise p.err("params.withholding_brackets entries are {up_to, rate, quick_deduction}")
        brackets.append((None if b["up_to"] is None else p.decimal("", value=b["up_to"]),
                         p.decimal("", value=b["rate"]), p.decimal("", value=b["quick_deduction"])))
    if brackets[-1][0] is not None:
        raise p.err("params.withholding_brackets: the last bracket is open-ended (up_to: null)")
    return FeeBasis(p.matchers("applies_to", required=True), p.decimal("fixed_deduction"), p.decimal("fixed_up_to"),
                    p.decimal("deduction_ratio"), tuple(brackets))


def withholding(P: FeeBasis, gross: Decimal) -> tuple[Decimal, Decimal]:
    """(taxable income, tax) withheld on one payment of 劳务报酬 of ``gross`` yuan."""
    taxable = gross - P.fixed_deduction if gross <= P.fixed_up_to else gross * (1 - P.deduction_ratio)
    taxable = max(taxable, Decimal(0))
    for up_to, rate, quick in P.brackets:
        if up_to is None or taxable <= up_to:
            return taxable.quantize(CENT), max(taxable * rate - quick, Decimal(0)).quantize(CENT, ROUND_HALF_UP)
    raise AssertionError("unreachable: the last bracket is open-ended")


def net_amount(policy: "Policy", e: ExpenseFacts) -> Decimal:
    """The amount an expert fee is compared with: net of tax when the expense says it is gross."""
    if e.fee_basis != "gross":
        return e.amount
    for rule in policy.expense_rules:
        if rule.kind == "fee_basis":
            return e.amount - withholding(rule.params, e.amount)[1]
    return e.amount


def check_fee_basis(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: FeeBasis = rule.params
    if not any_match(P.applies, e, text):
        return None
    if e.fee_basis is None:
        return missing(rule, policy, "fee_basis", "专家咨询费标准为税后金额", "the expert-fee rates are after tax")
    if e.fee_basis != "gross":
        return None
    taxable, tax = withholding(P, e.amount)
    net = e.amount - tax
    return calculation(rule, f"税前 {yuan(e.amount)} 元，应纳税所得额 {yuan(taxable)} 元，预扣个人所得税 {yuan(tax)} 元，"
                             f"税后 {yuan(net)} 元（与税后标准比较）",
                       f"gross {yuan(e.amount)}, taxable {yuan(taxable)}, tax withheld {yuan(tax)}, net {yuan(net)} "
                       f"(compared with the after-tax rates)",
                       {"gross": str(e.amount), "taxable": str(taxable), "tax": str(tax), "net": str(net)})
