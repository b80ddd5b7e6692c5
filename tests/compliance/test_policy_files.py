"""The policy files: they load, they are complete, they are dated, and the loader refuses bad data.

Pure tests: no database, no Flask app.
"""
from __future__ import annotations

import copy
import os
import re
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace

import pytest

from budgets import models as budget_models
from compliance import policy as policy_module
from compliance.policy import POLICY_DIR, Policy, PolicyError, content_hash, load_policy_file, policy_for
from compliance.rules import (CATEGORIES, FUNDING_MODES, GRANT_STATUSES, INSTITUTION_KINDS, KINDS, MANAGEMENT_MODES,
                              RULE_SEVERITIES)
from compliance.sections import SeedFigures
from compliance.vocabulary import Subject, Verdict
from grants import models as gm

FILES = sorted(POLICY_DIR.glob("*.yaml"))
CONTENTS = {p.name: load_policy_file(p) for p in FILES}
POLICIES = {name: Policy.from_content(c) for name, c in CONTENTS.items()}
C2021 = CONTENTS["ordos-research-funds-2021.yaml"]
# the seed texts sit beside the repository (../shared/seeds), not in it
SEEDS_DIR = Path(os.environ.get("SEEDS_DIR") or Path(__file__).resolve().parents[3] / "shared" / "seeds")

# The ids DOMAIN.md asks for that can apply to an expense or to budget-setting.
DOMAIN_IDS_2021 = {
    "NEG-LAW", "NEG-FAKE", "NEG-UNRELATED-ASSET", "NEG-PROCUREMENT", "NEG-LABOR-UNRELATED", "NEG-GIFTCARD",
    "NEG-PERSONAL", "NEG-FINE-ETC", "NEG-EXTRA-MGMT-FEE", "SEED-INSTRUMENT-30W", "SEED-BUDGET-NEGLIST",
    "SEED-LUMPSUM",
}


def test_there_are_at_least_two_versions_of_the_main_policy_set():
    versions = [p for p in POLICIES.values() if p.policy_set == "ordos-research-funds"]
    assert len(versions) >= 2


@pytest.mark.parametrize("name", sorted(CONTENTS))
def test_every_policy_file_loads_validates_and_names_its_file_by_its_set(name):
    p = POLICIES[name]
    assert name.startswith(p.policy_set)
    assert p.status in ("active", "draft")
    assert p.rules and p.expense_rules and p.budget_rules and p.adjustment_rules


def test_active_versions_of_a_set_cover_time_without_gaps_or_overlaps():
    superseded = {p.supersedes for p in POLICIES.values() if p.supersedes}
    active = sorted((p for p in POLICIES.values() if p.status == "active" and p.policy_set == "ordos-research-funds"
                     and p.version not in superseded), key=lambda p: p.effective_from)
    # a landed version never changes, so a newer version may supersede an open-ended one (the latest
    # effective_from in force wins, compliance.policy.version_in_force); a closed version ends the day before
    # the next begins
    for before, after in zip(active, active[1:]):
        assert before.effective_from < after.effective_from
        assert before.effective_to is None or before.effective_to + timedelta(days=1) == after.effective_from
    assert active[-1].effective_to is None


def test_the_2021_reform_starts_on_13_august_2021():
    """国办发〔2021〕32号 was published on 2021-08-13; the 2020.1 version ends the day before."""
    p21 = POLICIES["ordos-research-funds-2021.yaml"]
    p20 = POLICIES["ordos-research-funds-2020.yaml"]
    assert p21.effective_from == date(2021, 8, 13)
    assert p20.effective_to == date(2021, 8, 12)


