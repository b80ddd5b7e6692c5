"""Flask-WTF forms (CSRF-protected); field validation mirrors the API schemas."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from compliance.schemas import PAYEE_KINDS, PAYMENT_METHODS


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


SUBJECTS = [("equipment", _l("设备费")), ("operations", _l("业务费")), ("labour", _l("劳务费")),
            ("indirect", _l("间接费用")), ("lump_sum", _l("包干经费"))]
METHODS = [(m, m) for m in PAYMENT_METHODS]
KINDS = [("", "—")] + [(k, k) for k in PAYEE_KINDS]
INVOICE = [("", _l("未知")), ("yes", _l("已通过查验")), ("no", _l("未通过查验"))]


class ExpenseForm(FlaskForm):
    expense_date = DateField(_l("支出日期"), validators=[DataRequired()])
    amount = StringField(_l("金额（元）"), validators=[DataRequired(), Length(max=24)])
    subject = SelectField(_l("预算科目"), choices=SUBJECTS)
    purpose = StringField(_l("用途代码"), validators=[Optional(), Length(max=40)])
    description = TextAreaField(_l("摘要"), validators=[Optional(), Length(max=2000)])
    payee_name = StringField(_l("收款方"), validators=[Optional(), Length(max=200)])
    payee_kind = SelectField(_l("收款方类型"), choices=KINDS, validators=[Optional()])
    payment_method = SelectField(_l("支付方式"), choices=METHODS)
    invoice_no = StringField(_l("发票号码"), validators=[Optional(), Length(max=64)])
    invoice_verified = SelectField(_l("发票查验"), choices=INVOICE, validators=[Optional()])
    check_only = BooleanField(_l("只试算，不登记"))


class DecisionForm(FlaskForm):
    reason = StringField(_l("审批意见"), validators=[DataRequired(), Length(max=2000)])
