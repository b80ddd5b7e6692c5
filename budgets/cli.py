"""Console commands of the budgets package, attached to the ``grants`` group by ``grants.cli``."""
from __future__ import annotations

import csv
from pathlib import Path

import click
from flask.cli import with_appcontext
from rich.progress import Progress
from sqlalchemy import select

from budgets.expenses.importer import import_expenses as _import
from grants.errors import DomainError
from grants.extensions import db
from grants.models import User


@click.command("import-expenses")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="the account the rows are submitted as")
@click.option("--partial", is_flag=True, help="book valid rows even if some rows are malformed")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="write the row report as CSV")
@with_appcontext
def import_expenses(file, username, partial, report_path):
    """Import expenses from CSV/XLSX; every row is judged. Re-running the same file books nothing twice."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.BadParameter(f"no user {username}", param_hint="--user")
    content = Path(file).read_bytes()
    try:
        with Progress() as bar:
            task = bar.add_task("导入 / importing", total=None)
            result = _import(content, Path(file).name, user, partial=partial,
                             progress=lambda n: bar.update(task, completed=n))
    except DomainError as e:  # the file or the caller is refused: say why, no traceback
        click.echo(f"导入失败 / import refused: {e}", err=True)
        for field, msgs in (getattr(e, "errors", None) or {}).items():
            click.echo(f"  {field}: {' '.join(map(str, msgs))}", err=True)
        raise SystemExit(1) from None
    click.echo(f"rows {result['rows']}  booked {result['booked']}  invalid {result['invalid']}  "
               f"already imported {result['skipped_already_imported']}  by verdict {result['by_verdict']}  "
               f"committed {result['committed']}")
    for r in result["report"]:
        if r["errors"]:
            click.echo(f"  row {r['row']}: " + _errors(r["errors"]))
    if report_path:
        _write_report(result["report"], report_path)
    if not result["committed"]:
        raise SystemExit(1)


def _errors(errors: dict | None) -> str:
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in (errors or {}).items())


def _write_report(report: list[dict], path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "expense_id", "verdict", "status", "rule_ids", "errors"])
        for r in report:
            w.writerow([r["row"], r["expense_id"] or "", r["verdict"] or "", r["status"] or "",
                        " ".join(r["rule_ids"]), _errors(r["errors"])])


COMMANDS = (import_expenses,)