def test_indirect_tiers_are_dated():
    """国办发〔2021〕32号 (七): 30/25/20% and 60% for pure theory; 中办发〔2016〕50号: 20/15/13%."""
    rates21 = [r for _, r in POLICIES["ordos-research-funds-2021.yaml"].indirect_tiers]
    rates20 = [r for _, r in POLICIES["ordos-research-funds-2020.yaml"].indirect_tiers]
    assert rates21 == [D("0.30"), D("0.25"), D("0.20")]
    assert rates20 == [D("0.20"), D("0.15"), D("0.13")]
    assert POLICIES["ordos-research-funds-2021.yaml"].tiers("indirect_tiers_pure_theory") == ((None, D("0.60")),)


def test_every_domain_rule_id_is_policy_data_in_the_2021_version():
    ids = {r.id for r in POLICIES["ordos-research-funds-2021.yaml"].rules}
    assert DOMAIN_IDS_2021 <= ids, sorted(DOMAIN_IDS_2021 - ids)


def test_seed_rules_are_not_applied_before_the_seeds_existed():
    """The seeds are 2023–2025 documents: the 2020.1 version carries none of their rules or citations."""
    p20 = POLICIES["ordos-research-funds-2020.yaml"]
    assert not [r.id for r in p20.rules if r.id.startswith("SEED-")]
    assert not [r.id for r in p20.rules if "seed" in r.source]


def test_every_negative_list_rule_is_marked_as_such():
    for p in POLICIES.values():
        neg = {r.id for r in p.rules if r.id.startswith("NEG-")}
        assert neg == set(p.negative_list_ids), p


def test_every_rule_has_both_titles_a_source_and_a_known_kind():
    for p in POLICIES.values():
        for r in p.rules:
            assert r.kind in KINDS
            assert r.title_zh and r.title_en and r.source, r.id


def test_seed_sources_name_seed_files_that_exist():
    for c in CONTENTS.values():
        for doc, meta in c["sources"].items():
            if doc.startswith("SEED-"):
                assert re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", meta["file"]), doc
                if SEEDS_DIR.is_dir():
                    assert (SEEDS_DIR / meta["file"]).is_file(), meta["file"]


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="seed texts live outside the repository")
def test_the_instrument_rule_quotes_what_seed_001_section_22_says():
    """SEED-INSTRUMENT-30W: seed 001 (二十二) — 单台套价值 30 万元及以上 … 纳入 … 共享服务平台."""
    text = (SEEDS_DIR / "001_60a234b90c5d1da5.txt").read_text(encoding="utf-8")
    section = text[text.index("(二十二)"):text.index("(二十三)")]
    assert "30 万元及以上" in section and "共享服务平台" in section
    rule = POLICIES["ordos-research-funds-2021.yaml"].rule("SEED-INSTRUMENT-30W")
    assert rule.params.at_least == D("300000") and rule.source == "seed 001 (二十二)"


def test_enum_values_match_the_models():
    """The engine's grant vocabularies are the model enums' values (one source of truth, grants.models)."""
    assert CATEGORIES == {c.value for c in gm.Category}
    assert FUNDING_MODES == {c.value for c in gm.FundingMode}
    assert MANAGEMENT_MODES == {c.value for c in gm.ManagementMode}
    assert INSTITUTION_KINDS == {c.value for c in gm.InstitutionKind}
    assert GRANT_STATUSES == {c.value for c in gm.GrantStatus}


def test_the_engine_owns_subjects_and_verdicts_and_budgets_uses_them():
    assert budget_models.Subject is Subject and budget_models.Verdict is Verdict
    assert [v.value for v in Verdict] == ["allow", "warn", "needs_approval", "reject"]   # stored values unchanged
    assert [s.value for s in Subject] == ["equipment", "operations", "labour", "indirect", "lump_sum"]
    assert RULE_SEVERITIES == ("warn", "needs_approval", "reject")


def test_policy_subjects_match_the_budget_subject_enum():
    for p in POLICIES.values():
        assert p.subjects == {s.value for s in Subject}


