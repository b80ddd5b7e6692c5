"""The console: one ``grants`` command made of every package's commands, acting as the named system account."""
import json

import pytest
from sqlalchemy import func, select

from compliance.models import PolicyVersion
from grants.accounts import SYSTEM_USERNAME, authenticate, create_user, system_account
from grants.cli import grants_cli
from grants.db import unit_of_work
from grants.errors import Conflict
from grants.models import ApiToken, Role, User


def system_users(db):
    return db.session.scalars(select(User).where(User.username == SYSTEM_USERNAME)).all()


def test_the_grants_command_holds_every_packages_commands_under_their_old_names():
    assert set(grants_cli.commands) == {
        "create-user", "seed-demo",                     # grants
        "deactivate-user", "reset-password", "serve",   # grants: accounts and the production server
        "sync-policies", "policy-corpus",               # compliance
        "import-expenses",                              # budgets
        "verify-ledger", "checkpoint-ledger", "ledger-head", "export-ledger", "verify-export", "create-app-role",
        "replay-policy",                                # reports
        "run-scheduler", "jobs", "audit-export",        # reports: the scheduler
    }


def test_an_export_from_the_console_acts_as_the_system_account(booked, db, app, tmp_path):
    runner = app.test_cli_runner()
    assert system_users(db) == []
    for n in (1, 2):
        r = runner.invoke(args=["grants", "export-ledger", "--out", str(tmp_path / f"l{n}.csv")])
        assert r.exit_code == 0, r.output
        assert "6 rows" in r.output  # the administrator's reach: every institution's entries
    [system] = system_users(db)  # created once, then reused
    assert system.role == Role.ADMIN and system.institution_id is None
    assert system.active is False and not system.check_password("")
    assert authenticate(SYSTEM_USERNAME, "") is None
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == system.id)) == 0


def test_a_policy_replay_from_the_console_acts_as_the_system_account(db, app, tmp_path):
    version = db.session.scalars(select(PolicyVersion).where(PolicyVersion.version == "2021.1")).one()
    out = tmp_path / "replay.json"
    r = app.test_cli_runner().invoke(args=["grants", "replay-policy", "--version-id", str(version.id),
                                           "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8"))["policy"]["version"] == "2021.1"
    assert len(system_users(db)) == 1


def test_the_system_account_is_written_by_the_callers_unit_of_work(db):
    with pytest.raises(RuntimeError):
        with unit_of_work():
            assert system_account().id is not None
            raise RuntimeError("the use case fails")
    assert system_users(db) == []  # rolled back with the rest
    with unit_of_work():
        created = system_account()
    assert system_users(db) == [created]


def test_a_person_named_system_is_not_taken_for_the_system_account(db):
    create_user(SYSTEM_USERNAME, "auditor", "a-long-password")
    with pytest.raises(Conflict):
        system_account()
