"""HTTP API of budgets, adjustments and the post-subsidy assessment."""
from __future__ import annotations

from flask.views import MethodView

from budgets import schemas as sc
from budgets import service, subsidy
from grants.schemas import SubsidyAssessmentSchema
from grants.web import blueprint, caller

blp = blueprint("budgets", __name__, "预算 / budgets, adjustments (预算调剂) and subsidies")


@blp.route("/grants/<int:grant_id>/budget")
class Budget(MethodView):
    @blp.response(200, sc.BudgetSchema)
    def get(self, grant_id):
        """预算 / a grant's budget lines with spent, reserved and available"""
        return {"lines": service.list_lines(grant_id, caller())}

    @blp.arguments(sc.BudgetSchema)
    @blp.response(200, sc.BudgetSchema)
    def put(self, data, grant_id):
        """编制预算 / set a draft grant's whole budget (lines must equal the fiscal amount)"""
        return {"lines": service.set_budget(grant_id, data["lines"], caller())}


@blp.route("/grants/<int:grant_id>/budget-lines")
class BudgetLines(MethodView):
    @blp.response(200, sc.BudgetLineSchema(many=True))
    def get(self, grant_id):
        return service.list_lines(grant_id, caller())

    @blp.arguments(sc.BudgetLineSchema)
    @blp.response(201, sc.BudgetLineSchema)
    def post(self, data, grant_id):
        """新增预算行（草稿）/ add one budget line to a draft grant"""
        return service.create_line(grant_id, data, caller())


@blp.route("/grants/<int:grant_id>/budget-lines/<int:line_id>")
class BudgetLineById(MethodView):
    @blp.arguments(sc.BudgetLineUpdateSchema)
    @blp.response(200, sc.BudgetLineSchema)
    def patch(self, data, grant_id, line_id):
        return service.update_line(grant_id, line_id, data, caller())


@blp.route("/grants/<int:grant_id>/adjustments")
class Adjustments(MethodView):
    @blp.response(200, sc.AdjustmentSchema(many=True))
    def get(self, grant_id):
        return service.list_adjustments(grant_id, caller())

    @blp.arguments(sc.AdjustmentSchema)
    @blp.response(201, sc.AdjustmentSchema)
    def post(self, data, grant_id):
        """预算调剂申请 / request a budget adjustment; the PI's own moves apply at once"""
        return service.request_adjustment(grant_id, data, caller())


@blp.route("/grants/<int:grant_id>/adjustments/<int:adjustment_id>/decision")
class AdjustmentDecision(MethodView):
    @blp.arguments(sc.DecisionSchema)
    @blp.response(200, sc.AdjustmentSchema)
    def post(self, data, grant_id, adjustment_id):
        """审批调剂 / approve or reject an adjustment (finance bureau)"""
        return service.decide_adjustment(grant_id, adjustment_id, data["approve"], data["reason"], caller())


@blp.route("/grants/<int:grant_id>/subsidy")
class Subsidy(MethodView):
    @blp.response(200, SubsidyAssessmentSchema)
    def get(self, grant_id):
        return subsidy.get_assessment(grant_id, caller())

    @blp.response(200, SubsidyAssessmentSchema)
    def post(self, grant_id):
        """核定补助 / compute the payable subsidy after acceptance: min(ratio × eligible spend, cap)"""
        return subsidy.assess_subsidy(grant_id, caller())


@blp.route("/grants/<int:grant_id>/subsidy/pay")
class SubsidyPay(MethodView):
    @blp.arguments(sc.SubsidyPaySchema)
    @blp.response(200, SubsidyAssessmentSchema)
    def post(self, data, grant_id):
        """拨付补助 / pay min(claimed, assessed, programme cap left) after acceptance; posts to the ledger"""
        return subsidy.pay_subsidy(grant_id, caller(), data["paid_on"], data.get("claimed_amount"))
