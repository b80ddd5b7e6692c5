"""The labelled corpus of tests/policy_cases: every phrasing judged as labelled, no false rejection."""
from __future__ import annotations

import pytest

from compliance import corpus
from compliance.policy import current_policy

CASES = corpus.load_cases()
POLICY = current_policy()


def test_the_corpus_is_large_enough():
    assert sum(1 for c in CASES if c.clear) >= 250
    assert sum(1 for c in CASES if not c.clear and not c.suspect) >= 150
    assert len({c.text for c in CASES}) == len(CASES), "a phrasing is labelled twice"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.text[:40])
def test_each_phrasing_is_judged_as_labelled(case):
    outcome = corpus.evaluate([case], POLICY).outcomes[0]
    assert outcome.clear == case.clear, (outcome.clear, outcome.suspect)
    assert case.suspect <= outcome.suspect
    if not case.clear:
        assert outcome.verdict != "reject"
    if not case.clear and not case.suspect:
        assert not outcome.suspect, outcome.suspect


def test_the_command_prints_precision_and_recall_per_rule(capsys):
    assert corpus.main([]) == 0
    out = capsys.readouterr().out
    assert "NEG-FINE-ETC" in out and "100.0%" in out and "false rejections of legitimate or suspect cases: 0" in out
