"""Marshmallow fields shared by every domain: money that is never rounded silently, and text that is
checked once, at the boundary, for what no column, CSV or spreadsheet can carry."""
from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from grants import money
from grants.db import CENT

# The largest amount any one money field accepts: 1,000,000,000,000.00 yuan (一万亿元) exclusive. Far above
# any grant, and far below what Numeric(18, 2) holds (10^16), so sums of many amounts (a budget line's
# reservations, a report's totals) have four orders of magnitude of headroom.
MAX_MONEY = money.MAX_MONEY
# what a money string looks like: up to 16 integer digits (sums), at most two decimals ("1234.50")
MONEY_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"
# ids are 32-bit integer columns: a larger one in a path is not found (404), in a body or query refused (422)
MAX_ID = 2**31 - 1

# NUL, the C0 controls except tab, line feed and carriage return, DEL, the C1 controls, and lone
# surrogates (JSON "\ud800": not storable as UTF-8). openpyxl refuses the C0 ones in a cell; a NUL
# ends a C string in PostgreSQL.
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
CONTROL_RE = re.compile(f"[{CONTROL_CHARACTERS}]")
# the same set as an OpenAPI (ECMA-262) pattern, so a client (or schemathesis) knows what is accepted
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\ud800-\\udfff]*$"


def column_length(column) -> int | None:
    """The declared length of a model's String column (``Institution.name`` → 200), None for Text."""
    return getattr(getattr(column, "type", None), "length", None)


class Text(fields.String):
    """Text from a client, checked once at the boundary: control characters and NUL are refused with a
    422 naming the field, and the length is bounded — by the model's column (``Text(Institution.name)``)
    or by ``max_length`` for an unbounded ``Text`` column.

    ``min_length=1`` makes an empty string an error (required names and titles).
    """

    def __init__(self, column=None, *, max_length: int | None = None, min_length: int | None = None, **kwargs):
        max_length = max_length or column_length(column)
        if max_length is None:
            raise TypeError("Text needs a bounded column or max_length")
        validators = list(kwargs.pop("validate", None) or [])
        validators.insert(0, validate.Length(min_length, max_length))
        metadata = {"pattern": TEXT_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(validate=validators, metadata=metadata, **kwargs)
        self.column, self.max_length = column, max_length

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        bad = CONTROL_RE.search(text)
        if bad:
            raise ValidationError(f"含有控制字符 U+{ord(bad.group()):04X}（第 {bad.start() + 1} 个字符）/ "
                                  f"contains the control character U+{ord(bad.group()):04X} at position "
                                  f"{bad.start() + 1}")
        return text


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
        # documented as what is sent: a string (decimals of ``fields.Decimal`` are strings: ``Api.DECIMAL``)
        meta.setdefault("pattern", MONEY_PATTERN if allow_negative else MONEY_PATTERN.replace("-?", ""))
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


class Timestamp(fields.DateTime):
    """A moment, always sent with its offset (RFC 3339 ``date-time``): SQLite hands back naive datetimes,
    which are the application's time zone (``grants.db.TZ``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            from grants.db import TZ

            value = value.replace(tzinfo=TZ)
        return super()._serialize(value, attr, obj, **kwargs)


class Id(fields.Integer):
    """A row id given by a client (``grant_id``, ``researcher_id`` …): 1 … 2^31 − 1, the integer column's
    range — beyond it a 422 naming the field, never a database error."""

    def __init__(self, **kwargs):
        validators = list(kwargs.pop("validate", None) or [])
        validators.insert(0, validate.Range(min=1, max=MAX_ID))
        super().__init__(validate=validators, **kwargs)


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
