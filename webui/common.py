"""What every page shares: vendored static files, the Jinja filters (``yuan``, ``label``, ``isodate``,
``pct``, ``capitals``), the per-role navigation, pagination and the HTML error pages."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from webui import vocabulary

bp = Blueprint("common", __name__, template_folder="templates", static_folder="static",
               static_url_path="/web-static")


def lang() -> str:
    return "en" if str(get_locale()) == "en" else "zh"


# --------------------------------------------------------------------------- filters
def yuan(value, symbol: bool = True) -> str:
    """¥1,234,567.89 — Decimal in, never through float."""
    if value is None or value == "":
        return "—"
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{d.quantize(Decimal('0.01')):,.2f}"
    if not symbol:
        return text
    return ("-¥" + text[1:]) if text.startswith("-") else "¥" + text


def label(code, domain: str | None = None) -> str:
    return vocabulary.label(code, domain, lang())


def isodate(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def pct(value, digits: int = 1) -> str:
    """A ratio (0.4567) as a percentage (45.7%)."""
    if value is None or value == "":
        return "—"
    try:
        d = Decimal(str(value)) * 100
    except InvalidOperation:
        return str(value)
    return f"{d:.{digits}f}%"


def capitals(value) -> str:
    """The amount in Chinese capitals as a 报销单 shows it (壹万贰仟叁佰肆拾伍元陆角)."""
    import cn2an

    d = Decimal(str(value)).quantize(Decimal("0.01"))
    text = cn2an.an2cn(str(abs(d)), "rmb")
    if not text.endswith(("整", "角", "分")):
        text += "整"
    return ("负" if d < 0 else "") + text


def yesno(value) -> str:
    return vocabulary.label(str(value), "bool", lang())


def bar(ratio) -> Markup:
    """An execution bar (progress) for a ratio, with the percentage as text."""
    try:
        value = max(Decimal(0), min(Decimal(1), Decimal(str(ratio or 0))))
    except InvalidOperation:
        value = Decimal(0)
    width = f"{value * 100:.0f}"
    text = pct(ratio)
    return Markup(
        f'<div class="progress" role="progressbar" aria-label="{escape(_l("执行率"))}" aria-valuenow="{width}" '
        f'aria-valuemin="0" aria-valuemax="100" style="min-width:6rem"><div class="progress-bar" '
        f'style="width:{width}%"></div></div><small class="text-body-secondary">{escape(text)}</small>')


def message(finding: dict) -> str:
    return finding.get("message_en" if lang() == "en" else "message_zh") or ""


@bp.app_template_filter("yuan")
def _yuan(value, symbol=True):
    return yuan(value, symbol)


@bp.app_template_filter("label")
def _label(code, domain=None):
    return label(code, domain)


bp.add_app_template_filter(isodate, "isodate")
bp.add_app_template_filter(pct, "pct")
bp.add_app_template_filter(capitals, "capitals")
bp.add_app_template_filter(yesno, "yesno")
bp.add_app_template_filter(bar, "bar")
bp.add_app_template_filter(message, "message")


# --------------------------------------------------------------------------- navigation per role
NAV = {
    "institution": [("web.home", _l("我的课题")), ("inst.expenses", _l("我的支出")), ("inst.import_form", _l("批量导入")),
                    ("inst.evaluations", _l("绩效评价"))],
    "finance_bureau": [("dash.dashboard", _l("总览")), ("bgrant.index", _l("课题")), ("inst.expenses", _l("支出")), ("bureau.queue", _l("审批队列")),
                       ("bureau.adjustments", _l("调剂审批")), ("bureau.evaluations_queue", _l("绩效评价")), ("web.report", _l("报表")), ("auditor.ledger", _l("总账"))],
    "auditor": [("web.home", _l("课题")), ("inst.expenses", _l("支出")), ("auditor.ledger", _l("总账")),
                ("auditor.verify", _l("校验")), ("web.report", _l("报表"))],
    "admin": [("web.home", _l("课题")), ("admin.users", _l("用户")), ("admin.institutions", _l("单位")),
              ("admin.policies", _l("政策版本")), ("admin.replay", _l("政策回放")), ("auditor.ledger", _l("总账"))],
}


@bp.app_context_processor
def _helpers():
    role = current_user.role.value if getattr(current_user, "is_authenticated", False) else None
    return {"get_locale": get_locale, "lang": lang(), "nav_items": NAV.get(role, []), "role": role,
            "vocab_choices": lambda domain, codes=None: vocabulary.choices(domain, lang(), codes)}


# --------------------------------------------------------------------------- pagination
@dataclass
class Page:
    items: list
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def url(self, number: int) -> str:
        args = request.args.to_dict()
        args["page"] = str(number)
        from urllib.parse import urlencode

        return request.path + "?" + urlencode(args)


def page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10**6))
    except ValueError:
        return 1


# --------------------------------------------------------------------------- HTML errors (JSON stays for /api/)
ERROR_TEXT = {
    400: (_l("请求有误"), _l("提交的内容无法处理，请返回重试。")),
    401: (_l("请先登录"), _l("此页面需要登录。")),
    403: (_l("无权访问"), _l("您的角色不能查看或执行此操作。")),
    404: (_l("页面不存在"), _l("您要找的记录或页面不存在，或不属于您的单位。")),
    405: (_l("不支持的操作"), _l("此页面不接受这种请求。")),
    409: (_l("操作冲突"), _l("记录的当前状态不允许此操作。")),
    422: (_l("输入有误"), _l("请检查填写的内容。")),
    500: (_l("服务器内部错误"), _l("出错了，我们已记录此问题。请稍后再试。")),
}


def html_error(status: int):
    """The error page for a browser request, in the user's language."""
    status = status if status in ERROR_TEXT else (500 if status >= 500 else 400)
    title, text = ERROR_TEXT[status]
    try:
        return render_template("error.html", status=status, title=title, text=text), status
    except Exception:  # never let the error page itself fail
        return f"<h1>{status}</h1>", status


