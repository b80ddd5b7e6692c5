"""Reading a rule's ``params`` once, when the policy is compiled: ParamReader, numbers, tiers, matchers."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from compliance.rules.facts import ExpenseFacts
from compliance.text import normalise

CENT = Decimal("0.01")
ZERO = Decimal("0")


class PolicyError(ValueError):
    """A policy file or policy content is malformed, or a landed version would change."""


class Match:
    """What an expense is: subjects AND payee kinds AND payment methods AND (purpose code OR keyword).

    Omitted dimensions match anything. Keywords are normalised once here (:func:`compliance.text.normalise`)
    and matched as substrings of the normalised description.
    """

    __slots__ = ("subjects", "purposes", "keywords", "payee_kinds", "payment_methods")

    def __init__(self, subjects, purposes, keywords, payee_kinds, payment_methods):
        self.subjects, self.purposes, self.keywords = subjects, purposes, keywords
        self.payee_kinds, self.payment_methods = payee_kinds, payment_methods

    def __call__(self, e: ExpenseFacts, text: str) -> bool:
        if self.subjects is not None and e.subject not in self.subjects:
            return False
        if self.payee_kinds is not None and e.payee_kind not in self.payee_kinds:
            return False
        if self.payment_methods is not None and e.payment_method not in self.payment_methods:
            return False
        if self.purposes is None and self.keywords is None:
            return True
        if self.purposes is not None and e.purpose in self.purposes:
            return True
        if self.keywords and text:
            for kw in self.keywords:
                if kw in text:
                    return True
        return False


def any_match(matchers: tuple, e: ExpenseFacts, text: str) -> bool:
    for m in matchers:
        if m(e, text):
            return True
    return False



class ParamReader:
    """Reads one rule's ``params`` with clear errors; checks codes against the policy vocabulary."""

    def __init__(self, rule_id: str, params: Mapping, vocab: Mapping[str, frozenset]):
        if not isinstance(params, Mapping):
            raise PolicyError(f"rule {rule_id}: params must be a mapping")
        self.rule_id, self.params, self.vocab = rule_id, params, vocab
        self.used: set[str] = set()

    def err(self, msg: str) -> PolicyError:
        return PolicyError(f"rule {self.rule_id}: {msg}")

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.params.get(key, default)

    def strs(self, key: str, vocab: str | None = None, required: bool = False, value=None) -> frozenset | None:
        raw = self.get(key) if value is None else value
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
            raise self.err(f"params.{key} must be a list of strings")
        out = []
        for v in raw:
            if not isinstance(v, str) or not v:
                raise self.err(f"params.{key} must be a list of non-empty strings, got {v!r}")
            out.append(v)
        if vocab is not None:
            known = self.vocab.get(vocab, frozenset())
            unknown = sorted(set(out) - known)
            if unknown:
                raise self.err(f"params.{key}: unknown {vocab} {unknown}; declare them in parameters.{vocab}")
        return frozenset(out)

    def keywords(self, key: str, value=None) -> tuple[str, ...] | None:
        raw = self.get(key) if value is None else value
        if raw is None:
            return None
        if not isinstance(raw, (list, tuple)) or not all(isinstance(k, str) and k.strip() for k in raw):
            raise self.err(f"params.{key} must be a list of non-empty strings")
        out = tuple(dict.fromkeys(normalise(k) for k in raw))   # as the description is (compliance.text)
        if not all(out):
            raise self.err(f"params.{key}: a keyword is only spaces or punctuation")
        return out

    def decimal(self, key: str, required: bool = True, default: str | None = None, value=None) -> Decimal | None:
        raw = self.get(key, default) if value is None else value
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        return to_decimal(raw, f"rule {self.rule_id}: params.{key}")

    def choice(self, key: str, choices: Iterable[str], default: str | None = None) -> str:
        raw = self.get(key, default)
        choices = tuple(choices)
        if raw not in choices:
            raise self.err(f"params.{key} must be one of {list(choices)}, got {raw!r}")
        return raw

    def boolean(self, key: str, default: bool = False) -> bool:
        raw = self.get(key, default)
        if not isinstance(raw, bool):
            raise self.err(f"params.{key} must be true or false")
        return raw

    def text(self, key: str, required: bool = False) -> dict | None:
        raw = self.get(key)
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        if not isinstance(raw, Mapping) or not isinstance(raw.get("zh"), str) or not isinstance(raw.get("en"), str):
            raise self.err(f"params.{key} must have zh and en texts")
        if set(raw) != {"zh", "en"}:
            raise self.err(f"params.{key} has keys besides zh and en (quote a text that contains commas)")
        return {"zh": raw["zh"], "en": raw["en"]}

    def matchers(self, key: str, required: bool = False) -> tuple[Match, ...] | None:
        raw = self.get(key)
        if raw is None:
            if required:
                raise self.err(f"params.{key} is required")
            return None
        specs = [raw] if isinstance(raw, Mapping) else raw
        if not isinstance(specs, (list, tuple)) or not specs:
            raise self.err(f"params.{key} must be a mapping or a non-empty list of mappings")
        out = []
        allowed = {"subjects", "purposes", "keywords", "payee_kinds", "payment_methods"}
        for spec in specs:
            if not isinstance(spec, Mapping) or not spec:
                raise self.err(f"params.{key}: each entry must be a non-empty mapping")
            extra = set(spec) - allowed
            if extra:
                raise self.err(f"params.{key}: unknown keys {sorted(extra)} (allowed {sorted(allowed)})")
            out.append(Match(
                self.strs(f"{key}.subjects", "subjects", value=spec.get("subjects")) if "subjects" in spec else None,
                self.strs(f"{key}.purposes", "purpose_codes", value=spec.get("purposes")) if "purposes" in spec else None,
                self.keywords(f"{key}.keywords", value=spec.get("keywords")) if "keywords" in spec else None,
                self.strs(f"{key}.payee_kinds", "payee_kinds", value=spec.get("payee_kinds"))
                if "payee_kinds" in spec else None,
                self.strs(f"{key}.payment_methods", "payment_methods", value=spec.get("payment_methods"))
                if "payment_methods" in spec else None,
            ))
        return tuple(out)

    def finish(self) -> None:
        extra = sorted(set(self.params) - self.used)
        if extra:
            raise self.err(f"unknown params {extra}")


