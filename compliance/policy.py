"""Policies: compile a policy file's content into a :class:`Policy`; land versions and pick the one in force.

A policy file (``compliance/policies/*.yaml``, read by :mod:`compliance.policy_files`) is one dated version
of a policy set. Once landed in ``policy_versions`` a version never changes: its content hash is the
identity every verdict records. Everything the engine needs is built once in :meth:`Policy.from_content`
(lowercased keywords, frozensets, Decimals, rules grouped by target, a per-scope rule cache, the typed
parameter sections of :mod:`compliance.sections`), so :func:`compliance.rules.judge` does no parsing per
call and nothing outside ``compliance`` reads the raw content.

The module is pure except the version helpers at the end, which take a session, use ``select()`` and
never commit.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Mapping

from sqlalchemy import case, or_, select

from compliance import layers, policy_vocabularies
from compliance.policy_vocabularies import REQUIRED_VOCABULARIES, VOCABULARIES
from compliance import sections
from compliance.screening import Screener, compile_screening
from compliance.models import PolicyVersion
from compliance.policy_files import content_hash, load_policy_file, normalise, parse_date, parse_title
from compliance.rules import KINDS, ParamReader, PolicyError, Rule, parse_tiers
from compliance.rules.registry import INVARIANTS
from compliance.rules.rule import ADJUSTMENT, BUDGET, EXPENSE, SUBSIDY
from compliance.sections import BudgetStructure, EvaluationParameters, SeedFigures
from compliance.vocabulary import (
    FIELD_VOCABULARY,
    RULE_SEVERITIES,
    SCOPE_KEYS,
    Vocabulary,
)

__all__ = ["POLICY_DIR", "DEFAULT_POLICY_SET", "Policy", "PolicyError", "load_policy_file", "content_hash",
           "current_policy", "current_vocabularies", "vocabularies_document",
           "sync_policy_files", "version_in_force", "in_force", "active_versions_picker", "policy_for",
           "BudgetStructure", "EvaluationParameters", "SeedFigures"]

POLICY_DIR = Path(__file__).resolve().parent / "policies"
DEFAULT_POLICY_SET = "ordos-research-funds"

TOP_KEYS = {"policy_set", "version", "title", "effective_from", "effective_to", "status", "sources",
            "parameters", "parameter_sources", "rules", "notes", "vocabularies", "screening", "supersedes",
            "institution_layers"}
RULE_KEYS = {"id", "kind", "title", "source", "scope", "effective_from", "effective_to", "severity",
             "negative_list", "params", "notes", "unconfirmed"}
STATUSES = ("active", "draft")
# Vocabulary parameters of the versions that predate the ``vocabularies`` section: code lists the rules are
# checked against (they need no source of their own). A version with ``vocabularies`` states them there.
REQUIRED_PARAMETERS = ("budget_structure", "indirect_tiers", "fail_closed_severity")
# Vocabularies of the rulebook (travel, meetings, procurement): optional, {code: {zh, en}} in parameters.
OPTIONAL_VOCABULARIES = ("cities", "traveller_ranks", "meeting_classes", "procurement_methods")


# ---------------------------------------------------------------------------------------- Policy

class Policy:
    """One compiled policy version. Build with :meth:`from_content`; treat as immutable."""

    def __init__(self) -> None:  # use from_content
        self._scope_cache: dict[tuple, tuple[Rule, ...]] = {}

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_content(cls, content: Mapping) -> "Policy":
        if not isinstance(content, Mapping):
            raise PolicyError("policy content must be a mapping")
        content = normalise(content, "policy")
        extra = sorted(set(content) - TOP_KEYS)
        if extra:
            raise PolicyError(f"unknown top-level keys {extra} (allowed: {sorted(TOP_KEYS)})")
        self = cls()
        self.content = content
        self.content_hash = content_hash(content)
        for key in ("policy_set", "version"):
            if not isinstance(content.get(key), str) or not content[key].strip():
                raise PolicyError(f"{key} is required and must be a string (quote versions: \"2021.1\")")
        self.policy_set = content["policy_set"]
        self.version = content["version"]
        name = f"{self.policy_set} {self.version}"
        self.title_zh, self.title_en = parse_title(content.get("title"), f"{name}: title")
        self.effective_from = parse_date(content.get("effective_from"), f"{name}: effective_from")
        self.effective_to = parse_date(content.get("effective_to"), f"{name}: effective_to", required=False)
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise PolicyError(f"{name}: effective_to is before effective_from")
        self.supersedes = content.get("supersedes")
        if self.supersedes is not None and (not isinstance(self.supersedes, str) or self.supersedes == self.version):
            raise PolicyError(f"{name}: supersedes names an earlier version of the set (a string)")
        self.status = content.get("status", "active")
        if self.status not in STATUSES:
            raise PolicyError(f"{name}: status must be one of {list(STATUSES)}, got {self.status!r}")

        sources = content.get("sources")
        if not isinstance(sources, Mapping) or not sources:
            raise PolicyError(f"{name}: sources must map document ids to {{title, …}}")
        for doc, meta in sources.items():
            if not isinstance(meta, Mapping) or not isinstance(meta.get("title"), str) or not meta["title"].strip():
                raise PolicyError(f"{name}: source {doc} needs a title")
        self.sources = sources

        params = content.get("parameters")
        if not isinstance(params, Mapping):
            raise PolicyError(f"{name}: parameters must be a mapping")
        required = REQUIRED_PARAMETERS if "vocabularies" in content else REQUIRED_PARAMETERS + VOCABULARIES
        missing = [k for k in required if k not in params]
        if missing:
            raise PolicyError(f"{name}: parameters missing {missing}")
        self.parameters = params
        self._compile_parameters(name)

        psources = content.get("parameter_sources") or {}
        if not isinstance(psources, Mapping):
            raise PolicyError(f"{name}: parameter_sources must be a mapping")
        unsourced = sorted(k for k in params if k not in VOCABULARIES and k not in OPTIONAL_VOCABULARIES
                           and k not in psources)
        if unsourced:
            raise PolicyError(f"{name}: parameters without a source in parameter_sources: {unsourced}")
        for k, src in psources.items():
            if k not in params:
                raise PolicyError(f"{name}: parameter_sources.{k} names no parameter")
            self._cite(src, f"{name}: parameter_sources.{k}")
        self.parameter_sources = psources

        raw_rules = content.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            raise PolicyError(f"{name}: rules must be a non-empty list")
        rules = []
        seen: set[str] = set()
        for i, raw in enumerate(raw_rules):
            rule = self._compile_rule(raw, f"{name}: rules[{i}]")
            if rule.id in seen:
                raise PolicyError(f"{name}: duplicate rule id {rule.id}")
            seen.add(rule.id)
            rules.append(rule)
        stated_kinds = {r.kind for r in rules}
        rules.extend(r for r in INVARIANTS if r.kind not in stated_kinds and r.id not in seen)
        self.rules = tuple(rules)
        negative = {r.id: r for r in rules if r.kind == "forbidden_purpose"}
        self.screener: Screener = compile_screening(
            content.get("screening"), {rid: r.params.keywords for rid, r in negative.items()}, name)
        self._mark_forbidden(negative.values())
        self.seed_figures = sections.seed_figures(params, raw_rules, name)
        self.rules_by_id = {r.id: r for r in rules}
        # a budget kind that judges expenses too contributes its rule to both (same id, its expense check)
        self.expense_rules = tuple(
            r if r.target == EXPENSE else replace(r, target=EXPENSE, check=KINDS[r.kind].expense_check)
            for r in rules if r.target == EXPENSE or KINDS[r.kind].expense_check is not None)
        self.budget_rules = tuple(r for r in rules if r.target == BUDGET)
        self.adjustment_rules = tuple(r for r in rules if r.target == ADJUSTMENT)
        self.subsidy_rules = tuple(r for r in rules if r.target == SUBSIDY)
        self.negative_list_ids = frozenset(r.id for r in rules if r.negative_list)
        self.layers = self._compile_layers(content.get("institution_layers"), name)
        fallbacks = [r.id for r in self.adjustment_rules if r.params.fallback]
        if self.adjustment_rules and len(fallbacks) != 1:
            raise PolicyError(f"{name}: budget_adjustment rules need exactly one fallback rule, found {fallbacks}")
        return self

    _compile_vocabularies = policy_vocabularies.compile_vocabularies
    _mark_forbidden = policy_vocabularies.mark_forbidden

    def _compile_parameters(self, name: str) -> None:
        p = self.parameters
        self._compile_vocabularies(name)
        vocab = self.vocab
        self.labels: dict[str, dict] = {}
        for key in OPTIONAL_VOCABULARIES:
            v = p.get(key)
            if v is None:
                vocab[key] = frozenset()
                continue
            if not isinstance(v, Mapping) or not v:
                raise PolicyError(f"{name}: parameters.{key} must map codes to {{zh, en}}")
            for code, label in v.items():
                parse_title(label, f"{name}: parameters.{key}.{code}")
            vocab[key] = frozenset(v)
            self.labels[key] = {**{label["zh"]: code for code, label in v.items()}, "__codes__": frozenset(v)}
        self.subjects = vocab["subjects"]
        self.subject_names = {c.code: c.zh for c in self.vocabularies["subjects"].codes}
        self.structure = sections.budget_structure(p["budget_structure"], self.subjects, name)
        self.evaluations = sections.evaluation_parameters(p, name)
        self._tiers: dict[str, tuple] = {}
        for k, v in p.items():
            if k.startswith("indirect_tiers"):
                self._tiers[k] = parse_tiers(v, f"{name}: parameters.{k}")
        self.indirect_tiers = self._tiers["indirect_tiers"]
        if p["fail_closed_severity"] not in ("needs_approval", "reject"):
            raise PolicyError(f"{name}: parameters.fail_closed_severity must be needs_approval or reject")
        self.fail_closed_severity = p["fail_closed_severity"]

    def _cite(self, src: Any, where: str) -> str:
        items = src if isinstance(src, list) else [src]
        if not items:
            raise PolicyError(f"{where}: source is required")
        parts = []
        for s in items:
            if not isinstance(s, Mapping) or "doc" not in s:
                raise PolicyError(f"{where}: source needs doc (and usually article)")
            meta = self.sources.get(s["doc"])
            if meta is None:
                raise PolicyError(f"{where}: source doc {s['doc']!r} is not listed in sources")
            short = meta.get("short") or s["doc"]
            art = s.get("article")
            parts.append(f"{short} {art}" if art else short)
        return "; ".join(parts)

    def _compile_rule(self, raw: Any, where: str) -> Rule:
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{where}: a rule is a mapping")
        rid = raw.get("id")
        if not isinstance(rid, str) or not rid.strip():
            raise PolicyError(f"{where}: rule needs an id")
        where = f"{where} ({rid})"
        extra = sorted(set(raw) - RULE_KEYS)
        if extra:
            raise PolicyError(f"{where}: unknown keys {extra} (allowed: {sorted(RULE_KEYS)})")
        kind = raw.get("kind")
        spec = KINDS.get(kind)
        if spec is None:
            raise PolicyError(f"{where}: unknown kind {kind!r}; the engine knows {sorted(KINDS)}")
        title_zh, title_en = parse_title(raw.get("title"), where)
        if "source" not in raw:
            raise PolicyError(f"{where}: source is required")
        source = self._cite(raw["source"], where)
        severity = raw.get("severity")
        if severity not in RULE_SEVERITIES:
            raise PolicyError(f"{where}: severity must be one of {list(RULE_SEVERITIES)}, got {severity!r}")
        neg = raw.get("negative_list", False)
        if not isinstance(neg, bool):
            raise PolicyError(f"{where}: negative_list is true or false")
        scope = []
        raw_scope = raw.get("scope") or {}
        if not isinstance(raw_scope, Mapping):
            raise PolicyError(f"{where}: scope must be a mapping")
        for key, values in raw_scope.items():
            include = not key.startswith("not_")
            base = key if include else key[4:]
            if base not in SCOPE_KEYS:
                raise PolicyError(f"{where}: unknown scope key {key!r} (known: {sorted(SCOPE_KEYS)} and not_*)")
            attr, known = SCOPE_KEYS[base]
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise PolicyError(f"{where}: scope.{key} must be a non-empty list of strings")
            if known is None and base == "fund_sources":
                known = self.vocab["fund_sources"]
            bad = sorted(set(values) - known)
            if bad:
                raise PolicyError(f"{where}: scope.{key} has unknown values {bad}")
            scope.append((attr, frozenset(values), include))
        eff_from = parse_date(raw.get("effective_from"), f"{where}: effective_from", required=False)
        eff_to = parse_date(raw.get("effective_to"), f"{where}: effective_to", required=False)
        reader = ParamReader(rid, raw.get("params") or {}, self.vocab)
        params = spec.compile(reader)
        reader.finish()
        unconfirmed = raw.get("unconfirmed", ())
        if unconfirmed is True:
            unconfirmed = ("figures",)
        if unconfirmed is False:
            unconfirmed = ()
        if not isinstance(unconfirmed, (list, tuple)) or not all(isinstance(u, str) for u in unconfirmed):
            raise PolicyError(f"{where}: unconfirmed is true or a list of the params whose figures are unconfirmed")
        bad = sorted(u for u in unconfirmed if u != "figures" and u not in (raw.get("params") or {}))
        if bad:
            raise PolicyError(f"{where}: unconfirmed names no param: {bad}")
        return Rule(rid, kind, spec.target, title_zh, title_en, source, severity, neg, eff_from, eff_to,
                    tuple(scope), params, spec.check, tuple(unconfirmed))

    # -- institutions' own layers -------------------------------------------------------------
    _compile_layers = layers.compile_layers
    _raw_params = layers.raw_params
    _layered = layers.layered

    # -- use ---------------------------------------------------------------------------------
    def expense_rules_for(self, grant: Any) -> tuple[Rule, ...]:
        """Expense rules whose scope matches the grant, cached per scope key."""
        inst = getattr(grant, "institution_id", None)
        key = (grant.category, grant.funding_mode, grant.management_mode, grant.institution_kind, grant.fund_source,
               inst)
        rules = self._scope_cache.get(key)
        if rules is None:
            rules = tuple(r for r in self.expense_rules if r.applies_to(grant))
            layer_ids = tuple(l[0] for l in self.layers if inst in l[1] or grant.institution_kind in l[2])
            if layer_ids:
                layered = self._layered(layer_ids)
                rules = tuple(layered.get(r.id, r) for r in rules)
            if len(self._scope_cache) < 4096:
                self._scope_cache[key] = rules
        return rules

    @functools.cached_property
    def prior_payment_reads(self) -> tuple[tuple[frozenset, int | None], ...]:
        """What the rules reading earlier payments to the same payee can use: (purpose codes, look-back days
        or None for all time) per rule, institution layers' longer windows included."""
        layered = self._layered(tuple(l[0] for l in self.layers)) if self.layers else {}
        reads = []
        for r in (*self.expense_rules, *layered.values()):
            spec = KINDS[r.kind]
            if spec.prior_payments is not None:
                reads.append(spec.prior_payments(r.params))
        return tuple(dict.fromkeys(reads))

    def tiers(self, name: str) -> tuple:
        try:
            return self._tiers[name]
        except KeyError:
            raise PolicyError(f"{self.policy_set} {self.version}: no parameter {name}") from None

    def rule(self, rule_id: str) -> Rule:
        return self.rules_by_id[rule_id]

    def __repr__(self) -> str:
        return f"<Policy {self.policy_set} {self.version} {self.status} {self.effective_from}..{self.effective_to}>"