def test_every_kind_is_in_the_one_registry_with_its_compile_and_check():
    """Expense and budget-setting kinds alike: one table, each kind with a target, a compile and a check."""
    targets = {}
    for spec in KINDS.values():
        assert callable(spec.compile) and callable(spec.check), spec.name
        targets.setdefault(spec.target, set()).add(spec.name)
    assert {"budget_total", "budget_subjects", "indirect_cap", "no_indirect_fund_source"} == targets["budget"]
    assert targets["adjustment"] == {"budget_adjustment"} and targets["subsidy"] == {"subsidy_eligibility"}
    for p in POLICIES.values():
        assert all(r.check is KINDS[r.kind].check for r in p.rules)


def test_typed_parameter_sections_say_what_each_version_states():
    p20, p21 = POLICIES["ordos-research-funds-2020.yaml"], POLICIES["ordos-research-funds-2021.yaml"]
    assert p21.structure.direct == ("equipment", "operations", "labour") and p21.structure.indirect == "indirect"
    assert p20.evaluations.acceptance_request_within_months == 6
    assert p21.evaluations.first_year_target_min_share == D("0.50")
    seed = p21.seed_figures
    assert (seed.youth_share_min, seed.youth_max_age, seed.horizontal_min_non_fiscal) == (D("0.40"), 40, D("400000"))
    assert (seed.soe_increment_weight, seed.special_fund_growth_rate) == (D("1.50"), D("0.20"))
    assert seed.instrument_min_unit_value == D("300000")
    assert seed.instrument_exempt_fund_sources == ("self_raised", "enterprise_contract")
    assert seed.instrument_institution_kinds == ("university", "research_institute")
    assert p20.seed_figures == SeedFigures()   # 2020.1 states none of them: the reports keep their defaults


def test_a_malformed_typed_section_is_refused_when_the_policy_is_built():
    c = copy.deepcopy(CONTENTS["ordos-research-funds-2021.yaml"])
    c["parameters"]["basic_research_funds"]["youth_max_age"] = "forty"
    with pytest.raises(PolicyError, match="youth_max_age"):
        Policy.from_content(c)


# ----------------------------------------------------------------------------------- hashing

def test_content_hash_ignores_key_order_and_date_types():
    shuffled = dict(reversed(list(C2021.items())))
    with_dates = {**C2021, "effective_from": date(2021, 8, 13)}
    assert content_hash(shuffled) == content_hash(C2021) == content_hash(with_dates)
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash(C2021))


def test_content_hash_changes_when_a_rule_changes():
    changed = copy.deepcopy(C2021)
    changed["rules"][0]["severity"] = "warn"
    assert content_hash(changed) != content_hash(C2021)


def test_loaded_content_is_json_safe_and_round_trips_to_the_same_policy():
    assert isinstance(C2021["effective_from"], str)
    assert Policy.from_content(copy.deepcopy(C2021)).content_hash == POLICIES["ordos-research-funds-2021.yaml"].content_hash


def test_policy_for_caches_by_content_hash():
    version = SimpleNamespace(policy_set="ordos-research-funds", version="2021.1", content=C2021,
                              content_hash=content_hash(C2021))
    first = policy_for(version)
    assert policy_for(version) is first


def test_policy_for_refuses_a_row_whose_content_no_longer_matches_its_hash():
    tampered = copy.deepcopy(C2021)
    tampered["parameters"]["indirect_tiers"][0]["rate"] = "0.90"
    version = SimpleNamespace(policy_set="ordos-research-funds", version="2021.1", content=tampered,
                              content_hash=content_hash(C2021))
    policy_module._CACHE.pop(version.content_hash, None)
    with pytest.raises(PolicyError, match="refusing"):
        policy_for(version)


# ------------------------------------------------------------------------------- validation

def broken(mutate):
    c = copy.deepcopy(C2021)
    mutate(c)
    return c


def rule(c, rule_id):
    return next(r for r in c["rules"] if r["id"] == rule_id)