@bp.record_once
def _register_html_errors(state):
    state.app.extensions["html_error"] = html_error


# --------------------------------------------------------------------------- report tables
# column / key of a report → the vocabulary domain of its values
CELL_DOMAINS = {"verdict": "verdict", "old_verdict": "verdict", "new_verdict": "verdict", "recorded_verdict": "verdict",
                "category": "category", "subject": "subject", "funding_mode": "funding_mode", "status": None,
                "kind": "institution_kind", "institution_kind": "institution_kind", "severity": "severity",
                "entry_type": "entry_type", "rule_kind": "rule_kind"}


def heading(key) -> str:
    """A report key as a heading: from the vocabulary's report keys, else words (never a snake_case code)."""
    pair = vocabulary.VOCABULARY["report_key"].get(str(key)) or vocabulary._ANY.get(str(key))
    if pair:
        return pair[1] if lang() == "en" else pair[0]
    return str(key).replace("_", " ")


MONEY_COLUMNS = {"budget", "spent", "pending", "remaining", "threshold"}
RATIO_COLUMNS = ("_rate", "_share", "share", "burn_vs_time", "time_elapsed", "_pace", "growth", "goal", "target",
                 "_elapsed", "_committed")
_MONEY_TEXT = re.compile(r"-?\d+\.\d{2}")
_ISO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})[\d:.]*([+-]\d{2}:\d{2}|Z)?")


def cell(value, column=None) -> str:
    """One value of a report table: codes as labels, money as yuan, ratios as percentages, times ISO."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return yesno(value)
    col = str(column or "")
    if col in CELL_DOMAINS:
        return label(value, CELL_DOMAINS[col])
    if isinstance(value, (str, Decimal)) and _MONEY_TEXT.fullmatch(str(value)) and \
            ("amount" in col or col in MONEY_COLUMNS):
        return yuan(value)
    if isinstance(value, (str, Decimal, float)) and col.endswith(RATIO_COLUMNS):
        try:
            return pct(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        m = _ISO_TIME.fullmatch(value)
        return f"{m.group(1)} {m.group(2)}"
    if isinstance(value, (dict, list)):
        return "; ".join(f"{heading(k)} = {cell(v, k)}" for k, v in value.items()) if isinstance(value, dict) \
            else ", ".join(str(cell(v)) for v in value)
    if isinstance(value, str) and value in vocabulary._ANY:
        return label(value)
    return str(value)


def sources(value) -> str:
    """A rule's source: one text, or a list of {doc, article}."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        return "；".join(" ".join(str(v) for v in (item.values() if isinstance(item, dict) else [item])) for item in value)
    return str(value or "—")


bp.add_app_template_filter(heading, "heading")
bp.add_app_template_filter(cell, "cell")
bp.add_app_template_filter(sources, "sources")
