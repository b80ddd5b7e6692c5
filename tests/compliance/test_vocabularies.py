"""Closed vocabularies and description screening as policy data (issue #8). Pure: no database, no Flask."""
from __future__ import annotations

import copy
import string
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.policy import POLICY_DIR, Policy, PolicyError, current_policy, load_policy_file, vocabularies_document
from compliance.rules import judge
from compliance.screening import CLEAR, SUSPECT, compile_screening, trie_pattern
from compliance.text import normalise
from compliance.vocabulary import FIELD_VOCABULARY
from tests.compliance.rules.support import NO_CTX, expense, grant, ids, only

C21 = load_policy_file(POLICY_DIR / "ordos-research-funds-2021.2.yaml")
P21 = Policy.from_content(C21)
P20 = Policy.from_content(load_policy_file(POLICY_DIR / "ordos-research-funds-2020.2.yaml"))


# ------------------------------------------------------------------------------------------ normalisation
@pytest.mark.parametrize("typed, plain", [
    ("繳納罰款", "缴纳罚款"),                 # traditional → simplified
    ("ＦＩＮＥ　罰款", "fine罚款"),             # full-width letters and space, case
    ("罚 款", "罚款"), ("罚-款", "罚款"), ("罚_款", "罚款"), ("罚，款。", "罚款"),   # padding inside a word
    ("Late   Fee", "late fee"), ("late-fee", "late fee"),
    ("", ""), (None, ""), ("  ，。 ", ""),
])
def test_normalise_folds_width_script_case_spaces_and_punctuation(typed, plain):
    assert normalise(typed) == plain


# ------------------------------------------------------------------------------------------ vocabularies
def test_the_restated_versions_carry_the_shared_vocabularies_with_labels_synonyms_and_requirements():
    for p in (P20, P21):
        assert set(p.vocabularies) == set(FIELD_VOCABULARY.values())
        purposes = p.vocabularies["purposes"]
        assert purposes.by_code["materials"].zh == "材料费" and "试剂" in purposes.by_code["materials"].synonyms
        assert set(purposes.by_code["expert_fee"].requires) == {"payee_name", "payee_kind", "expert_title", "expert_days"}
        assert set(p.vocabularies["subjects"].by_code["equipment"].requires) == {"unit_value", "quantity"}
        assert purposes.by_code["fine"].forbidden_by == ("NEG-FINE-ETC",)
        assert purposes.by_code["materials"].forbidden_by == ()


@pytest.mark.parametrize("typed, code", [
    ("materials", "materials"), ("材料费", "materials"), ("试剂", "materials"), ("Reagents", "materials"),
    ("專家諮詢費", "expert_fee"), ("专家咨询费（会议）", "expert_fee"), ("罚款", "fine"), ("罰款", "fine"),
    ("ＭＡＴＥＲＩＡＬＳ", "materials"), ("会议 注册费", "meeting"), ("hospitality", None), ("", None),
])
def test_a_purpose_is_resolved_from_its_code_either_label_or_a_synonym(typed, code):
    assert P21.vocabularies["purposes"].resolve(typed) == code


def test_a_synonym_that_stands_for_two_codes_is_refused():
    c = copy.deepcopy(C21)
    c["vocabularies"]["purposes"]["testing"]["synonyms"].append("试剂")
    with pytest.raises(PolicyError, match="already stands for 'materials'"):
        Policy.from_content(c)


def test_a_code_cannot_require_a_field_an_expense_does_not_have():
    c = copy.deepcopy(C21)
    c["vocabularies"]["purposes"]["travel"]["requires"] = ["city"]
    with pytest.raises(PolicyError, match="requires names fields an expense does not have"):
        Policy.from_content(c)


def test_vocabularies_are_stated_once_not_also_in_parameters():
    c = copy.deepcopy(C21)
    c["parameters"]["purpose_codes"] = {"materials": {"zh": "材料费", "en": "materials"}}
    with pytest.raises(PolicyError, match="stated in vocabularies, not parameters"):
        Policy.from_content(c)


def test_the_shared_files_are_part_of_the_content_and_its_hash(tmp_path):
    """A landed version never changes: a shared file that changes changes every including version's hash."""
    (tmp_path / "shared").mkdir()
    for name in ("vocabularies-2026.1.yaml", "screening-2026.1.yaml"):
        (tmp_path / "shared" / name).write_text((POLICY_DIR / "shared" / name).read_text(encoding="utf-8"),
                                                encoding="utf-8")
    (tmp_path / "p.yaml").write_text((POLICY_DIR / "ordos-research-funds-2021.2.yaml").read_text(encoding="utf-8"),
                                     encoding="utf-8")
    before = Policy.from_content(load_policy_file(tmp_path / "p.yaml"))
    assert before.content_hash == P21.content_hash and "materials" in before.content["vocabularies"]["purposes"]
    shared = tmp_path / "shared" / "screening-2026.1.yaml"
    shared.write_text(shared.read_text(encoding="utf-8").replace("回扣, 返点,", "回扣,"), encoding="utf-8")
    assert Policy.from_content(load_policy_file(tmp_path / "p.yaml")).content_hash != before.content_hash


