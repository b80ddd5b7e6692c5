"""Shared by the browser tests: one live server (seeded demo on SQLite) and one headless Debian chromium per
module, the login helper, and where screenshots go (tests/e2e/artifacts/, not committed)."""
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

PASSWORD = "demo-password-123"
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", Path(__file__).resolve().parent / "artifacts"))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    from flask_migrate import upgrade

    from compliance.service import sync_policies
    from grants.app import create_app
    from grants.seed import seed_demo

    url = "sqlite:///" + str(tmp_path_factory.mktemp("e2e") / "e2e.sqlite3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "e2e-secret"})
    with app.app_context():
        upgrade()
        sync_policies()
        seed_demo(PASSWORD, living=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    assert os.path.exists(exe), "Debian chromium is required for the browser tests (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _login(page, base, username):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url(base + "/")