# ----------------------------------------------------------------------------------- DB helpers

def sync_policy_files(session, directory: str | Path | None = None) -> list[PolicyVersion]:
    """Land every policy file whose content hash is not yet in ``policy_versions``; return the new rows.

    Each file is validated (compiled) first. A file whose (policy_set, version) is already landed with a
    different hash is an error: a landed version never changes; publish a new version instead. Flushes,
    never commits.
    """
    directory = Path(directory) if directory is not None else POLICY_DIR
    added: list[PolicyVersion] = []
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    files = []
    for path in sorted(directory.glob("*.yaml")):
        content = load_policy_file(path)
        files.append((path, content, Policy.from_content(content)))
    # landed in version order, so a restated version (2021.2 over 2021.1, same dates) is landed later and wins
    # the tie in version_in_force even in a fresh database
    files.sort(key=lambda f: (f[2].policy_set, _version_key(f[2].version)))
    for path, content, policy in files:
        h = policy.content_hash
        key = (policy.policy_set, policy.version)
        if key in seen and seen[key][0] != h:
            raise PolicyError(f"{path.name} and {seen[key][1]} both define {key[0]} {key[1]} with different content")
        seen[key] = (h, path.name)
        if session.scalar(select(PolicyVersion.id).where(PolicyVersion.content_hash == h)) is not None:
            continue
        landed = session.scalar(select(PolicyVersion).where(PolicyVersion.policy_set == policy.policy_set,
                                                            PolicyVersion.version == policy.version))
        if landed is not None:
            raise PolicyError(
                f"{path.name}: {policy.policy_set} {policy.version} is already landed with hash "
                f"{landed.content_hash[:12]}… but the file now hashes {h[:12]}…; a landed version never changes — "
                f"give the change a new version")
        pv = PolicyVersion(policy_set=policy.policy_set, version=policy.version, title=policy.title_zh,
                           effective_from=policy.effective_from, effective_to=policy.effective_to,
                           status=policy.status, source_file=path.name, content_hash=h, content=content)
        session.add(pv)
        added.append(pv)
    if added:
        session.flush()
    return added


