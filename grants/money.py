"""The one strict reading of a money amount, for the API, the web form and the importer.

Accepted: ASCII or full-width digits (０-９, with ``．`` and ``－``), an optional leading ``-`` only where
the field allows negative amounts, ``.`` as the decimal point with one or two decimals, and — only where
the caller asks for it (the importer, for spreadsheet text) — thousands separators in the exact
``1,234,567.89`` pattern. Nothing else: ``"1,5"``, ``"1,00"``, ``"1_000"``, ``"+5"``, ``"1e3"``, ``".5"``,
``"5."``, ``"007"``, ``NaN`` and ``Infinity`` are refused, and every field has a maximum.

JSON numbers: an integer (``5``) is exact and accepted; a number with a fraction or an exponent
(``5.5``, ``5.0``, ``1e3``) arrives as a binary float, which cannot carry yuan exactly, and is refused —
send amounts as strings (``"5.50"``). ``parse_money`` is the scalar rule; ``parse_money_series`` applies
the same rule to a whole pandas column at once (the importer), and a property test keeps them agreeing.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

CENT = Decimal("0.01")
#: the default maximum of any amount: 1,000,000,000,000.00 yuan (一万亿) exclusive
MAX_MONEY = Decimal("1000000000000")
#: one expense (or one unit of equipment): under 10,000,000,000.00 yuan (一百亿)
MAX_EXPENSE = Decimal("10000000000")

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－，", "0123456789.-,")
_PLAIN = r"(?:0|[1-9][0-9]*)"
_GROUPED = r"(?:[1-9][0-9]{0,2}(?:,[0-9]{3})+)"
STRICT = re.compile(rf"-?{_PLAIN}(?:\.[0-9]{{1,2}})?")
GROUPED = re.compile(rf"-?(?:{_PLAIN}|{_GROUPED})(?:\.[0-9]{{1,2}})?")
_MORE_DECIMALS = re.compile(rf"-?(?:{_PLAIN}|{_GROUPED})\.[0-9]{{3,}}")
_WHITESPACE = " \t\u3000"

INVALID = "不是有效金额 / not a valid amount"
DECIMALS = "金额最多两位小数 / at most two decimal places"
NEGATIVE = "金额不能为负 / amount must not be negative"
NOT_POSITIVE = "金额必须大于零 / amount must be greater than zero"
FLOAT = "金额须以字符串或整数提交（如 \"1234.50\"）/ send amounts as a string or an integer, e.g. \"1234.50\""


def too_large(maximum: Decimal) -> str:
    return f"金额过大（须小于 {maximum:,.2f}）/ amount too large (must be below {maximum:,.2f})"


def parse_money(value: object, *, allow_negative: bool = False, positive: bool = False, thousands: bool = False,
                maximum: Decimal = MAX_MONEY) -> Decimal:
    """The amount ``value`` states, as a two-decimal Decimal; ``ValueError`` with a bilingual message otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(INVALID)
    if isinstance(value, float):
        raise ValueError(FLOAT)
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):  # from code, not from a person: the same limits
        if not value.is_finite():
            raise ValueError(INVALID)
        if abs(value) < maximum and value != value.quantize(CENT):
            raise ValueError(DECIMALS)
        return _checked(value, allow_negative, positive, maximum)
    elif isinstance(value, str):
        text = value.translate(_FULL_WIDTH).strip(_WHITESPACE)
    else:
        raise ValueError(INVALID)
    if not (GROUPED if thousands else STRICT).fullmatch(text):
        if _MORE_DECIMALS.fullmatch(text) and (thousands or "," not in text):
            raise ValueError(DECIMALS)
        raise ValueError(INVALID)
    amount = Decimal(text.replace(",", ""))
    return _checked(amount, allow_negative, positive, maximum)


def _checked(amount: Decimal, allow_negative: bool, positive: bool, maximum: Decimal) -> Decimal:
    if abs(amount) >= maximum:
        raise ValueError(too_large(maximum))
    if positive and amount <= 0:
        raise ValueError(NOT_POSITIVE)
    if not allow_negative and amount < 0:
        raise ValueError(NEGATIVE)
    return amount.quantize(CENT)


def parse_money_series(cells: "pd.Series", *, allow_negative: bool = False, positive: bool = False,
                       thousands: bool = True, maximum: Decimal = MAX_MONEY) -> tuple[list, dict[int, str]]:
    """``parse_money`` over a column of text cells at once.

    Returns (one Decimal or None per cell, {position: error message}); empty cells are None without an
    error (the caller decides whether the column is required). The shape check runs vectorised (one
    regex over the column); only the cells it refuses are read again one by one, for their message.
    """
    import pandas as pd

    text = cells.astype("string").fillna("").str.translate(_FULL_WIDTH).str.strip(_WHITESPACE)
    empty = (text == "").to_numpy()
    ok = text.str.fullmatch((GROUPED if thousands else STRICT).pattern).fillna(False).to_numpy(dtype=bool)
    plain = text.str.replace(",", "", regex=False).to_numpy(dtype=object)
    values: list = [None] * len(plain)
    errors: dict[int, str] = {}
    for i, (good, blank, raw) in enumerate(zip(ok, empty, plain)):
        if blank:
            continue
        if good:
            d = Decimal(raw)
            # the range check: cheap on the common case, the message from the scalar rule
            if d > 0 and d < maximum:
                values[i] = d.quantize(CENT)
                continue
        try:
            values[i] = parse_money(cells.iat[i] if not pd.isna(cells.iat[i]) else "", allow_negative=allow_negative,
                                    positive=positive, thousands=thousands, maximum=maximum)
        except ValueError as e:
            errors[i] = str(e)
    return values, errors
