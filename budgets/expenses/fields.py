"""The one table of an expense's own fields.

Everything that lists an expense's fields is derived from ``FIELDS``: the API's in/out schemas
(``budgets.expenses.schemas``), the facts the rules judge (``service.EXPENSE_FIELDS``), the importer's
column map and cell parsers (``budgets.expenses.importer``), the web form (``webui.forms``) and the
labels. Adding a field is an edit here plus the model and a migration.

``headers`` are the import column names accepted (Chinese and English, the first one named in error
messages). A CHOICE field is closed by a vocabulary of the policy (``compliance.policy.current_vocabularies``:
codes, Chinese and English labels, synonyms, the fields each code requires); ``choices`` are its (code,
Chinese label) pairs, and the importer accepts the code, either label or a synonym. Nothing here holds its
own copy of a code list.
"""
from __future__ import annotations

from dataclasses import dataclass

from compliance.policy import current_vocabularies
from compliance.vocabulary import FIELD_VOCABULARY, Vocabulary

MONEY, AMOUNT, DATE, TEXT, CHOICE, INT, BOOL, DAYS = "money", "amount", "date", "text", "choice", "int", "bool", "days"


@dataclass(frozen=True)
class ExpenseField:
    name: str
    kind: str                                   # one of the kinds above; AMOUNT is money > 0, DAYS 0 < d ≤ 365
    label_zh: str
    label_en: str
    headers: tuple[str, ...]
    required: bool = False
    max_length: int | None = None
    vocabulary: str | None = None               # a CHOICE's closed vocabulary (compliance)
    description: str | None = None              # OpenAPI description
    in_output: bool = True                      # returned by the API (ExpenseOutSchema)
    in_form: bool = True                        # offered on the web form
    default: object = None                      # value when absent
    yes_no: tuple[str, str] = ("是", "否")       # a BOOL's two answers on the form (the empty one is 未知)

    @property
    def vocab(self) -> Vocabulary | None:
        return VOCABULARIES.get(self.vocabulary) if self.vocabulary else None

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        """(code, Chinese label) pairs of the field's vocabulary, in the policy's order."""
        v = self.vocab
        return v.labels() if v is not None else ()

    @property
    def values(self) -> tuple[str, ...]:
        v = self.vocab
        return v.values if v is not None else ()

    def resolve(self, typed: str) -> str | None:
        """The code meant by a code, a label or a synonym (any width, case or script); None if none."""
        v = self.vocab
        return v.resolve(typed) if v is not None else None

    def required_for(self) -> dict[str, list[str]]:
        """field → the codes that require this field (``x-required-for`` in OpenAPI)."""
        out: dict[str, list[str]] = {}
        for field_name, vocab_name in FIELD_VOCABULARY.items():
            v = VOCABULARIES.get(vocab_name)
            codes = [c.code for c in v.codes if self.name in c.requires] if v is not None else []
            if codes:
                out[field_name] = codes
        return out


VOCABULARIES = current_vocabularies()
SUBJECTS = VOCABULARIES["subjects"].labels()

FIELDS: tuple[ExpenseField, ...] = (
    ExpenseField("expense_date", DATE, "支出日期", "Expense date", ("支出日期", "日期", "expense_date", "date"),
                 required=True),
    ExpenseField("amount", AMOUNT, "金额（元）", "Amount (yuan)", ("金额", "金额（元）", "金额(元)", "amount"),
                 required=True, max_length=24),
    ExpenseField("subject", CHOICE, "预算科目", "Budget subject", ("预算科目", "科目", "subject"), required=True,
                 max_length=32, vocabulary="subjects"),
    ExpenseField("purpose", CHOICE, "用途", "Purpose", ("用途", "用途类别", "purpose"), max_length=40,
                 vocabulary="purposes"),
    ExpenseField("description", TEXT, "摘要", "Description", ("摘要", "说明", "description"), max_length=2000,
                 default=""),
    ExpenseField("payee_name", TEXT, "收款方", "Payee", ("收款方", "收款人", "payee_name", "payee"), max_length=200),
    ExpenseField("payee_kind", CHOICE, "收款方类型", "Payee kind", ("收款方类型", "payee_kind"), vocabulary="payee_kinds"),
    ExpenseField("payment_method", CHOICE, "支付方式", "Payment method", ("支付方式", "payment_method"),
                 vocabulary="payment_methods"),
    ExpenseField("invoice_no", TEXT, "发票号码", "Invoice no.", ("发票号码", "发票号", "invoice_no"), max_length=64),
    ExpenseField("invoice_verified", BOOL, "发票查验", "Invoice verified",
                 ("发票查验", "发票已查验", "invoice_verified"), yes_no=("已通过查验", "未通过查验")),
    ExpenseField("unit_value", MONEY, "单台（套）价值（元）", "Unit value (yuan)", ("单价", "单台套价值", "unit_value"), in_form=False),
    ExpenseField("quantity", INT, "数量", "Quantity", ("数量", "quantity"), in_form=False),
    ExpenseField("platform_registered", BOOL, "已登记入共享平台", "Registered on the sharing platform",
                 ("已入共享平台", "共享平台登记", "platform_registered"), in_form=False),
    # the three below are judged and stored but (as the API has always answered) not returned
    ExpenseField("expert_title", CHOICE, "专家职称", "Expert title", ("专家职称", "expert_title"),
                 vocabulary="expert_titles", in_output=False, in_form=False),
    ExpenseField("expert_days", DAYS, "咨询天数", "Consulting days", ("咨询天数", "expert_days"),
                 description="person-days of expert consulting, 0 < days ≤ 365", in_output=False, in_form=False),
    ExpenseField("fund_source", CHOICE, "资金来源", "Fund source", ("资金来源", "fund_source"), max_length=64,
                 vocabulary="fund_sources", in_output=False, in_form=False),
)
BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
REQUIRED = tuple(f.name for f in FIELDS if f.required)
