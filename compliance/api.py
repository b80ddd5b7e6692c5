"""HTTP API of the loaded policy versions."""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from compliance import policy as policy_store
from compliance import schemas as sc
from compliance.models import PolicyVersion
from compliance.programmes import programmes
from grants.errors import NotFound
from grants.extensions import db
from grants.web import blueprint, caller

# The expense endpoints keep the blueprint name "compliance" (budgets.expenses.api) and Flask needs a
# distinct one here; the operations keep the OpenAPI tag "compliance" they have always had.
blp = blueprint("policies", __name__, "经费政策 / the spending rules' policy versions")
TAGS = ["compliance"]


@blp.route("/policies", tags=TAGS)
class Policies(MethodView):
    @blp.response(200, sc.PolicyVersionSchema(many=True))
    def get(self):
        """政策版本 / loaded policy versions with their content hashes"""
        caller()
        return list(db.session.scalars(select(PolicyVersion).order_by(PolicyVersion.effective_from)))


@blp.route("/policies/<int:version_id>", tags=TAGS)
class PolicyById(MethodView):
    @blp.response(200, sc.PolicyVersionDetailSchema)
    def get(self, version_id):
        caller()
        v = db.session.get(PolicyVersion, version_id)
        if v is None:
            raise NotFound(f"政策版本 {version_id} 不存在 / policy version not found")
        return v


@blp.route("/programmes", tags=TAGS)
class Programmes(MethodView):
    @blp.response(200, sc.ProgrammeSchema(many=True))
    def get(self):
        """资助计划 / the programmes a grant may belong to, with their rules and sources"""
        caller()
        return [p.to_dict() for p in programmes().values()]


@blp.route("/vocabularies", tags=TAGS)
class Vocabularies(MethodView):
    @blp.response(200, sc.VocabulariesSchema)
    def get(self):
        """词表 / the closed vocabularies of the expense fields (codes, zh/en labels, synonyms, required
        fields, forbidding rules) of the current policy version — for building drop-downs"""
        caller()
        return policy_store.vocabularies_document()