def _version_key(version: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))


def in_force_stmt(on_date: date, policy_set: str = DEFAULT_POLICY_SET, include_drafts: bool = False,
                  columns: tuple = ()):
    """The select of the version of ``policy_set`` in force on ``on_date`` (``columns``, or the whole row):
    active (or, for what-if replay, draft too), effective_from ≤ date ≤ effective_to (open end allowed);
    the latest effective_from wins, and on a tie a draft wins over the active version it would replace."""
    statuses = ("active", "draft") if include_drafts else ("active",)
    return (
        select(*(columns or (PolicyVersion,)))
        .where(PolicyVersion.policy_set == policy_set,
               PolicyVersion.status.in_(statuses),
               PolicyVersion.effective_from <= on_date,
               or_(PolicyVersion.effective_to.is_(None), PolicyVersion.effective_to >= on_date))
        .order_by(PolicyVersion.effective_from.desc(),
                  case((PolicyVersion.status == "draft", 0), else_=1),
                  PolicyVersion.id.desc())
        .limit(1)
    )


def version_in_force(session, on_date: date, policy_set: str = DEFAULT_POLICY_SET,
                     include_drafts: bool = False) -> PolicyVersion | None:
    """The version of ``policy_set`` in force on ``on_date`` (see :func:`in_force_stmt`)."""
    return session.scalars(in_force_stmt(on_date, policy_set, include_drafts)).first()


