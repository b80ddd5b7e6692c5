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
    for_purposes: tuple[str, ...] = ()          # purposes (用途 codes) that need the field; () = every expense

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
TRAVELLER_RANKS = (("ministerial", "部级"), ("bureau", "司局级"), ("other", "其余人员"))
MEETING_CLASSES = (("class1", "一类会议"), ("class2", "二类会议"), ("class3", "三类会议"), ("class4", "四类会议"))
PROCUREMENT_METHODS = (("public_tender", "公开招标"), ("invited_tender", "邀请招标"),
                       ("competitive_negotiation", "竞争性谈判"), ("competitive_consultation", "竞争性磋商"),
                       ("single_source", "单一来源"), ("inquiry", "询价"), ("framework", "框架协议"),
                       ("self_purchase", "单位自行采购"))
FEE_BASIS = (("net", "税后"), ("gross", "税前"))
# the purposes whose rules need the facts below (the form shows a field only for these; the web helpers wire it)
TRAVEL = ("travel",)
MEETING = ("meeting",)
PROCUREMENT = ("materials", "testing", "software", "data_purchase", "equipment_purchase", "equipment_trial",
               "equipment_upgrade", "publication", "other")
EXPERT = ("expert_fee", "expert_fee_correspondence")
HIRED = ("salary_hired",)
PARTNER = ("partner_transfer",)
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
    # ---- the facts of the rulebook (issue #14): travel, meetings, procurement, labour, partners, expert fees
    ExpenseField("trip_city", TEXT, "出差城市", "Destination city", ("出差城市", "出差地点", "目的地", "trip_city"),
                 max_length=32, for_purposes=TRAVEL,
                 description="a city code of the policy's `cities` vocabulary (beijing, ordos, …) or its Chinese name"),
    ExpenseField("traveller_rank", CHOICE, "出差人员级别", "Traveller rank", ("出差人员级别", "职级", "traveller_rank"),
                 choices=TRAVELLER_RANKS, aliases=(("省部级", "ministerial"), ("厅局级", "bureau"), ("处级及以下", "other")),
                 for_purposes=TRAVEL),
    ExpenseField("nights", INT, "住宿天数（晚）", "Nights", ("住宿天数", "住宿晚数", "nights"), for_purposes=TRAVEL),
    ExpenseField("travel_days", INT, "出差天数", "Travel days", ("出差天数", "出差自然日", "travel_days"),
                 description="calendar days of the trip (meal and local-transport allowances are per calendar day)",
                 for_purposes=TRAVEL),
    ExpenseField("hotel_invoice", BOOL, "有住宿发票", "Hotel invoice", ("住宿发票", "有住宿发票", "hotel_invoice"),
                 yes_no=("有住宿发票", "无住宿发票"), for_purposes=TRAVEL),
    ExpenseField("lodging_amount", MONEY, "住宿费（发票金额）", "Lodging (invoice amount)",
                 ("住宿费", "住宿费发票金额", "lodging_amount"), for_purposes=TRAVEL),
    ExpenseField("fare_amount", MONEY, "城市间交通费", "Fares", ("城市间交通费", "交通费", "fare_amount"),
                 for_purposes=TRAVEL),
    ExpenseField("meals_provided_days", INT, "对方提供伙食天数", "Days with meals provided",
                 ("提供伙食天数", "meals_provided_days"), for_purposes=TRAVEL),
    ExpenseField("meeting_class", CHOICE, "会议类别", "Meeting class", ("会议类别", "meeting_class"),
                 choices=MEETING_CLASSES, aliases=(("一类", "class1"), ("二类", "class2"), ("三类", "class3"),
                                                   ("四类", "class4")), for_purposes=MEETING),
    ExpenseField("attendees", INT, "参会人数", "Attendees", ("参会人数", "attendees"), for_purposes=MEETING),
    ExpenseField("meeting_staff", INT, "工作人员人数", "Meeting staff", ("工作人员人数", "meeting_staff"),
                 for_purposes=MEETING),
    ExpenseField("meeting_days", INT, "会期（天）", "Meeting days", ("会期", "会议天数", "meeting_days"),
                 for_purposes=MEETING),
    ExpenseField("procurement_method", CHOICE, "采购方式", "Procurement method", ("采购方式", "procurement_method"),
                 choices=PROCUREMENT_METHODS, for_purposes=PROCUREMENT),
    ExpenseField("procurement_record_no", TEXT, "采购备案号", "Procurement record no.",
                 ("采购备案号", "采购编号", "procurement_record_no"), max_length=64, for_purposes=PROCUREMENT),
    ExpenseField("partner_in_task_book", BOOL, "任务书约定的合作单位", "Partner named in the task book",
                 ("任务书合作单位", "partner_in_task_book"), yes_no=("是任务书约定单位", "非任务书约定单位"),
                 for_purposes=PARTNER),
    ExpenseField("partner_share", MONEY, "任务书约定外拨金额", "Partner's share in the task book",
                 ("任务书外拨金额", "partner_share"), for_purposes=PARTNER),
    ExpenseField("fee_basis", CHOICE, "金额为税前/税后", "Amount net or gross of tax", ("税前税后", "fee_basis"),
                 choices=FEE_BASIS, for_purposes=EXPERT),
    ExpenseField("pay_months", INT, "工资所属月数", "Months of pay", ("工资月数", "pay_months"), for_purposes=HIRED),
)
BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
REQUIRED = tuple(f.name for f in FIELDS if f.required)


def fields_for_purpose(purpose: str | None) -> tuple[ExpenseField, ...]:
    """The fields an expense of this purpose is asked for: every general field plus those whose
    ``for_purposes`` name it (the form shows the rest only when the purpose needs them)."""
    return tuple(f for f in FIELDS if not f.for_purposes or purpose in f.for_purposes)


def choice_map(f: ExpenseField) -> dict[str, str]:
    """Chinese label or alias → value, for the importer."""
    return {**{zh: v for v, zh in f.choices}, **dict(f.aliases)}