@pytest.mark.parametrize("mutate, message", [
    (lambda c: rule(c, "NEG-LAW").update(kind="forbidden_thing"), "unknown kind 'forbidden_thing'"),
    (lambda c: rule(c, "NEG-LAW")["title"].pop("en"), "title needs both zh and en"),
    (lambda c: rule(c, "NEG-LAW").pop("source"), "source is required"),
    (lambda c: rule(c, "NEG-LAW").update(source={"doc": "NOPE"}), "source doc 'NOPE' is not listed"),
    (lambda c: rule(c, "NEG-LAW").update(severity="block"), "severity must be one of"),
    (lambda c: rule(c, "NEG-LAW").pop("id"), "rule needs an id"),
    (lambda c: rule(c, "NEG-LAW").update(serverity="reject"), "unknown keys ['serverity']"),
    (lambda c: rule(c, "NEG-LAW").update(scope={"categories": ["competitve"]}), "unknown values ['competitve']"),
    (lambda c: rule(c, "NEG-LAW").update(scope={"colour": ["red"]}), "unknown scope key 'colour'"),
    (lambda c: rule(c, "NEG-LAW")["params"].update(purposes=["fines"]), "unknown purpose_codes ['fines']"),
    (lambda c: rule(c, "NEG-LAW")["params"].update(keyword=["x"]), "unknown params ['keyword']"),
    (lambda c: rule(c, "SEED-INSTRUMENT-30W")["params"].update(at_least=300000.0), "not the float"),
    (lambda c: rule(c, "SEED-INSTRUMENT-30W")["params"].update(at_least="30万"), "is not a number"),
    (lambda c: rule(c, "GRANT-PERIOD")["params"].update(allowed_statuses=["running"]), "unknown grant statuses"),
    (lambda c: c["rules"].append(copy.deepcopy(c["rules"][0])), "duplicate rule id NEG-LAW"),
    (lambda c: c["parameters"]["indirect_tiers"].pop(), "last tier must be open-ended"),
    (lambda c: c["parameters"]["indirect_tiers"][0].update(rate="1.5"), "between 0 and 1"),
    (lambda c: c["parameter_sources"].pop("indirect_tiers"), "without a source"),
    (lambda c: c.update(status="live"), "status must be one of"),
    (lambda c: c.update(version=2021.1), "not the float"),
    (lambda c: c.update(effective_to="2020-01-01"), "effective_to is before effective_from"),
    (lambda c: c.update(extra_top="x"), "unknown top-level keys"),
    (lambda c: rule(c, "ADJ-OTHER")["params"].update(fallback=False), "exactly one fallback"),
])
def test_malformed_policy_content_raises_policy_error_with_a_clear_message(mutate, message):
    with pytest.raises(PolicyError, match=re.escape(message)):
        Policy.from_content(broken(mutate))


def test_a_float_in_a_yaml_file_is_refused_at_load(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("policy_set: x\nparameters:\n  indirect_tiers: [{up_to: null, rate: 0.30}]\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"x\.yaml\.parameters\.indirect_tiers\[0\]\.rate"):
        load_policy_file(f)


def test_an_unquoted_title_with_commas_is_refused_not_truncated():
    """YAML reads `{zh: 罚款, en: fines, late fees}` as en="fines" plus a stray key: the loader must say so."""
    import yaml

    broken = copy.deepcopy(C2021)
    broken["rules"][0]["title"] = yaml.safe_load("{zh: 罚款、滞纳金, en: fines, late fees}")
    with pytest.raises(PolicyError, match="besides zh and en"):
        Policy.from_content(broken)


def test_english_titles_are_whole_sentences_not_cut_at_a_comma():
    rule = POLICIES["ordos-research-funds-2021.yaml"].rule("NEG-FINE-ETC")
    assert rule.title_en.startswith("fines, compensation, contract penalties") and rule.title_en.endswith("debt repayment")
