"""How and to whom money is paid: payment method, invoices, duplicate claims, related payees.

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list,
with ``text`` the normalised description (:func:`compliance.text.normalise`); every compile is ``compile(ParamReader)`` → typed params.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, missing, yuan
from compliance.rules.params import ParamReader, any_match
from compliance.rules.rule import Rule
from compliance.vocabulary import RULE_SEVERITIES

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


# ---- payment_method (公务卡; expert fees by bank transfer)
@dataclass(frozen=True, slots=True)
class Payment:
    applies: tuple | None
    allowed: frozenset
    exceptions: tuple | None


def compile_payment(p: ParamReader) -> Payment:
    return Payment(p.matchers("applies_to"), p.strs("allowed_methods", "payment_methods", required=True),
                   p.matchers("exceptions"))


def check_payment(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Payment = rule.params
    if P.applies is not None and not any_match(P.applies, e, text):
        return None
    pm = e.payment_method
    if pm is None:
        return missing(rule, policy, "payment_method")
    if pm in P.allowed:
        return None
    if P.exceptions is not None and any_match(P.exceptions, e, text):
        return None
    allowed = ", ".join(sorted(P.allowed))
    return finding(rule, rule.severity,
                   f"{rule.title_zh}：支付方式「{pm}」不符合规定（应为 {allowed}），金额 {yuan(e.amount)} 元",
                   f"{rule.title_en}: payment method '{pm}' is not allowed here (use {allowed}); "
                   f"amount {yuan(e.amount)} yuan",
                   {"payment_method": pm, "allowed_methods": sorted(P.allowed), "amount": str(e.amount)})




def check_duplicate(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    other, row = ctx.duplicate_invoice_of, ctx.duplicate_invoice_row
    if other is not None:
        return finding(rule, rule.severity,
                       f"发票 {e.invoice_no} 已在支出 #{other} 中报销，重复报销",
                       f"Invoice {e.invoice_no} was already claimed by expense #{other}: duplicate reimbursement",
                       {"invoice_no": e.invoice_no, "duplicate_of": other})
    if ctx.duplicate_invoice_elsewhere:
        # claimed by another institution's expense: say so without naming a record the caller may not see
        return finding(rule, rule.severity,
                       f"发票 {e.invoice_no} 已在别处报销，重复报销",
                       f"Invoice {e.invoice_no} was already claimed elsewhere: duplicate reimbursement",
                       {"invoice_no": e.invoice_no, "duplicate_elsewhere": True})
    if row is not None:
        return finding(rule, rule.severity,
                       f"发票 {e.invoice_no} 已在本次导入第 {row} 行报销，重复报销",
                       f"Invoice {e.invoice_no} was already claimed on row {row} of this import: duplicate "
                       f"reimbursement", {"invoice_no": e.invoice_no, "duplicate_of_row": row})
    return None


# ---- invoice_verification
@dataclass(frozen=True, slots=True)
class Invoice:
    exempt: tuple | None


def compile_invoice(p: ParamReader) -> Invoice:
    return Invoice(p.matchers("exempt"))


def check_invoice(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Invoice = rule.params
    if P.exempt is not None and any_match(P.exempt, e, text):
        return None
    if not e.invoice_no:
        return missing(rule, policy, "invoice_no")
    if e.invoice_verified is None:
        return missing(rule, policy, "invoice_verified")
    if e.invoice_verified:
        return None
    return finding(rule, rule.severity,
                   f"发票 {e.invoice_no} 未通过税务查验，不得报销",
                   f"Invoice {e.invoice_no} failed tax verification; it may not be reimbursed",
                   {"invoice_no": e.invoice_no, "invoice_verified": False})


# ---- related_party (劳务费 / 专家咨询费 / civil servants / related parties)
@dataclass(frozen=True, slots=True)
class Related:
    applies: tuple | None
    payee_kinds: frozenset | None
    names_in: str | None
    name_match_severity: str


def compile_related(p: ParamReader) -> Related:
    names_in = p.get("names_in")
    if names_in not in (None, "project_members", "salaried_staff"):
        raise p.err("params.names_in must be project_members or salaried_staff")
    out = Related(p.matchers("applies_to"), p.strs("payee_kinds", "payee_kinds"), names_in,
                  p.choice("name_match_severity", RULE_SEVERITIES, "needs_approval"))
    if out.payee_kinds is None and names_in is None:
        raise p.err("related_party needs payee_kinds or names_in")
    return out


def check_related(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Related = rule.params
    if P.applies is not None and not any_match(P.applies, e, text):
        return None
    if P.payee_kinds is not None:
        pk = e.payee_kind
        if pk is None:
            return missing(rule, policy, "payee_kind")
        if pk in P.payee_kinds:
            return finding(rule, rule.severity,
                           f"{rule.title_zh}：收款人「{e.payee_name or '?'}」类型为「{pk}」，金额 {yuan(e.amount)} 元",
                           f"{rule.title_en}: payee '{e.payee_name or '?'}' is of kind '{pk}'; "
                           f"amount {yuan(e.amount)} yuan",
                           {"payee_kind": pk, "payee_name": e.payee_name, "amount": str(e.amount)})
    if P.names_in is not None:
        name = (e.payee_name or "").strip()
        if not name:
            return missing(rule, policy, "payee_name")
        names = ctx.project_member_names if P.names_in == "project_members" else ctx.salaried_staff_names
        if name in names:
            who_zh = "本项目成员" if P.names_in == "project_members" else "依托单位在编（领薪）人员"
            who_en = "a member of this project" if P.names_in == "project_members" else \
                "salaried staff of the host institution"
            return finding(rule, P.name_match_severity,
                           f"{rule.title_zh}：收款人「{name}」与{who_zh}同名，金额 {yuan(e.amount)} 元，需核实",
                           f"{rule.title_en}: payee '{name}' has the name of {who_en}; amount "
                           f"{yuan(e.amount)} yuan; check before paying",
                           {"payee_name": name, "matched_list": P.names_in, "amount": str(e.amount)})
    return None

