"""负面清单: what research funds may never pay for (kind ``forbidden_purpose``).

Every expense check is ``check(rule, expense, grant, context, policy, text)`` → None | Finding | list,
with ``text`` the normalised description (:func:`compliance.text.normalise`); every compile is ``compile(ParamReader)`` → typed params.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, missing, yuan
from compliance.rules.params import ParamReader
from compliance.rules.rule import Rule
from compliance import screening  # a module reference: compliance.screening imports this package

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


# ---- forbidden_purpose (负面清单)
@dataclass(frozen=True, slots=True)
class Forbidden:
    purposes: frozenset
    keywords: tuple          # older versions' keywords: compiled into the policy's screener as a clear any-of group
    payee_kinds: frozenset
    except_subjects: frozenset


def compile_forbidden(p: ParamReader) -> Forbidden:
    out = Forbidden(p.strs("purposes", "purpose_codes") or frozenset(), p.keywords("keywords") or (),
                    p.strs("payee_kinds", "payee_kinds") or frozenset(),
                    p.strs("except_subjects", "subjects") or frozenset())
    if not (out.purposes or out.keywords or out.payee_kinds):
        raise p.err("forbidden_purpose needs at least one of purposes, keywords, payee_kinds")
    return out


def check_forbidden(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    """A forbidden purpose code or payee kind rejects whatever the description says; otherwise the
    description is screened (:mod:`compliance.screening`): a clear hit rejects, a suspect hit asks for approval."""
    P: Forbidden = rule.params
    how = None
    if e.purpose is not None and e.purpose in P.purposes:
        how = ("purpose", e.purpose, f"用途代码「{e.purpose}」", f"purpose code '{e.purpose}'")
    elif e.payee_kind is not None and e.payee_kind in P.payee_kinds:
        how = ("payee_kind", e.payee_kind, f"收款人类型「{e.payee_kind}」", f"payee kind '{e.payee_kind}'")
    elif text:
        for hit in policy.screener.scan_normalised(text):
            if hit.rule_id != rule.id:
                continue
            words = "、".join(hit.words)
            if hit.tier == screening.SUSPECT:
                if e.subject in P.except_subjects:
                    return None
                return finding(
                    rule, "needs_approval",
                    f"负面清单「{rule.title_zh}」：摘要含疑似词语「{words}」，须人工审核确认不属于此项",
                    f"Negative list '{rule.title_en}': the description has suspect words '{', '.join(hit.words)}'; "
                    f"a person must confirm it is not this",
                    {"matched_by": "suspect_words", "matched": list(hit.words), "tier": screening.SUSPECT,
                     "amount": str(e.amount)})
            how = ("keyword", hit.words[0] if len(hit.words) == 1 else list(hit.words), f"摘要含「{words}」",
                   f"description contains '{', '.join(hit.words)}'")
            break
    if how is None:
        if e.purpose is None and not text:
            return missing(rule, policy, "purpose", "用途代码与摘要均为空，无法对照负面清单",
                           "no purpose code and no description to check against the negative list")
        return None
    if e.subject in P.except_subjects:
        return None
    return finding(rule, rule.severity,
                   f"负面清单「{rule.title_zh}」：{how[2]}，金额 {yuan(e.amount)} 元，科研经费不得用于此项",
                   f"Negative list '{rule.title_en}': {how[3]}, amount {yuan(e.amount)} yuan; research funds "
                   f"may not pay for this",
                   {"matched_by": how[0], "matched": how[1], "amount": str(e.amount)})
