"""The one strict money rule (issue 8): API, form and importer read amounts alike; the importer's
vectorised reading agrees with the scalar one on any text."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grants.money import MAX_EXPENSE, parse_money, parse_money_series


@pytest.mark.parametrize("text, expected", [
    ("5", "5.00"), ("0.5", "0.50"), ("1234.56", "1234.56"), ("  12.3 ", "12.30"), ("１２３．４５", "123.45"),
    ("\u3000８８", "88.00"), (7, "7.00"), (Decimal("2.5"), "2.50"),
])
def test_accepted(text, expected):
    assert parse_money(text) == Decimal(expected)


@pytest.mark.parametrize("text", [
    "1,5", "1,00", "1,234", "1_000", "+5", "1e3", "1E3", "NaN", "nan", "Infinity", "-Infinity", "inf", ".5", "5.",
    "007", "1.234", "0x10", "", " ", "五", "1 000", "1.2.3", "--5", "5-", "¥5", True, None, 5.5, 5.0, float("nan"),
    Decimal("NaN"), Decimal("Infinity"), Decimal("1.005"), [], {},
])
def test_refused(text):
    with pytest.raises(ValueError):
        parse_money(text)


def test_thousands_only_in_the_exact_pattern_and_only_when_asked():
    assert parse_money("1,234,567.89", thousands=True) == Decimal("1234567.89")
    assert parse_money("１，２３４．５", thousands=True) == Decimal("1234.50")
    for bad in ("1,5", "1,00", "12,34,567", "1,2345", ",123", "1,234,", "0,123", "1,234.567"):
        with pytest.raises(ValueError):
            parse_money(bad, thousands=True)
    with pytest.raises(ValueError):
        parse_money("1,234,567.89")          # API and form: no separators at all


def test_sign_and_maximum():
    with pytest.raises(ValueError, match="negative"):
        parse_money("-5")
    assert parse_money("-5", allow_negative=True) == Decimal("-5.00")
    with pytest.raises(ValueError, match="greater than zero"):
        parse_money("0", positive=True)
    with pytest.raises(ValueError, match="too large"):
        parse_money("9999999999999999.99")
    with pytest.raises(ValueError, match="too large"):
        parse_money(str(MAX_EXPENSE), maximum=MAX_EXPENSE)
    assert parse_money("9999999999.99", maximum=MAX_EXPENSE) == Decimal("9999999999.99")
    with pytest.raises(ValueError, match="two decimal"):
        parse_money("1.999")


def _scalar(text, **kw):
    if text.strip(" \t\u3000") == "":
        return None, None
    try:
        return parse_money(text, **kw), None
    except ValueError as e:
        return None, str(e)


MONEYISH = st.text(alphabet="0123456789,.-+e_ ０１２３４５６７８９．－，\u3000aN", max_size=14)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(MONEYISH, st.text(max_size=8),
                          st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
                          st.integers(min_value=0, max_value=10**13).map(lambda n: f"{n:,}")),
                min_size=1, max_size=60),
       st.booleans(), st.booleans(), st.booleans())
def test_vectorised_parser_agrees_with_the_scalar_one(cells, thousands, positive, allow_negative):
    kw = {"thousands": thousands, "positive": positive, "allow_negative": allow_negative, "maximum": MAX_EXPENSE}
    values, errors = parse_money_series(pd.Series(cells, dtype=object), **kw)
    for i, text in enumerate(cells):
        assert (values[i], errors.get(i)) == _scalar(text, **kw), text


def test_api_refuses_kind_readings():
    from marshmallow import ValidationError

    from grants.fields import Money

    field = Money(positive=True)
    for bad in ("1,5", "1,00", "1_000", "+5", "1e3", 1e3, 12.5, "NaN", "Infinity", True):
        with pytest.raises(ValidationError):
            field.deserialize(bad)
    assert field.deserialize(1000) == Decimal("1000.00")
    assert field.deserialize("１０.５") == Decimal("10.50")
