"""HTTP API of user and token administration (administrators only), for scripts: the same use cases as
the admin pages (``grants.users``). A token appears once, in the answer that issues it."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from grants import users
from grants.models import Role
from grants.schemas import Choice
from grants.web import blueprint, caller, page_of

blp = blueprint("users", __name__, "用户与令牌 / users and API tokens (administrators)")
PAGE = {"page_size": 50, "max_page_size": 500}


class UserOutSchema(Schema):
    id = fields.Int()
    username = fields.Str()
    role = Choice(Role)
    institution_id = fields.Int(allow_none=True)
    email = fields.Str(allow_none=True)
    display_name = fields.Str(allow_none=True)
    active = fields.Bool()


class UserCreateSchema(Schema):
    username = fields.Str(required=True, validate=validate.Length(1, 80))
    role = Choice(Role, required=True)
    password = fields.Str(required=True, load_only=True, validate=validate.Length(8, 200))
    institution_id = fields.Int(load_default=None, allow_none=True)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))
    display_name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=120))


class UserCreatedSchema(UserOutSchema):
    token = fields.Str(metadata={"description": "the first API token, shown only in this answer"})


class UserUpdateSchema(Schema):
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    display_name = fields.Str(allow_none=True, validate=validate.Length(max=120))
    active = fields.Bool()


class PasswordSchema(Schema):
    password = fields.Str(required=True, load_only=True, validate=validate.Length(8, 200))


class TokenOutSchema(Schema):
    id = fields.Int()
    label = fields.Str()
    created_at = fields.DateTime()
    revoked = fields.Bool()


class TokenCreateSchema(Schema):
    label = fields.Str(load_default="", validate=validate.Length(max=100))


class TokenIssuedSchema(TokenOutSchema):
    token = fields.Str(metadata={"description": "the token itself, shown only in this answer"})


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserOutSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, pagination_parameters):
        """用户 / every account (administrators)"""
        return page_of(users.list_users(caller()), pagination_parameters)

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserCreatedSchema)
    def post(self, data):
        """新建用户 / create an account; the answer carries its first API token, shown once"""
        user, token = users.create_user(data, caller())
        return {**{name: getattr(user, name) for name in UserOutSchema().fields}, "token": token}


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserOutSchema)
    def get(self, user_id):
        return users.get_user(user_id, caller())

    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserOutSchema)
    def patch(self, data, user_id):
        """修改用户 / e-mail, display name, or ``active: false`` to deactivate (its tokens stop working)"""
        return users.update_user(user_id, data, caller())


@blp.route("/users/<int:user_id>/password")
class UserPassword(MethodView):
    @blp.arguments(PasswordSchema)
    @blp.response(204)
    def put(self, data, user_id):
        """重置密码 / set a new password"""
        users.reset_password(user_id, data["password"], caller())


@blp.route("/users/<int:user_id>/tokens")
class UserTokens(MethodView):
    @blp.response(200, TokenOutSchema(many=True))
    def get(self, user_id):
        """API 令牌 / the user's tokens (never the tokens themselves)"""
        return users.list_tokens(user_id, caller())

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenIssuedSchema)
    def post(self, data, user_id):
        """签发令牌 / issue a token; the answer is the only time it is shown"""
        token, plain = users.issue_token(user_id, data["label"], caller())
        return {**{name: getattr(token, name) for name in TokenOutSchema().fields}, "token": plain}


@blp.route("/users/<int:user_id>/tokens/<int:token_id>")
class UserTokenById(MethodView):
    @blp.response(204)
    def delete(self, user_id, token_id):
        """撤销令牌 / revoke a token: it is refused from now on"""
        users.revoke_token(user_id, token_id, caller())
