"""The finance bureau's workbench: the dashboard (webui.dashboard), the approval queue that scales
and the grants' whole life (added here as they land)."""
from __future__ import annotations


def register(app) -> None:
    from webui.dashboard import bp as dash_bp

    app.register_blueprint(dash_bp)
