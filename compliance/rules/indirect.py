"""间接费用 never charged twice (kind ``indirect_double_charge``).

Indirect costs already cover the host's space and daily water, power, gas and heating (国发〔2014〕11号
(十七)); the same costs charged again to a direct subject are a management fee beyond the approved indirect
costs, so the finding cites the negative-list rule it names (``cites``, NEG-EXTRA-MGMT-FEE) as well as its own
source. Separately metered power of a research instrument stays in 业务费 (燃料动力费): ``except_keywords``.
Indirect money itself may go wholly to performance pay, salaried staff included (国办发〔2021〕32号 三): nothing
here judges the indirect subject.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, yuan
from compliance.rules.params import ParamReader, any_match
from compliance.rules.rule import Rule

if TYPE_CHECKING:  # pragma: no cover
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class Double:
    applies: tuple
    except_keywords: tuple
    cites: str


def compile_double(p: ParamReader) -> Double:
    cites = p.get("cites")
    if not isinstance(cites, str) or not cites:
        raise p.err("params.cites names the negative-list rule the finding cites")
    return Double(p.matchers("applies_to", required=True), p.keywords("except_keywords") or (), cites)


def check_double(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    P: Double = rule.params
    if not any_match(P.applies, e, text) or any(k in text for k in P.except_keywords):
        return None
    cited = policy.rules_by_id.get(P.cites)
    f = finding(rule, rule.severity,
                f"{rule.title_zh}：{e.subject} 科目列支「{e.description}」{yuan(e.amount)} 元——房屋、水电气暖等已由间接费用"
                f"补偿，再计入直接费用即属在间接费用以外提取管理费（{P.cites}）",
                f"{rule.title_en}: '{e.description}' ({yuan(e.amount)} yuan) charged to {e.subject}: space and "
                f"utilities are covered by indirect costs; charging them again is a management fee beyond the "
                f"approved indirect costs ({P.cites})",
                {"subject": e.subject, "amount": str(e.amount), "rule": rule.id, "cites": P.cites})
    if cited is None:
        return f
    return replace(f, rule_id=cited.id, source="; ".join(dict.fromkeys([cited.source, rule.source])))
