"""The one table of an expense's own fields.

Everything that lists an expense's fields is derived from ``FIELDS``: the API's in/out schemas
(``budgets.expenses.schemas``), the facts the rules judge (``service.EXPENSE_FIELDS``), the importer's
column map and cell parsers (``budgets.expenses.importer``), the web form (``webui.forms``) and the
labels. Adding a field is an edit here plus the model and a migration.

``headers`` are the import column names accepted (Chinese and English, the first one named in error
messages); ``choices`` are (value, Chinese label) pairs, ``aliases`` further Chinese spellings the
importer accepts.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    choices: tuple[tuple[str, str], ...] = ()   # (value, Chinese label)
    aliases: tuple[tuple[str, str], ...] = ()   # further (Chinese spelling, value) the importer accepts
    strict: bool = True                         # a CHOICE outside ``choices`` is refused (subject: the rules judge it)
    description: str | None = None              # OpenAPI description
    in_output: bool = True                      # returned by the API (ExpenseOutSchema)
    in_form: bool = True                        # offered on the web form
    default: object = None                      # value when absent
    yes_no: tuple[str, str] = ("是", "否")       # a BOOL's two answers on the form (the empty one is 未知)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.choices)


SUBJECTS = (("equipment", "设备费"), ("operations", "业务费"), ("labour", "劳务费"), ("indirect", "间接费用"),
            ("lump_sum", "包干经费"))
PAYEE_KINDS = (("vendor", "供应商"), ("institution", "单位"), ("individual", "个人"), ("student", "学生"),
               ("salaried_staff", "在编人员"), ("external_expert", "外聘专家"), ("project_member", "项目组成员"),
               ("civil_servant", "公务员"), ("government", "政府部门"), ("bank", "银行"), ("charity", "慈善机构"),
               ("enterprise", "企业"), ("related_party", "关联方"))
PAYMENT_METHODS = (("bank_transfer", "银行转账"), ("official_card", "公务卡"), ("cash", "现金"),
                   ("internal_transfer", "内部转账"))
EXPERT_TITLES = (("senior", "高级"), ("other", "其他"), ("academician", "院士"))

FIELDS: tuple[ExpenseField, ...] = (
    ExpenseField("expense_date", DATE, "支出日期", "Expense date", ("支出日期", "日期", "expense_date", "date"),
                 required=True),
    ExpenseField("amount", AMOUNT, "金额（元）", "Amount (yuan)", ("金额", "金额（元）", "金额(元)", "amount"),
                 required=True, max_length=24),
    ExpenseField("subject", CHOICE, "预算科目", "Budget subject", ("预算科目", "科目", "subject"), required=True,
                 max_length=32, choices=SUBJECTS, aliases=(("包干", "lump_sum"),), strict=False,
                 description="equipment 设备费 | operations 业务费 | labour 劳务费 | indirect 间接费用 | lump_sum"),
    ExpenseField("purpose", TEXT, "用途", "Purpose", ("用途", "用途类别", "purpose"), max_length=40,
                 description="materials, testing, travel, meeting, publication, expert_consulting, labour, "
                             "equipment_purchase, fine, gift_card, …"),
    ExpenseField("description", TEXT, "摘要", "Description", ("摘要", "说明", "description"), max_length=2000,
                 default=""),
    ExpenseField("payee_name", TEXT, "收款方", "Payee", ("收款方", "收款人", "payee_name", "payee"), max_length=200),
    ExpenseField("payee_kind", CHOICE, "收款方类型", "Payee kind", ("收款方类型", "payee_kind"), choices=PAYEE_KINDS),
    ExpenseField("payment_method", CHOICE, "支付方式", "Payment method", ("支付方式", "payment_method"),
                 choices=PAYMENT_METHODS),
    ExpenseField("invoice_no", TEXT, "发票号码", "Invoice no.", ("发票号码", "发票号", "invoice_no"), max_length=64),
    ExpenseField("invoice_verified", BOOL, "发票查验", "Invoice verified",
                 ("发票查验", "发票已查验", "invoice_verified"), yes_no=("已通过查验", "未通过查验")),
    ExpenseField("unit_value", MONEY, "单台（套）价值（元）", "Unit value (yuan)", ("单价", "单台套价值", "unit_value"), in_form=False),
    ExpenseField("quantity", INT, "数量", "Quantity", ("数量", "quantity"), in_form=False),
    ExpenseField("platform_registered", BOOL, "已登记入共享平台", "Registered on the sharing platform",
                 ("已入共享平台", "共享平台登记", "platform_registered"), in_form=False),
    # the three below are judged and stored but (as the API has always answered) not returned
    ExpenseField("expert_title", CHOICE, "专家职称", "Expert title", ("专家职称", "expert_title"),
                 choices=EXPERT_TITLES, aliases=(("正高", "senior"), ("副高", "senior"), ("中级", "other")),
                 in_output=False, in_form=False),
    ExpenseField("expert_days", DAYS, "咨询天数", "Consulting days", ("咨询天数", "expert_days"),
                 description="person-days of expert consulting, 0 < days ≤ 365", in_output=False, in_form=False),
    ExpenseField("fund_source", TEXT, "资金来源", "Fund source", ("资金来源", "fund_source"), max_length=64,
                 in_output=False, in_form=False),
)
BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
REQUIRED = tuple(f.name for f in FIELDS if f.required)


def choice_map(f: ExpenseField) -> dict[str, str]:
    """Chinese label or alias → value, for the importer."""
    return {**{zh: v for v, zh in f.choices}, **dict(f.aliases)}