@dataclass(frozen=True)
class VersionRef:
    """A landed version as a verdict records it (id, set, version) with its content hash: read in the same
    round trip as the facts it judges (``in_force_stmt(columns=VersionRef.COLUMNS)`` as a subquery), the
    compiled policy then comes from the cache by hash (:func:`compiled`)."""

    id: int
    policy_set: str
    version: str
    content_hash: str

    COLUMNS: ClassVar[tuple] = (PolicyVersion.id, PolicyVersion.policy_set, PolicyVersion.version,
                                PolicyVersion.content_hash)


def compiled(session, ref: VersionRef) -> "Policy":
    """The compiled policy of a version named by ``ref``: from the cache, else loaded and checked once."""
    policy = _CACHE.get(ref.content_hash)
    return policy if policy is not None else policy_for(session.get(PolicyVersion, ref.id))


def in_force(session, on_date: date) -> tuple[PolicyVersion | None, "Policy | None"]:
    """The version of the main policy set in force on a date and its compiled policy (None, None if none)."""
    version = version_in_force(session, on_date)
    return (version, policy_for(version)) if version else (None, None)


def active_versions_picker(session, policy_set: str = DEFAULT_POLICY_SET):
    """``pick(date) -> PolicyVersion | None`` over the active versions loaded once — for judging many
    expenses of many dates (an import) with the same answer as :func:`version_in_force`."""
    versions = session.scalars(select(PolicyVersion).where(
        PolicyVersion.policy_set == policy_set, PolicyVersion.status == "active")
        .order_by(PolicyVersion.effective_from.desc(), PolicyVersion.id.desc())).all()
    memo: dict = {}

    def pick(on_date: date):
        if on_date not in memo:
            memo[on_date] = next((v for v in versions if v.effective_from <= on_date
                                  and (v.effective_to is None or on_date <= v.effective_to)), None)
        return memo[on_date]

    return pick


