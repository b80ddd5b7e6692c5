"""HTTP API of the grant registry: parse with a schema, call a service, dump."""
from __future__ import annotations

from flask.views import MethodView

from grants import schemas as sc
from grants import disbursement, equity, lifecycle, registry
from grants.web import blueprint, caller, page_of

blp = blueprint("grants", __name__, "课题登记 / grant registry: institutions, researchers, grants and money flows")
PAGE = {"page_size": 20, "max_page_size": 500}


@blp.route("/institutions")
class Institutions(MethodView):
    @blp.arguments(sc.InstitutionSchema)
    @blp.response(201, sc.InstitutionSchema)
    def post(self, data):
        """登记单位 / register an institution (finance bureau)"""
        return registry.create_institution(data, caller())

    @blp.response(200, sc.InstitutionSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, pagination_parameters):
        """单位列表 / list institutions (staff see their own)"""
        return page_of(registry.list_institutions(caller()), pagination_parameters)


@blp.route("/institutions/<int:institution_id>")
class InstitutionById(MethodView):
    @blp.response(200, sc.InstitutionSchema)
    def get(self, institution_id):
        return registry.get_institution(institution_id, caller())

    @blp.arguments(sc.InstitutionUpdateSchema)
    @blp.response(200, sc.InstitutionSchema)
    def patch(self, data, institution_id):
        return registry.update_institution(institution_id, data, caller())


@blp.route("/researchers")
class Researchers(MethodView):
    @blp.arguments(sc.ResearcherSchema)
    @blp.response(201, sc.ResearcherSchema)
    def post(self, data):
        """登记科研人员 / register a researcher"""
        return registry.create_researcher(data, caller())

    @blp.response(200, sc.ResearcherSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, pagination_parameters):
        return page_of(registry.list_researchers(caller()), pagination_parameters)


@blp.route("/researchers/<int:researcher_id>")
class ResearcherById(MethodView):
    @blp.response(200, sc.ResearcherSchema)
    def get(self, researcher_id):
        return registry.get_researcher(researcher_id, caller())

    @blp.arguments(sc.ResearcherUpdateSchema)
    @blp.response(200, sc.ResearcherSchema)
    def patch(self, data, researcher_id):
        return registry.update_researcher(researcher_id, data, caller())


@blp.route("/grants")
class Grants(MethodView):
    @blp.arguments(sc.GrantSchema)
    @blp.response(201, sc.GrantSchema)
    def post(self, data):
        """申报课题 / create a grant (draft)"""
        return registry.create_grant(data, caller())

    @blp.arguments(sc.GrantQuerySchema, location="query")
    @blp.response(200, sc.GrantSchema(many=True))
    @blp.paginate(**PAGE)
    def get(self, filters, pagination_parameters):
        """课题列表 / list grants, filtered by institution, category, status and period"""
        return page_of(registry.list_grants(caller(), filters), pagination_parameters)


@blp.route("/grants/<int:grant_id>")
class GrantById(MethodView):
    @blp.response(200, sc.GrantSchema)
    def get(self, grant_id):
        return registry.get_grant(grant_id, caller())

    @blp.arguments(sc.GrantUpdateSchema)
    @blp.response(200, sc.GrantSchema)
    def patch(self, data, grant_id):
        """修改课题（草稿状态）/ update a grant (most fields only while draft)"""
        return registry.update_grant(grant_id, data, caller())


@blp.route("/grants/<int:grant_id>/actions/<string:action>")
class GrantAction(MethodView):
    @blp.arguments(sc.TransitionSchema)
    @blp.response(200, sc.GrantSchema)
    @blp.alt_response(409, description="illegal transition: the message says why")
    def post(self, data, grant_id, action):
        """课题状态流转 / lifecycle action: approve, activate, suspend, resume, request_acceptance, accept, fail, close"""
        return lifecycle.transition(grant_id, action, caller(), data["reason"], data.get("effective_on"))


@blp.route("/grants/<int:grant_id>/milestones")
class Milestones(MethodView):
    @blp.response(200, sc.MilestoneSchema(many=True))
    def get(self, grant_id):
        return disbursement.list_milestones(grant_id, caller())

    @blp.arguments(sc.MilestoneSchema)
    @blp.response(201, sc.MilestoneSchema)
    def post(self, data, grant_id):
        """设立里程碑 / add a milestone"""
        return disbursement.create_milestone(grant_id, data, caller())


@blp.route("/grants/<int:grant_id>/milestones/<int:milestone_id>")
class MilestoneById(MethodView):
    @blp.arguments(sc.MilestoneUpdateSchema)
    @blp.response(200, sc.MilestoneSchema)
    def patch(self, data, grant_id, milestone_id):
        return disbursement.update_milestone(grant_id, milestone_id, data, caller())


