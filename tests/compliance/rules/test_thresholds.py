"""Equipment thresholds (SEED-INSTRUMENT-30W, ≥ 500k justification).

Pure tests: no database, no Flask. Each test names the rule and the source it comes from.
"""
from __future__ import annotations

from decimal import Decimal as D


from compliance.rules import judge
from tests.compliance.rules.support import NO_CTX, P2021, equipment, ids, only, rich_grant


# ------------------------------------------------------------------------ equipment thresholds


def test_unregistered_instrument_of_300k_needs_approval():
    """SEED-INSTRUMENT-30W — seed 001 (二十二): ≥ 300,000 yuan per unit joins the sharing platform."""
    f = only(judge(equipment(), rich_grant(), NO_CTX, P2021), "SEED-INSTRUMENT-30W")
    assert f.severity == "needs_approval" and f.source == "seed 001 (二十二)"
    assert "350,000.00" in f.message_zh and "300,000.00" in f.message_zh


def test_instrument_with_unknown_platform_registration_needs_approval_naming_the_field():
    f = only(judge(equipment(platform_registered=None), rich_grant(), NO_CTX, P2021), "SEED-INSTRUMENT-30W")
    assert f.missing_field == "platform_registered" and f.severity == "needs_approval"


def test_registered_instrument_below_500k_is_allowed():
    assert judge(equipment(platform_registered=True), rich_grant(), NO_CTX, P2021).verdict == "allow"


def test_instrument_just_below_300k_needs_no_registration():
    j = judge(equipment(amount=D("299999.99"), unit_value=D("299999.99")), rich_grant(), NO_CTX, P2021)
    assert "SEED-INSTRUMENT-30W" not in ids(j)


def test_instrument_rule_covers_universities_and_institutes_only():
    """seed 001 (二十二) names 高校、科研院所."""
    j = judge(equipment(), rich_grant(institution_kind="enterprise"), NO_CTX, P2021)
    assert "SEED-INSTRUMENT-30W" not in ids(j)


def test_equipment_without_unit_value_fails_closed():
    """A part payment may hide an expensive unit: the threshold rules need unit_value."""
    j = judge(equipment(amount=D("100000"), unit_value=None), rich_grant(), NO_CTX, P2021)
    f = next(f for f in j.findings if f.missing_field == "unit_value")
    assert set(f.figures["rules_needing_it"]) == {"SEED-INSTRUMENT-30W", "EQUIP-500K-JUSTIFY"}
    assert j.verdict == "needs_approval"


def test_equipment_of_500k_warns_that_a_justification_is_required():
    """EQUIP-500K-JUSTIFY — 国办发〔2021〕32号 (一) (50万元以上的设备费), NSFC practice."""
    j = judge(equipment(amount=D("600000"), unit_value=D("600000"), platform_registered=True), rich_grant(),
              NO_CTX, P2021)
    f = only(j, "EQUIP-500K-JUSTIFY")
    assert f.severity == "warn" and "justification" in f.message_en
    assert j.verdict == "warn"
