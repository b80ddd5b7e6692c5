"""Flask-WTF forms (CSRF-protected); field validation mirrors the API schemas. Choices come from the one
vocabulary (webui.vocabulary) in the user's language, so a select never shows a raw code."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from budgets.expenses import fields as ef
from webui import vocabulary


def _lang() -> str:
    from webui.common import lang

    return lang()


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


SUBJECT_CODES = ef.BY_NAME["subject"].values      # from the policy's closed vocabularies
PURPOSE_CODES = ef.BY_NAME["purpose"].values
EXPERT_PURPOSES = ("expert_fee", "expert_fee_correspondence")
LABOUR_PURPOSES = ("labour_fee", "expert_fee", "expert_fee_correspondence", "lecture_fee", "performance_pay", "stipend")
INVOICE = [("", _l("未知")), ("yes", _l("已通过查验")), ("no", _l("未通过查验"))]
TRISTATE = [("", _l("未知")), ("yes", _l("是")), ("no", _l("否"))]


def _label(name: str):
    """A field's label is the table of expense fields' (budgets.expenses.fields), translated."""
    return _l(ef.BY_NAME[name].label_zh)


class ExpenseForm(FlaskForm):
    expense_date = DateField(_label("expense_date"), validators=[DataRequired()])
    amount = StringField(_label("amount"), validators=[DataRequired(), Length(max=24)])
    subject = SelectField(_label("subject"))
    purpose = SelectField(_label("purpose"), validators=[Optional()])
    description = TextAreaField(_label("description"), validators=[Optional(), Length(max=2000)])
    payee_name = StringField(_label("payee_name"), validators=[Optional(), Length(max=200)])
    payee_kind = SelectField(_label("payee_kind"), validators=[Optional()])
    payment_method = SelectField(_label("payment_method"))
    invoice_no = StringField(_label("invoice_no"), validators=[Optional(), Length(max=64)])
    invoice_verified = SelectField(_label("invoice_verified"), choices=INVOICE, validators=[Optional()])
    unit_value = StringField(_label("unit_value"), validators=[Optional(), Length(max=24)])
    quantity = StringField(_label("quantity"), validators=[Optional(), Length(max=9)])
    platform_registered = SelectField(_label("platform_registered"), choices=TRISTATE, validators=[Optional()])
    expert_title = SelectField(_label("expert_title"), validators=[Optional()])
    expert_days = StringField(_label("expert_days"), validators=[Optional(), Length(max=8)])
    researcher_id = SelectField(_l("受益研究人员"), validators=[Optional()])
    check_only = BooleanField(_l("只试算，不登记"))

    def __init__(self, *args, researchers=(), **kwargs):
        super().__init__(*args, **kwargs)
        lang = _lang()
        self.subject.choices = vocabulary.choices("subject", lang, SUBJECT_CODES)
        self.purpose.choices = [("", "—")] + vocabulary.choices("purpose", lang, PURPOSE_CODES)
        self.payee_kind.choices = [("", "—")] + vocabulary.choices("payee_kind", lang, ef.BY_NAME["payee_kind"].values)
        self.payment_method.choices = vocabulary.choices("payment_method", lang, ef.BY_NAME["payment_method"].values)
        self.expert_title.choices = [("", "—")] + vocabulary.choices("expert_title", lang)
        self.researcher_id.choices = [("", "—")] + [(str(r.id), r.name) for r in researchers]

    def data_for(self, grant_id: int) -> dict:
        """The raw input for ExpenseInSchema (the API's schema does the typing and validation)."""
        tri = {"yes": True, "no": False}
        raw = {"grant_id": grant_id, "expense_date": self.expense_date.data.isoformat(), "amount": self.amount.data,
               "subject": self.subject.data, "purpose": self.purpose.data or None,
               "description": self.description.data or "", "payee_name": self.payee_name.data or None,
               "payee_kind": self.payee_kind.data or None, "payment_method": self.payment_method.data,
               "invoice_no": self.invoice_no.data or None, "invoice_verified": tri.get(self.invoice_verified.data)}
        if self.subject.data == "equipment":
            raw.update(unit_value=self.unit_value.data or None, quantity=self.quantity.data or None,
                       platform_registered=tri.get(self.platform_registered.data))
        if self.purpose.data in EXPERT_PURPOSES:
            raw.update(expert_title=self.expert_title.data or None, expert_days=self.expert_days.data or None)
        if self.researcher_id.data:
            raw["researcher_id"] = self.researcher_id.data
        return raw


# the table's fields this form offers (grant and researcher come from the page)
FORM_FIELDS = tuple(f for f in ef.FIELDS if f.name in ExpenseForm.__dict__)


class DecisionForm(FlaskForm):
    reason = StringField(_l("审批意见"), validators=[DataRequired(), Length(max=2000)])


class AdjustmentForm(FlaskForm):
    from_subject = SelectField(_l("调出科目"))
    to_subject = SelectField(_l("调入科目"))
    amount = StringField(_l("金额（元）"), validators=[DataRequired(), Length(max=24)])
    reason = TextAreaField(_l("调剂理由"), validators=[DataRequired(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codes = ("equipment", "operations", "labour", "indirect")
        self.from_subject.choices = vocabulary.choices("subject", _lang(), codes)
        self.to_subject.choices = vocabulary.choices("subject", _lang(), codes)


class ImportForm(FlaskForm):
    file = FileField(_l("文件（CSV 或 XLSX）"), validators=[FileRequired()])


class BookImportForm(FlaskForm):
    token = StringField(validators=[DataRequired(), Length(max=80)])
    mode = SelectField(choices=[("all", "all"), ("partial", "partial")])


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=80)])
    display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=120)])
    email = StringField(_l("电子邮件"), validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("电子邮件格式不正确")), Length(max=200)])
    role = SelectField(_l("角色"))
    institution_id = SelectField(_l("所属单位"), validators=[Optional()])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(min=8, max=200)])

    def __init__(self, *args, institutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = vocabulary.choices("role", _lang())
        self.institution_id.choices = [("", "—")] + [(str(i.id), i.name) for i in institutions]


class PasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=200)])


class TokenForm(FlaskForm):
    label = StringField(_l("令牌用途"), validators=[Optional(), Length(max=100)])


class PlainForm(FlaskForm):
    """Only the CSRF token (buttons that post)."""


class InstitutionForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("类型"))
    credit_code = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(max=32)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = vocabulary.choices("institution_kind", _lang())


class SubmissionForm(FlaskForm):
    summary = TextAreaField(_l("自评报告"), validators=[DataRequired(), Length(max=20000)])