_CACHE: dict[str, Policy] = {}
_CACHE_MAX = 32
_CACHE_LOCK = threading.Lock()


def policy_for(version: PolicyVersion) -> Policy:
    """The compiled :class:`Policy` of a landed version, cached by content hash. The stored content is
    re-hashed on first use: a row whose content no longer matches its hash is refused."""
    h = version.content_hash
    policy = _CACHE.get(h)
    if policy is not None:
        return policy
    policy = Policy.from_content(version.content)
    if policy.content_hash != h:
        raise PolicyError(f"policy version {version.policy_set} {version.version}: stored content hashes "
                          f"{policy.content_hash[:12]}…, not the recorded {h[:12]}…; refusing to use it")
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[h] = policy
    return policy


# --------------------------------------------------------------------------- the vocabularies of today

@functools.lru_cache(maxsize=4)
def current_policy(policy_set: str = DEFAULT_POLICY_SET, directory: str | None = None) -> Policy:
    """The newest active version of ``policy_set`` among the policy files (latest effective_from, then the
    highest version): whose vocabularies the API, the importer and the form offer. Read once per process."""
    best = None
    for path in sorted(Path(directory or POLICY_DIR).glob("*.yaml")):
        policy = Policy.from_content(load_policy_file(path))
        if policy.policy_set != policy_set or policy.status != "active":
            continue
        key = (policy.effective_from, _version_key(policy.version))
        if best is None or key > best[0]:
            best = (key, policy)
    if best is None:
        raise PolicyError(f"no active policy file of {policy_set} in {directory or POLICY_DIR}")
    return best[1]


def current_vocabularies() -> dict[str, "Vocabulary"]:
    """name → :class:`~compliance.vocabulary.Vocabulary` of the current policy (see :func:`current_policy`)."""
    return current_policy().vocabularies


def vocabularies_document(policy: Policy | None = None) -> dict:
    """What a client needs to build its drop-downs: each vocabulary's codes, labels, synonyms, the fields
    each code requires, and which negative-list rules forbid it; with the policy version they come from."""
    policy = policy or current_policy()
    fields_by_vocab = {v: k for k, v in FIELD_VOCABULARY.items()}
    return {
        "policy_set": policy.policy_set, "version": policy.version, "content_hash": policy.content_hash,
        "vocabularies": [{"name": v.name, "field": fields_by_vocab.get(v.name),
                          "codes": [c.to_dict() for c in v.codes]} for v in policy.vocabularies.values()],
    }
