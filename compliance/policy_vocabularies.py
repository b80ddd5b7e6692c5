"""The closed vocabularies of a policy version (``vocabularies``, or in older versions the code lists in
``parameters``) compiled into typed ``Vocabulary`` objects; functions of a compiled ``Policy``, bound as its
methods."""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from compliance.policy_files import parse_title
from compliance.rules import PolicyError
from compliance.vocabulary import EXPENSE_FIELD_NAMES, PARAM_VOCABULARY, Vocabulary, compile_vocabulary

VOCABULARIES = ("subjects", "purpose_codes", "payee_kinds", "payment_methods", "fund_sources")
REQUIRED_VOCABULARIES = ("subjects", "purposes", "payee_kinds", "payment_methods", "fund_sources")


def compile_vocabularies(self, name: str) -> None:
    """``vocabularies`` (or, in older versions, the code lists in ``parameters``) → typed vocabularies."""
    p = self.parameters
    raw = self.content.get("vocabularies")
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{name}: vocabularies must be a mapping")
        clash = sorted(k for k in VOCABULARIES if k in p)
        if clash:
            raise PolicyError(f"{name}: {clash} are stated in vocabularies, not parameters")
        missing = [k for k in REQUIRED_VOCABULARIES if k not in raw]
        if missing:
            raise PolicyError(f"{name}: vocabularies missing {missing}")
    else:
        raw = {}
        for key in VOCABULARIES:
            v = p[key]
            if not isinstance(v, Mapping) or not v:
                raise PolicyError(f"{name}: parameters.{key} must map codes to {{zh, en}}")
            for code, label in v.items():
                parse_title(label, f"{name}: parameters.{key}.{code}")
            raw["purposes" if key == "purpose_codes" else key] = v
    self.vocabularies: dict[str, Vocabulary] = {
        k: compile_vocabulary(k, v, EXPENSE_FIELD_NAMES, name) for k, v in raw.items()}
    self.vocab = {PARAM_VOCABULARY.get(k, k): frozenset(v.by_code) for k, v in self.vocabularies.items()}

def mark_forbidden(self, negative_rules) -> None:
    """Each purpose code that a negative-list rule names learns which rules forbid it."""
    by_code: dict[str, list[str]] = {}
    for r in negative_rules:
        for code in sorted(r.params.purposes):
            by_code.setdefault(code, []).append(r.id)
    purposes = self.vocabularies.get("purposes")
    if purposes is None or not by_code:
        return
    codes = tuple(replace(c, forbidden_by=tuple(by_code.get(c.code, ()))) for c in purposes.codes)
    self.vocabularies["purposes"] = replace(purposes, codes=codes, by_code={c.code: c for c in codes})