def test_an_include_may_not_leave_the_policy_directory(tmp_path):
    (tmp_path / "p.yaml").write_text("policy_set: x\nvocabularies: {include: ../../etc/passwd}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="below"):
        load_policy_file(tmp_path / "p.yaml")


def test_the_current_policy_is_the_newest_active_version_and_documents_its_vocabularies():
    p = current_policy()
    assert (p.policy_set, p.version) == ("ordos-research-funds", "2026.1")   # the rulebook version, from 2026-01-01
    doc = vocabularies_document(p)
    by_name = {v["name"]: v for v in doc["vocabularies"]}
    assert by_name["purposes"]["field"] == "purpose"
    fine = next(c for c in by_name["purposes"]["codes"] if c["code"] == "fine")
    assert fine == {"code": "fine", "zh": "罚款", "en": "fine", "synonyms": ["罚金", "罚没款"], "requires": [],
                    "forbidden_by": ["NEG-FINE-ETC"]}


# ------------------------------------------------------------------------------------------ the engine
def test_a_forbidden_purpose_is_rejected_whatever_the_description_says():
    j = judge(expense(purpose="gift_card", description="采购实验试剂一批"), grant(), NO_CTX, P21)
    f = only(j, "NEG-GIFTCARD")
    assert j.verdict == "reject" and f.figures["matched_by"] == "purpose"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase + "_" + "费用款卡", min_size=1, max_size=20))
def test_no_unknown_code_is_ever_allowed(code):
    """Whatever reaches the engine: a purpose, payee kind, payment method, fund source or expert title outside
    the vocabulary is rejected by VOCAB-CLOSED, naming the accepted codes."""
    for field in ("purpose", "payee_kind", "payment_method", "fund_source", "expert_title"):
        vocab = P21.vocabularies[FIELD_VOCABULARY[field]]
        if code in vocab:
            continue
        j = judge(expense(**{field: code}), grant(), NO_CTX, P21)
        assert j.verdict == "reject", (field, code, ids(j))
        f = next(f for f in j.findings if f.rule_id == "VOCAB-CLOSED")
        assert f.figures["accepted"] == list(vocab.values)


def test_the_dry_run_names_every_missing_field_the_purpose_requires_at_once():
    j = judge(expense(purpose="expert_fee", description="中期评审", payee_name=None, payee_kind=None,
                      expert_title=None, expert_days=None, amount=D("2000")), grant(), NO_CTX, P21)
    missing = {f.missing_field for f in j.findings if f.missing_field}
    assert {"payee_name", "payee_kind", "expert_title", "expert_days"} <= missing
    assert j.verdict == "needs_approval"
    assert any("REQUIRED-FIELDS" in f.figures.get("rules_needing_it", []) for f in j.findings)


def test_equipment_needs_unit_value_and_quantity():
    j = judge(expense(subject="equipment", purpose="equipment_purchase", description="购置离心机", unit_value=None,
                      quantity=None), grant(), NO_CTX, P21)
    assert {"unit_value", "quantity"} <= {f.missing_field for f in j.findings}


def test_a_complete_expense_meets_its_requirements():
    j = judge(expense(purpose="labour_fee", subject="labour", description="研究生劳务费", payee_name="张三",
                      payee_kind="student", invoice_no=None, invoice_verified=None), grant(), NO_CTX, P21)
    assert j.verdict == "allow", ids(j)


# ------------------------------------------------------------------------------------------ screening
@pytest.mark.parametrize("description, rule", [
    ("把 罚 款 交了", "NEG-FINE-ETC"),               # padding words, spaces inside the word
    ("罰款繳納", "NEG-FINE-ETC"),                   # traditional, object before the verb
    ("缴纳税务处罚金", "NEG-FINE-ETC"),              # all-of within a window
    ("Paid the LATE-FEE", "NEG-FINE-ETC"),         # English, case, punctuation
    ("ＫＴＶ包间", "NEG-LAW"),                      # full-width
    ("将设备采购拆分成三个合同", "NEG-PROCUREMENT"),   # verb and object apart, inside the window
    ("管理费提取", "NEG-EXTRA-MGMT-FEE"),
])
def test_forbidden_spending_is_found_however_it_is_phrased(description, rule):
    j = judge(expense(purpose=None, description=description), grant(), NO_CTX, P21)
    assert j.verdict == "reject" and only(j, rule).figures["matched_by"] == "keyword"


