"""Administrators' pages: users (create, deactivate, reset password, API tokens shown once), institutions,
policy versions with their rules and vocabularies, and the policy replay report."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from compliance import policy_versions
from grants import registry as grants
from grants import users
from grants.errors import DomainError
from grants.extensions import db
from webui.common import Page, page_number
from webui.forms import InstitutionForm, PasswordForm, PlainForm, TokenForm, UserForm

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")


def _institutions():
    return db.session.scalars(grants.list_institutions(current_user)).all()


@bp.route("/users", methods=["GET", "POST"], endpoint="users")
@login_required
def users_page():
    users.require_admin(current_user)
    form = UserForm(institutions=_institutions())
    created_token, errors = None, {}
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                inst = form.institution_id.data
                user, created_token = users.create_user(
                    {"username": form.username.data.strip(), "role": form.role.data, "password": form.password.data,
                     "institution_id": int(inst) if inst else None, "email": form.email.data or None,
                     "display_name": form.display_name.data or None}, current_user)
                flash(_("用户已创建") + f": {user.username}", "ok")
            except DomainError as e:
                errors = e.errors or {"_": [e.message]}
        else:
            errors = form.errors
    number = page_number()
    stmt = users.list_users(current_user)
    rows = db.session.scalars(stmt.limit(50).offset((number - 1) * 50)).all()
    total = users.count_users(current_user)
    return render_template("admin/users.html", form=form, page=Page(rows, number, 50, total), errors=errors,
                           created_token=created_token), (422 if errors else 200)


@bp.get("/users/<int:user_id>")
@login_required
def user(user_id):
    target = users.get_user(user_id, current_user)
    return render_template("admin/user.html", u=target, tokens=users.list_tokens(user_id, current_user),
                           pw_form=PasswordForm(), token_form=TokenForm(), plain=PlainForm(), new_token=None)


@bp.post("/users/<int:user_id>/<any(deactivate, activate):action>")
@login_required
def set_active(user_id, action):
    if not PlainForm().validate_on_submit():
        abort(400)
    users.update_user(user_id, {"active": action == "activate"}, current_user)
    flash(_("已停用") if action == "deactivate" else _("已启用"), "ok")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/password")
@login_required
def reset_password(user_id):
    form = PasswordForm()
    if not form.validate_on_submit():
        flash(_("密码至少 8 位"), "error")
    else:
        users.reset_password(user_id, form.password.data, current_user)
        flash(_("密码已重置"), "ok")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/tokens")
@login_required
def issue_token(user_id):
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400)
    _token, plain = users.issue_token(user_id, form.label.data or "", current_user)
    target = users.get_user(user_id, current_user)
    return render_template("admin/user.html", u=target, tokens=users.list_tokens(user_id, current_user),
                           pw_form=PasswordForm(), token_form=TokenForm(), plain=PlainForm(), new_token=plain)


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(user_id, token_id):
    if not PlainForm().validate_on_submit():
        abort(400)
    users.revoke_token(user_id, token_id, current_user)
    flash(_("令牌已撤销"), "ok")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/institutions", methods=["GET", "POST"])
@login_required
def institutions():
    from grants.schemas import InstitutionSchema
    from marshmallow import ValidationError

    users.require_admin(current_user)
    form, errors = InstitutionForm(), {}
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                data = InstitutionSchema().load({"name": form.name.data, "kind": form.kind.data,
                                                 "credit_code": form.credit_code.data or None})
                inst = grants.create_institution(data, current_user)
                flash(_("单位已登记") + f": {inst.name}", "ok")
                return redirect(url_for("admin.institutions"))
            except ValidationError as e:
                errors = e.messages
            except DomainError as e:
                errors = e.errors or {"_": [e.message]}
        else:
            errors = form.errors
    return render_template("admin/institutions.html", rows=_institutions(), form=form, errors=errors), \
        (422 if errors else 200)


@bp.get("/policies")
@login_required
def policies():
    users.require_admin(current_user)
    return render_template("admin/policies.html", rows=policy_versions.list_versions(current_user), plain=PlainForm())


@bp.post("/policies/load")
@login_required
def load_policies():
    if not PlainForm().validate_on_submit():
        abort(400)
    loaded = policy_versions.load_new_versions(current_user)
    flash(_("已载入新版本") + f": {len(loaded)}", "ok")
    return redirect(url_for("admin.policies"))


@bp.get("/policies/<int:version_id>")
@login_required
def policy(version_id):
    users.require_admin(current_user)
    v = policy_versions.get_version(version_id, current_user)
    return render_template("admin/policy.html", v=v, content=v.content or {})


@bp.get("/replay")
@login_required
def replay():
    from reports import service as reports

    users.require_admin(current_user)
    versions = policy_versions.list_versions(current_user)
    report = None
    vid = request.args.get("version_id", "")
    if vid.isdigit():
        def d(name):
            try:
                return date.fromisoformat(request.args[name]) if request.args.get(name) else None
            except ValueError:
                return None
        report = reports.policy_replay(current_user, version_id=int(vid), date_from=d("date_from"),
                                       date_to=d("date_to"), changed_only=request.args.get("all") != "1")
    return render_template("admin/replay.html", versions=versions, report=report, args=request.args)
