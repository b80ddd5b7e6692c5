"""Marshmallow fields shared by every domain: money that is never rounded silently."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields

from grants import money
from grants.db import CENT

MAX_MONEY = money.MAX_MONEY


class Money(fields.Decimal):
    """Yuan with at most two decimals, serialised as a string like "1234.50".

    Read by ``grants.money.parse_money`` — the one strict rule of the API, the form and the importer:
    a string like ``"1234.50"`` (ASCII or full-width digits) or a JSON integer; JSON numbers with a
    fraction or exponent (binary floats), thousands separators, ``+``, exponents, NaN, Infinity, more
    than two decimals, booleans, negative amounts (unless ``allow_negative``) and amounts at or above
    ``maximum`` are refused — a marshmallow ``Decimal(places=2)`` would round instead.
    """

    def __init__(self, *, allow_negative: bool = False, positive: bool = False, maximum: Decimal = MAX_MONEY,
                 **kwargs):
        meta = kwargs.setdefault("metadata", {})
        meta.setdefault("example", "1234.50")
        meta.setdefault("description", f"yuan as a string with at most two decimals, below {maximum:,.0f}")
        super().__init__(as_string=True, allow_nan=False, **kwargs)
        self.allow_negative = allow_negative
        self.positive = positive
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "":
            raise ValidationError(money.INVALID)
        try:
            return money.parse_money(value, allow_negative=self.allow_negative, positive=self.positive,
                                     maximum=self.maximum)
        except ValueError as e:
            raise ValidationError(str(e)) from None

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
