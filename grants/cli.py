"""The ``grants`` console command (also ``flask --app grants.app grants …``).

Each package with commands keeps them in its own ``cli.py`` (``compliance``: sync-policies, ``budgets``:
import-expenses, ``reports``: ledger verification, checkpoints, exports, policy replay and the scheduler);
this module holds the registry's own (create-user, seed-demo) and composes them all into one group.
It is part of the app shell, which sits on top of every package: importing upward from here is allowed.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as db_group

from budgets import cli as budgets_cli
from compliance import cli as compliance_cli
from grants import accounts
from grants.accounts import create_user as _create
from grants.app import create_app
from grants.seed import seed_demo as _seed
from reports import cli as reports_cli
from reports import scheduler_cli


@click.group("grants", help="科研经费管理 — admin commands")
def grants_cli():
    pass


@grants_cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["institution", "finance_bureau", "auditor", "admin"]), required=True)
@click.option("--institution-id", type=int, default=None)
@click.option("--email", default=None, help="where reminders and alerts are sent")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_user(username, role, institution_id, email, password):
    """Create a user and print a fresh API token."""
    user, token = _create(username, role, password, institution_id, email=email)
    click.echo(f"user {user.username} ({user.role.value}) token: {token}")


@grants_cli.command("seed-demo")
@click.option("--password", default=None, help="password for the demo users (default: random, printed)")
@with_appcontext
def seed_demo(password):
    """Seed a demo: institutions, grants of all four categories and one user per role."""
    for line in _seed(password):
        click.echo(line)


@grants_cli.command("deactivate-user")
@click.argument("username")
@with_appcontext
def deactivate_user(username):
    """Deactivate an account: its browser sessions and API tokens stop working at once."""
    accounts.deactivate_user(username)
    click.echo(f"user {username} deactivated")


@grants_cli.command("reset-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def reset_password(username, password):
    """Set a new password; every browser session of the user ends."""
    accounts.reset_password(username, password)
    click.echo(f"password of {username} reset; its sessions ended")


@grants_cli.command("serve")
@click.option("--bind", default=None, help="address:port (default GUNICORN_BIND or 127.0.0.1:8000)")
@click.option("--workers", type=int, default=None, help="worker processes (default GUNICORN_WORKERS, 2 × cores + 1)")
@click.option("--threads", type=int, default=None, help="threads per worker (default GUNICORN_THREADS, 4)")
def serve(bind, workers, threads):
    """Serve the app under gunicorn, the production server (settings from GUNICORN_* variables)."""
    from grants.serving import gunicorn_options, run_gunicorn

    run_gunicorn(gunicorn_options(bind, workers, threads))


for _command in (*compliance_cli.COMMANDS, *budgets_cli.COMMANDS, *reports_cli.COMMANDS, *scheduler_cli.COMMANDS):
    grants_cli.add_command(_command)


def main():  # console script entry point: `grants import-expenses FILE`, `grants db upgrade`, …
    from grants.config import ConfigError

    try:
        app = create_app()
    except ConfigError as e:
        raise SystemExit(f"grants: {e}") from None
    cli = FlaskGroup(create_app=lambda: app, add_default_commands=True, help=grants_cli.help)
    for name, command in grants_cli.commands.items():
        cli.add_command(command, name)
    cli.add_command(db_group)
    cli.main(prog_name="grants")


if __name__ == "__main__":
    main()
