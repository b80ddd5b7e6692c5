"""Users carry an e-mail address: reminders and alerts go there."""
from sqlalchemy import select

from grants.models import User


def test_create_user_takes_an_email_on_the_command_line(app, db):
    from grants.cli import grants_cli

    r = app.test_cli_runner().invoke(grants_cli, ["create-user", "wang", "--role", "finance_bureau",
                                                  "--email", "wang@kjj.example", "--password", "s3cret-pass"])
    assert r.exit_code == 0, r.output
    assert db.session.scalars(select(User.email).where(User.username == "wang")).one() == "wang@kjj.example"
    bad = app.test_cli_runner().invoke(grants_cli, ["create-user", "li", "--role", "auditor", "--email", "li at x",
                                                    "--password", "s3cret-pass"])
    assert bad.exit_code != 0
