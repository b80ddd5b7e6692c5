"""The ``grants`` console command for admin work (also ``flask --app grants.app grants …``)."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from grants.extensions import db


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
    from grants.accounts import create_user as _create

    user, token = _create(username, role, password, institution_id, email=email)
    click.echo(f"user {user.username} ({user.role.value}) token: {token}")


@grants_cli.command("sync-policies")
@with_appcontext
def sync_policies():
    """Load new policy versions from compliance/policies into the database."""
    from compliance.service import sync_policies as _sync

    for v in _sync():
        click.echo(f"loaded {v.policy_set} {v.version} ({v.status}, from {v.effective_from}) {v.content_hash[:12]}")


@grants_cli.command("seed-demo")
@click.option("--password", default=None, help="password for the demo users (default: random, printed)")
@with_appcontext
def seed_demo(password):
    """Seed a demo: institutions, grants of all four categories and one user per role."""
    from grants.seed import seed_demo as _seed

    for line in _seed(password):
        click.echo(line)


@grants_cli.command("import-expenses")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="the account the rows are submitted as")
@click.option("--partial", is_flag=True, help="book valid rows even if some rows are malformed")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="write the row report as CSV")
@with_appcontext
def import_expenses(file, username, partial, report_path):
    """Import expenses from CSV/XLSX; every row is judged. Re-running the same file books nothing twice."""
    import csv
    from pathlib import Path

    from rich.progress import Progress

    from compliance.importer import import_expenses as _import
    from grants.models import User

    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.BadParameter(f"no user {username}", param_hint="--user")
    content = Path(file).read_bytes()
    with Progress() as bar:
        task = bar.add_task("导入 / importing", total=None)

        def progress(n):
            bar.update(task, completed=n)

        result = _import(content, Path(file).name, user, partial=partial, progress=progress)
    click.echo(f"rows {result['rows']}  booked {result['booked']}  invalid {result['invalid']}  "
               f"already imported {result['skipped_already_imported']}  by verdict {result['by_verdict']}  "
               f"committed {result['committed']}")
    for r in result["report"]:
        if r["errors"]:
            click.echo(f"  row {r['row']}: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in r["errors"].items()))
    if report_path:
        with open(report_path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(["row", "expense_id", "verdict", "status", "rule_ids", "errors"])
            for r in result["report"]:
                w.writerow([r["row"], r["expense_id"] or "", r["verdict"] or "", r["status"] or "",
                            " ".join(r["rule_ids"]), "; ".join(f"{k}: {' '.join(v)}" for k, v in (r["errors"] or {}).items())])
    if not result["committed"]:
        raise SystemExit(1)


def main():  # console script entry point: `grants import-expenses FILE`, `grants db upgrade`, …
    from flask_migrate.cli import db as db_group

    from grants.app import create_app

    app = create_app()  # registers every package's commands on grants_cli
    cli = FlaskGroup(create_app=lambda: app, add_default_commands=True, help=grants_cli.help)
    for name, command in grants_cli.commands.items():
        cli.add_command(command, name)
    cli.add_command(db_group)
    cli.main(prog_name="grants")