def to_decimal(raw: Any, where: str) -> Decimal:
    """Money and ratios are written as strings (or integers) in policy data, never floats."""
    if isinstance(raw, bool) or isinstance(raw, float):
        raise PolicyError(f"{where}: write numbers as strings (e.g. \"0.30\"), not {type(raw).__name__} {raw!r}")
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, (int, str)):
        try:
            d = Decimal(str(raw).strip())
        except InvalidOperation:
            raise PolicyError(f"{where}: {raw!r} is not a number") from None
        if not d.is_finite():
            raise PolicyError(f"{where}: {raw!r} is not a finite number")
        return d
    raise PolicyError(f"{where}: expected a number string, got {type(raw).__name__}")


def parse_tiers(raw: Any, where: str) -> tuple[tuple[Decimal | None, Decimal], ...]:
    """``[{up_to: "5000000", rate: "0.30"}, …, {up_to: null, rate: "0.20"}]`` → ((up_to, rate), …)."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise PolicyError(f"{where}: must be a non-empty list of {{up_to, rate}}")
    out: list[tuple[Decimal | None, Decimal]] = []
    last = ZERO
    for i, t in enumerate(raw):
        if isinstance(t, tuple) and len(t) == 2:
            up_to, rate = t
        elif isinstance(t, Mapping) and set(t) == {"up_to", "rate"}:
            up_to, rate = t["up_to"], t["rate"]
        else:
            raise PolicyError(f"{where}[{i}]: each tier is {{up_to, rate}}")
        up = None if up_to is None else to_decimal(up_to, f"{where}[{i}].up_to")
        r = to_decimal(rate, f"{where}[{i}].rate")
        if not ZERO <= r <= 1:
            raise PolicyError(f"{where}[{i}].rate must be between 0 and 1, got {r}")
        if up is None and i != len(raw) - 1:
            raise PolicyError(f"{where}[{i}]: only the last tier may be open-ended (up_to: null)")
        if up is not None and up <= last:
            raise PolicyError(f"{where}[{i}].up_to must increase, got {up} after {last}")
        if up is not None:
            last = up
        out.append((up, r))
    if out[-1][0] is not None:
        raise PolicyError(f"{where}: the last tier must be open-ended (up_to: null)")
    return tuple(out)



def no_params(p: ParamReader) -> None:
    """The compile of a kind that takes no params (any given is refused by :meth:`ParamReader.finish`)."""
    return None