@pytest.mark.parametrize("description", [
    "物业管理费", "会议注册费", "fine chemicals", "fine-tuning the model", "罚函数优化软件", "出租车费",
    "被试补偿", "拨改投资金审计费", "实验室电卡充值", "税务局代开发票的劳务费", "property management fee",
])
def test_look_alikes_are_not_hits(description):
    j = judge(expense(purpose=None, description=description), grant(), NO_CTX, P21)
    assert not set(ids(j)) & P21.negative_list_ids, ids(j)


def test_parts_further_apart_than_the_window_do_not_make_a_hit():
    s = compile_screening({"NEG-FINE-ETC": {"clear": [{"all": [["缴纳"], ["罚"]], "window": 6}]}},
                          {"NEG-FINE-ETC": ()}, "t")
    assert s.scan("缴纳罚") and s.scan("罚已缴纳")
    assert not s.scan("缴纳了本季度全部的实验室水电和罚")


def test_a_suspect_word_asks_for_approval_and_names_the_words():
    j = judge(expense(purpose=None, description="业务招待费"), grant(), NO_CTX, P21)
    f = only(j, "NEG-LAW")
    assert j.verdict == "needs_approval" and f.severity == "needs_approval"
    assert f.figures["tier"] == SUSPECT and "招待费" in f.figures["matched"] and "招待费" in f.message_zh


def test_a_suspect_word_is_not_a_negative_list_hit_for_the_post_subsidy_base():
    j = judge(expense(purpose=None, description="业务招待费"), grant(category="post_subsidy", lines={}), NO_CTX, P21)
    assert j.subsidy_eligible is True


def test_the_clear_tier_wins_over_the_suspect_tier_of_the_same_rule():
    hits = P21.screener.scan("缴纳违约金及利息")
    assert [(h.rule_id, h.tier) for h in hits] == [("NEG-FINE-ETC", CLEAR)]


def test_older_versions_keywords_still_screen_with_normalisation():
    j = judge(expense(purpose=None, description="繳納電費滯納金"), grant(), NO_CTX, Policy.from_content(
        load_policy_file(POLICY_DIR / "ordos-research-funds-2021.yaml")))
    assert only(j, "NEG-FINE-ETC").figures["matched"] == "滞纳金"


def test_screening_may_only_name_forbidden_purpose_rules():
    c = copy.deepcopy(C21)
    c["screening"]["GRANT-PERIOD"] = {"clear": [{"any": ["x"]}]}
    with pytest.raises(PolicyError, match="not forbidden_purpose rules"):
        Policy.from_content(c)


def test_the_lexicon_is_one_trie_shaped_regular_expression():
    import re

    rx = re.compile(trie_pattern(["罚款", "罚金", "罚没款", "fine", "fine chemical"]))
    assert rx.pattern.count("罚") == 1                                   # a shared prefix is written once
    assert [m.group(0) for m in rx.finditer("罚没款和罚金, fines; define fine chemicals")] == [
        "罚没款", "罚金", "fines", "fine chemicals"]
    assert P21.screener._regex is not None


def test_occurrences_report_every_term_with_its_own_span():
    s = compile_screening({"NEG-FINE-ETC": {"clear": [{"any": ["罚款单", "罚款", "款单", "fine"]}]}},
                          {"NEG-FINE-ETC": ()}, "t")
    assert s.occurrences(normalise("交罚款单 Fines")) == {
        "罚款单": [(1, 4)], "罚款": [(1, 3)], "款单": [(2, 4)], "fine": [(4, 9)]}   # "交罚款单fines"


def test_every_keyword_rule_reads_the_normalised_description():
    """Not only the negative list: a rule that recognises an expert fee by its description does so in
    traditional characters and full width too (EXPERT-FEE-TRANSFER: bank transfer only)."""
    j = judge(expense(purpose=None, description="中期評審專家諮詢費", payee_kind="external_expert",
                      payment_method="cash", expert_title="senior", expert_days=D("1"), amount=D("1500")),
              grant(), NO_CTX, P21)
    assert only(j, "EXPERT-FEE-TRANSFER").severity == "reject"
    taxi = judge(expense(purpose=None, description="ＴＡＸＩ to the airport", payment_method="cash"), grant(), NO_CTX, P21)
    assert "OFFICIAL-CARD-CASH" not in ids(taxi)
