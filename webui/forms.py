"""Flask-WTF forms (CSRF-protected); the expense form is derived from the table of expense fields."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from budgets.expenses import fields as ef


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


# Choice labels: the budget subjects show their Chinese names; payee kinds and payment methods their codes
# (as the form always has); a yes/no field is a three-way select whose empty answer means "unknown".
_LABELLED_CHOICES = {"subject"}
_CODE_AND_LABEL = {"purpose"}     # a long vocabulary: the code with its Chinese label
_NO_BLANK = {"subject", "payment_method"}


def _form_field(f: ef.ExpenseField):
    label = _l(f.label_zh)
    presence = [DataRequired()] if f.required else [Optional()]
    if f.kind == ef.DATE:
        return DateField(label, validators=presence)
    if f.kind == ef.CHOICE:
        choices = [(v, _l(zh) if f.name in _LABELLED_CHOICES else f"{v} · {zh}" if f.name in _CODE_AND_LABEL else v)
                   for v, zh in f.choices]
        if f.name in _NO_BLANK:
            return SelectField(label, choices=choices)
        return SelectField(label, choices=[("", "—"), *choices], validators=[Optional()])
    if f.kind == ef.BOOL:
        yes, no = f.yes_no
        return SelectField(label, choices=[("", _l("未知")), ("yes", _l(yes)), ("no", _l(no))], validators=[Optional()])
    widget = TextAreaField if (f.max_length or 0) >= 2000 else StringField
    return widget(label, validators=[*presence, Length(max=f.max_length or 64)])


FORM_FIELDS = tuple(f for f in ef.FIELDS if f.in_form)


class ExpenseForm(FlaskForm):
    check_only = BooleanField(_l("只试算，不登记"))

    def expense_fields(self) -> list:
        """The expense's fields on this form, in the table's order (the page renders them in a loop)."""
        return [self[f.name] for f in FORM_FIELDS]

    def expense_data(self, grant_id: int) -> dict:
        """The form's answers as the API's ExpenseInSchema takes them (the page loads them with it)."""
        raw: dict = {"grant_id": grant_id}
        for f in FORM_FIELDS:
            value = self[f.name].data
            if f.kind == ef.DATE:
                raw[f.name] = value.isoformat()
            elif f.kind == ef.BOOL:
                raw[f.name] = {"yes": True, "no": False}.get(value)
            else:
                raw[f.name] = value or f.default
        return raw


for _f in FORM_FIELDS:
    setattr(ExpenseForm, _f.name, _form_field(_f))


class DecisionForm(FlaskForm):
    reason = StringField(_l("审批意见"), validators=[DataRequired(), Length(max=2000)])
