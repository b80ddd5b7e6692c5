"""Marshmallow fields shared by every domain: money that is never rounded silently."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields

from grants.db import CENT

MAX_MONEY = Decimal("10") ** 16


class Money(fields.Decimal):
    """Yuan with at most two decimals, serialised as a string like "1234.50".

    More decimals, NaN, Infinity, booleans or (unless allowed) negative amounts are refused — a
    marshmallow ``Decimal(places=2)`` would round instead.
    """

    def __init__(self, *, allow_negative: bool = False, positive: bool = False, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", "1234.50")
        super().__init__(as_string=True, allow_nan=False, **kwargs)
        self.allow_negative = allow_negative
        self.positive = positive

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or value is None or value == "":
            raise ValidationError("不是有效金额 / not a valid amount")
        if isinstance(value, str):
            value = value.strip().replace(",", "")
        try:
            amount = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError("不是有效金额 / not a valid amount") from None
        if not amount.is_finite():
            raise ValidationError("金额必须是有限数 / amount must be finite")
        if abs(amount) >= MAX_MONEY:
            raise ValidationError("金额过大 / amount too large")
        quantized = amount.quantize(CENT)
        if quantized != amount:
            raise ValidationError("金额最多两位小数 / at most two decimal places")
        if self.positive and quantized <= 0:
            raise ValidationError("金额必须大于零 / amount must be greater than zero")
        if not self.allow_negative and quantized < 0:
            raise ValidationError("金额不能为负 / amount must not be negative")
        return quantized

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{Decimal(value).quantize(CENT):.2f}"


class Ratio(fields.Decimal):
    """A fraction in (0, 1], e.g. a subsidy ratio cap "0.3000"; never a float."""

    def __init__(self, places: int = 4, **kwargs):
        super().__init__(as_string=True, allow_nan=False, **kwargs)
        self.max_places = places

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("不是有效比例 / not a valid ratio")
        d = super()._deserialize(value, attr, data, **kwargs)
        if not d.is_finite() or d <= 0 or d > 1:
            raise ValidationError("比例须在 (0, 1] 之间 / ratio must be in (0, 1]")
        if d != d.quantize(Decimal(1).scaleb(-self.max_places)):
            raise ValidationError(f"比例最多 {self.max_places} 位小数 / at most {self.max_places} decimals")
        return d
