"""HTTP API of performance evaluations (绩效评价)."""
from __future__ import annotations

from flask.views import MethodView

from evaluations import schemas as sc
from evaluations import service
from grants.web import blueprint, caller, page_of

blp = blueprint("evaluations", __name__, "绩效评价 / performance evaluations: mid-term, annual, final acceptance")


@blp.route("/grants/<int:grant_id>/evaluations")
class GrantEvaluations(MethodView):
    @blp.response(200, sc.EvaluationSchema(many=True))
    def get(self, grant_id):
        return service.list_for_grant(grant_id, caller())

    @blp.arguments(sc.EvaluationSchema)
    @blp.response(201, sc.EvaluationSchema)
    def post(self, data, grant_id):
        """安排一次评价 / add one evaluation (finance bureau)"""
        return service.add_evaluation(grant_id, data["kind"], data["due_date"], caller())


@blp.route("/grants/<int:grant_id>/evaluations/schedule")
class ScheduleEvaluations(MethodView):
    @blp.response(200, sc.EvaluationSchema(many=True))
    def post(self, grant_id):
        """按执行期排定评价 / schedule mid-term, annual and final acceptance from the grant period"""
        return service.schedule_grant(grant_id, caller())


@blp.route("/evaluations")
class Evaluations(MethodView):
    @blp.arguments(sc.EvaluationQuerySchema, location="query")
    @blp.response(200, sc.EvaluationSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query, pagination_parameters):
        """到期评价 / evaluations, e.g. due before a date (institution staff see their own)"""
        return page_of(service.list_due(caller(), query.get("due_before"), query.get("status")), pagination_parameters)


@blp.route("/evaluations/<int:evaluation_id>/result")
class EvaluationResult(MethodView):
    @blp.arguments(sc.EvaluationResultSchema)
    @blp.response(200, sc.EvaluationSchema)
    def post(self, data, evaluation_id):
        """记录评价结果 / record passed, failed or waived (finance bureau); failed applies the consequence policy, passed lifts it"""
        return service.record_result(evaluation_id, data["status"], data["note"], caller(), data["decided_on"])


@blp.route("/evaluations/<int:evaluation_id>/submission")
class EvaluationSubmission(MethodView):
    @blp.arguments(sc.SubmissionSchema)
    @blp.response(200, sc.EvaluationSchema)
    def post(self, data, evaluation_id):
        """提交评价材料 / file the evaluation (institution staff): due or overdue → submitted"""
        return service.submit_evaluation(evaluation_id, caller(), data["note"], data["submitted_on"])


@blp.route("/evaluation-holds")
class EvaluationHolds(MethodView):
    @blp.arguments(sc.HoldQuerySchema, location="query")
    @blp.response(200, sc.HoldSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query, pagination_parameters):
        """评价后果 / consequences in force (blocked tranches and subsidies, flagged grants, expense reviews)"""
        return page_of(service.list_holds(caller(), query.get("grant_id"), query["active"]), pagination_parameters)
