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
    for_purposes: tuple[str, ...] = ()          # purposes (用途 codes) that need the field; () = every expense
    fixed_choices: tuple[tuple[str, str], ...] = ()  # a CHOICE without a policy vocabulary: (code, 中文) pairs
    aliases: tuple[tuple[str, str], ...] = ()   # … and what else a person may type for them (typed → code)

    @property
    def vocab(self) -> Vocabulary | None:
        return VOCABULARIES.get(self.vocabulary) if self.vocabulary else None

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        """(code, Chinese label) pairs of the field's vocabulary, in the policy's order."""
        v = self.vocab
        return v.labels() if v is not None else self.fixed_choices

    @property
    def values(self) -> tuple[str, ...]:
        v = self.vocab
        return v.values if v is not None else tuple(code for code, _ in self.fixed_choices)

    def resolve(self, typed: str) -> str | None:
        """The code meant by a code, a label or a synonym (any width, case or script); None if none."""
        v = self.vocab
        if v is not None:
            return v.resolve(typed)
        typed = (typed or "").strip()
        lookup = {**{c: c for c, _ in self.fixed_choices}, **{zh: c for c, zh in self.fixed_choices},
                  **dict(self.aliases)}
        return lookup.get(typed, lookup.get(typed.lower()))

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
    # ---- the facts of the rulebook (issue #14): travel, meetings, procurement, labour, partners, expert fees
    ExpenseField("trip_city", TEXT, "出差城市", "Destination city", ("出差城市", "出差地点", "目的地", "trip_city"),
                 max_length=32, for_purposes=TRAVEL,
                 description="a city code of the policy's `cities` vocabulary (beijing, ordos, …) or its Chinese name"),
    ExpenseField("traveller_rank", CHOICE, "出差人员级别", "Traveller rank", ("出差人员级别", "职级", "traveller_rank"),
                 fixed_choices=TRAVELLER_RANKS, aliases=(("省部级", "ministerial"), ("厅局级", "bureau"), ("处级及以下", "other")),
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
                 fixed_choices=MEETING_CLASSES, aliases=(("一类", "class1"), ("二类", "class2"), ("三类", "class3"),
                                                   ("四类", "class4")), for_purposes=MEETING),
    ExpenseField("attendees", INT, "参会人数", "Attendees", ("参会人数", "attendees"), for_purposes=MEETING),
    ExpenseField("meeting_staff", INT, "工作人员人数", "Meeting staff", ("工作人员人数", "meeting_staff"),
                 for_purposes=MEETING),
    ExpenseField("meeting_days", INT, "会期（天）", "Meeting days", ("会期", "会议天数", "meeting_days"),
                 for_purposes=MEETING),
    ExpenseField("procurement_method", CHOICE, "采购方式", "Procurement method", ("采购方式", "procurement_method"),
                 fixed_choices=PROCUREMENT_METHODS, for_purposes=PROCUREMENT),
    ExpenseField("procurement_record_no", TEXT, "采购备案号", "Procurement record no.",
                 ("采购备案号", "采购编号", "procurement_record_no"), max_length=64, for_purposes=PROCUREMENT),
    ExpenseField("partner_in_task_book", BOOL, "任务书约定的合作单位", "Partner named in the task book",
                 ("任务书合作单位", "partner_in_task_book"), yes_no=("是任务书约定单位", "非任务书约定单位"),
                 for_purposes=PARTNER),
    ExpenseField("partner_share", MONEY, "任务书约定外拨金额", "Partner's share in the task book",
                 ("任务书外拨金额", "partner_share"), for_purposes=PARTNER),
    ExpenseField("fee_basis", CHOICE, "金额为税前/税后", "Amount net or gross of tax", ("税前税后", "fee_basis"),
                 fixed_choices=FEE_BASIS, for_purposes=EXPERT),
    ExpenseField("pay_months", INT, "工资所属月数", "Months of pay", ("工资月数", "pay_months"), for_purposes=HIRED),
)
BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(f.name for f in FIELDS)
REQUIRED = tuple(f.name for f in FIELDS if f.required)


def fields_for_purpose(purpose: str | None) -> tuple[ExpenseField, ...]:
    """The fields an expense of this purpose is asked for: every general field plus those whose
    ``for_purposes`` name it (the form shows the rest only when the purpose needs them)."""
    return tuple(f for f in FIELDS if not f.for_purposes or purpose in f.for_purposes)