@blp.route("/grants/<int:grant_id>/milestones/<int:milestone_id>/decision")
class MilestoneDecision(MethodView):
    @blp.arguments(sc.MilestoneDecisionSchema)
    @blp.response(200, sc.MilestoneSchema)
    def post(self, data, grant_id, milestone_id):
        """里程碑验收 / accept or reject a milestone (finance bureau)"""
        return disbursement.decide_milestone(grant_id, milestone_id, data["accepted"], caller(),
                                        data["decided_on"], data["note"])


@blp.route("/grants/<int:grant_id>/tranches")
class Tranches(MethodView):
    @blp.response(200, sc.TrancheSchema(many=True))
    def get(self, grant_id):
        return disbursement.list_tranches(grant_id, caller())

    @blp.arguments(sc.TrancheSchema)
    @blp.response(201, sc.TrancheSchema)
    def post(self, data, grant_id):
        """安排拨款 / plan a tranche (拨款)"""
        return disbursement.create_tranche(grant_id, data, caller())


@blp.route("/grants/<int:grant_id>/tranches/<int:tranche_id>")
class TrancheById(MethodView):
    @blp.arguments(sc.TrancheUpdateSchema)
    @blp.response(200, sc.TrancheSchema)
    def patch(self, data, grant_id, tranche_id):
        return disbursement.update_tranche(grant_id, tranche_id, data, caller())


@blp.route("/grants/<int:grant_id>/tranches/<int:tranche_id>/pay")
class TranchePay(MethodView):
    @blp.arguments(sc.PaySchema)
    @blp.response(200, sc.TrancheSchema)
    @blp.alt_response(409, description="gate closed: milestone not accepted, team not chosen, grant not active")
    def post(self, data, grant_id, tranche_id):
        """拨付 / pay a tranche (finance bureau); posts to the ledger"""
        return disbursement.pay_tranche(grant_id, tranche_id, caller(), data["paid_on"])


@blp.route("/races")
class Races(MethodView):
    @blp.arguments(sc.RaceSchema)
    @blp.response(201, sc.RaceOutSchema)
    def post(self, data):
        """设立赛马 / create a 赛马制 race with its stages"""
        user = caller()
        return disbursement.race_view(disbursement.create_race(data["title"], data["stages"], user), user)


@blp.route("/races/<int:race_id>")
class RaceById(MethodView):
    @blp.response(200, sc.RaceOutSchema)
    def get(self, race_id):
        return disbursement.race_view(disbursement.get_race(race_id), caller())


@blp.route("/races/<int:race_id>/stages/<int:stage_no>/selection")
class RaceSelection(MethodView):
    @blp.arguments(sc.RaceSelectSchema)
    @blp.response(200, sc.RaceOutSchema)
    def post(self, data, race_id, stage_no):
        """赛马评选 / choose the teams that go on into a stage"""
        user = caller()
        race = disbursement.select_teams(race_id, stage_no, data["grant_ids"], user, data["selected_on"])
        return disbursement.race_view(race, user)


@blp.route("/grants/<int:grant_id>/subsidy-terms")
class SubsidyTermsView(MethodView):
    @blp.response(200, sc.SubsidyTermsSchema)
    def get(self, grant_id):
        return disbursement.get_subsidy_terms(grant_id, caller())

    @blp.arguments(sc.SubsidyTermsSchema)
    @blp.response(200, sc.SubsidyTermsSchema)
    def put(self, data, grant_id):
        """补助条件 / set a post_subsidy grant's ratio cap and absolute cap"""
        return disbursement.set_subsidy_terms(grant_id, data, caller())


@blp.route("/grants/<int:grant_id>/equity")
class Equity(MethodView):
    @blp.response(200, sc.EquityPositionSchema)
    def get(self, grant_id):
        """股权状况 / the equity position: shareholding, invested, proceeds, return"""
        return equity.equity_position(grant_id, caller())

    @blp.arguments(sc.EquityInvestmentSchema)
    @blp.response(201, sc.EquityInvestmentSchema)
    def post(self, data, grant_id):
        """登记拨改投投资 / record the equity investment"""
        return equity.create_investment(grant_id, data, caller())

    @blp.arguments(sc.EquityInvestmentUpdateSchema)
    @blp.response(200, sc.EquityInvestmentSchema)
    def patch(self, data, grant_id):
        return equity.update_investment(grant_id, data, caller())


@blp.route("/grants/<int:grant_id>/equity/events")
class EquityEvents(MethodView):
    @blp.arguments(sc.EquityEventSchema)
    @blp.response(201, sc.EquityEventSchema)
    def post(self, data, grant_id):
        """股权事件 / follow-on, dilution, buy-back or exit"""
        return equity.add_equity_event(grant_id, data, caller())
