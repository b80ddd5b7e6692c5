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
        """记录评价结果 / record passed, failed or waived (finance bureau)"""
        return service.record_result(evaluation_id, data["status"], data["note"], caller(), data["decided_on"])
