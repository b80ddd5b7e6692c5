"""The browser interface: one blueprint per area (common, the original pages, institution staff, auditors,
administrators). 简体中文 first, English available."""


def register_pages(app) -> None:
    from webui.admin import bp as admin_bp
    from webui.auditor import bp as auditor_bp
    from webui.common import bp as common_bp
    from webui.institution import bp as inst_bp
    from webui.views import bp as web_bp
    import webui.jobs  # noqa: F401  - the scheduler's page, on the pages' blueprint (webui.views.bp)

    from webui.bureau import register as register_bureau

    register_bureau(app)
    for bp in (common_bp, web_bp, inst_bp, auditor_bp, admin_bp):
        app.register_blueprint(bp)
