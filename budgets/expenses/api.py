"""HTTP API of expenses and their verdicts, the approval queue and imports."""
from __future__ import annotations

from flask.views import MethodView

from budgets.expenses import importer, service
from budgets.expenses import schemas as sc
from grants import access
from grants.web import blueprint, caller, keyset_page_of

# named "compliance" as the API has always exposed it (the OpenAPI tag of the expense endpoints)
blp = blueprint("compliance", __name__, "合规审查 / every expense judged against the spending rules")
PAGE = {"page_size": 50, "max_page_size": 1000}


def verdict_body(judgement, version, recorded: bool) -> dict:
    return {"verdict": judgement.verdict, "findings": [f.to_dict() for f in judgement.findings],
            "subsidy_eligible": judgement.subsidy_eligible, "recorded": recorded,
            "calculations": [c.to_dict() for c in judgement.calculations],
            "policy_version": f"{version.policy_set} {version.version}" if version else None}


@blp.route("/expenses")
class Expenses(MethodView):
    @blp.arguments(sc.ExpenseInSchema)
    @blp.arguments(sc.IdempotencyHeaderSchema, location="headers")
    @blp.response(201, sc.ExpenseOutSchema)
    @blp.alt_response(200, schema=sc.ExpenseOutSchema, description="a retried Idempotency-Key: the first result")
    def post(self, data, headers):
        """登记支出 / log an expense: judged before it touches the books; stored with its verdict"""
        expense, created = service.submit_expense(data, caller(), headers.get("idempotency_key"))
        return expense, 201 if created else 200

    @blp.arguments(sc.ExpenseQuerySchema, location="query")
    @blp.response(200, sc.ExpenseOutSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, filters, pagination_parameters):
        """支出列表 / list expenses (institution staff see their own)"""
        cursor = filters.pop("cursor", None)
        return keyset_page_of(service.list_expenses(caller(), filters), service.LIST_KEYS, cursor,
                              pagination_parameters)


@blp.route("/expenses/check")
class ExpenseCheck(MethodView):
    @access.dry_run
    @blp.arguments(sc.ExpenseInSchema)
    @blp.response(200, sc.VerdictSchema)
    def post(self, data):
        """试算 / dry run: "can I spend this?" — the verdict, nothing recorded"""
        judgement, version = service.check_expense(data, caller())
        return verdict_body(judgement, version, recorded=False)


@blp.route("/expenses/queue")
class ApprovalQueue(MethodView):
    @blp.arguments(sc.CursorQuerySchema, location="query")
    @blp.response(200, sc.ExpenseOutSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, args, pagination_parameters):
        """审批队列 / expenses waiting for the finance bureau, oldest first"""
        user = caller()
        return keyset_page_of(service.approval_queue(user), service.QUEUE_KEYS, args.get("cursor"),
                              pagination_parameters, count=lambda: service.pending_count(user))


@blp.route("/expenses/<int:expense_id>")
class ExpenseById(MethodView):
    @blp.response(200, sc.ExpenseOutSchema)
    def get(self, expense_id):
        return service.get_expense(expense_id, caller())


@blp.route("/expenses/<int:expense_id>/decision")
class ExpenseDecision(MethodView):
    @blp.arguments(sc.ExpenseDecisionSchema)
    @blp.response(200, sc.ExpenseOutSchema)
    @blp.alt_response(409, description="not pending, or the budget no longer covers it")
    def post(self, data, expense_id):
        """审批 / approve or reject a queued expense, with a reason"""
        return service.decide_expense(expense_id, data["approve"], data["reason"], caller())


@blp.route("/expenses/<int:expense_id>/reversal")
class ExpenseReversal(MethodView):
    @blp.arguments(sc.ReversalSchema)
    @blp.response(200, sc.ExpenseOutSchema)
    def post(self, data, expense_id):
        """冲销 / reverse a posted expense with a reversal entry (never an edit)"""
        return service.reverse_expense(expense_id, data["reason"], caller())


@blp.route("/expenses/import")
class ExpenseImport(MethodView):
    @blp.arguments(sc.ImportFormSchema, location="query")
    @blp.arguments(sc.ImportFileSchema, location="files")
    @blp.response(200, sc.ImportReportSchema)
    @blp.alt_response(422, schema={"anyOf": [{"$ref": "#/components/schemas/ImportReport"},
                                             {"$ref": "#/components/schemas/Error"}]},
                      description="malformed rows: nothing booked (the report); or a file that cannot be read (an error)")
    def post(self, query, files):
        """批量导入 / import expenses from CSV or XLSX (Chinese or English headers); every row judged"""
        upload = files["file"]
        report = importer.import_expenses(upload.stream.read(), upload.filename or "upload.csv", caller(),
                                          partial=query["partial"])
        return report, 200 if report["committed"] else 422
