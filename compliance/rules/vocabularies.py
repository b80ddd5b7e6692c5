"""Closed vocabularies on the expense (kinds ``closed_vocabulary`` and ``required_fields``).

- ``closed_vocabulary``: a code outside the policy's vocabulary (an unknown purpose, payee kind, payment
  method, fund source or expert title) is never judged as if it were known — the finding names the field
  and the accepted codes. The API and the importer refuse such codes first; this rule holds for any other
  way facts reach the engine.
- ``required_fields``: each code may list the fields a rule needs when an expense carries it
  (``requires`` in the vocabulary: payee name and kind for labour fees, unit value and quantity for
  equipment…); every missing one is named at once, failing closed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from compliance.rules.facts import Context, ExpenseFacts, GrantFacts
from compliance.rules.findings import finding, missing
from compliance.rules.params import ParamReader
from compliance.rules.rule import Rule
from compliance.vocabulary import FIELD_VOCABULARY

if TYPE_CHECKING:  # pragma: no cover - compliance.policy imports this package (a real cycle at run time)
    from compliance.policy import Policy


@dataclass(frozen=True, slots=True)
class Closed:
    fields: tuple[str, ...]


def compile_closed(p: ParamReader) -> Closed:
    raw = p.get("fields")
    if raw is None:
        return Closed(tuple(f for f in FIELD_VOCABULARY if f != "subject"))  # subjects: SUBJECT-* rules
    if not isinstance(raw, list) or not raw or not set(raw) <= set(FIELD_VOCABULARY):
        raise p.err(f"params.fields must list fields among {sorted(FIELD_VOCABULARY)}")
    return Closed(tuple(raw))


def check_closed(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    out = []
    for name in rule.params.fields:
        value = getattr(e, name)
        vocab = policy.vocabularies.get(FIELD_VOCABULARY[name])
        if value is None or vocab is None or value in vocab:
            continue
        accepted = list(vocab.values)
        out.append(finding(
            rule, rule.severity,
            f"{rule.title_zh}：「{name}」的值「{value}」不在政策词表中（可选：{'、'.join(accepted)}）",
            f"{rule.title_en}: {name} {value!r} is not in the policy's vocabulary (accepted: {', '.join(accepted)})",
            {"field": name, "value": value, "accepted": accepted}))
    return out or None


def check_required(rule: Rule, e: ExpenseFacts, g: GrantFacts, ctx: Context, policy: "Policy", text: str):
    out = []
    seen: set[str] = set()
    for name, vocab_name in FIELD_VOCABULARY.items():
        value = getattr(e, name)
        vocab = policy.vocabularies.get(vocab_name)
        code = vocab.by_code.get(value) if vocab is not None and value is not None else None
        if code is None:
            continue
        for needed in code.requires:
            if needed in seen:
                continue
            have = getattr(e, needed)
            if have is None or (isinstance(have, str) and not have.strip()):
                seen.add(needed)
                out.append(missing(rule, policy, needed, f"{vocab.name} 「{code.zh}」须填写",
                                   f"{name} {code.code!r} requires it"))
    return out or None
