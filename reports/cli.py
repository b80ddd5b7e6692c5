"""Console commands of the reports package, attached to the ``grants`` group by ``grants.cli``.

Commands that need an actor act as the named system account (``grants.accounts.system_account``).
"""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from compliance.policy import Policy, load_policy_file
from grants.accounts import system_account
from grants.db import unit_of_work
from grants.extensions import db
from grants.errors import Invalid
from reports import app_role, exports, service
from reports.workbook import report_workbook


def _date(value):
    return date.fromisoformat(value) if value else None


def _actor():
    """The system account, created on first use in its own short unit of work."""
    with unit_of_work():
        return system_account()


@click.command("verify-ledger")
@click.option("--since-checkpoint", is_flag=True, help="recompute only from the latest checkpoint on")
@click.option("--institution-id", type=int, help="verify this institution's chain only")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@with_appcontext
def verify_ledger(since_checkpoint, institution_id, as_json):
    """Recompute every institution's hash chain; exit 1 and name the first broken entry of each broken chain."""
    r = service.verify_ledger(since_checkpoint, institution_id)
    if as_json:
        click.echo(json.dumps(r.to_dict(), ensure_ascii=False, indent=2))
    elif r.ok:
        since = f" since the {r.from_checkpoint} checkpoint" if r.from_checkpoint else ""
        click.echo(f"总账完整 / ledger intact: {r.entries_checked} entries in {r.chains} chains{since}, head seq "
                   f"{r.head_seq}, Merkle root {r.merkle_root[:16]}…, {r.checkpoints_checked} checkpoints match")
    else:
        click.echo(f"总账被篡改 / ledger BROKEN at seq {r.first_broken_seq}: {r.reason}", err=True)
        for b in r.broken:
            click.echo(f"  chain {b['institution_id']} chain_seq {b['chain_seq']} (seq {b['seq']}): {b['reason']}",
                       err=True)
        for m in r.checkpoint_mismatches:
            click.echo(f"  checkpoint {m['period']} {m['period_end']} chain {m['institution_id']} seq {m['seq']}: "
                       f"{m['reason']}", err=True)
    if not r.ok:
        sys.exit(1)


@click.command("checkpoint-ledger")
@click.option("--up-to", default=None, help="last day to checkpoint, YYYY-MM-DD (default yesterday; at most yesterday)")
@with_appcontext
def checkpoint_ledger(up_to):
    """Record every chain's head and their Merkle root at the end of every finished day and month (idempotent)."""
    try:
        added = service.record_checkpoints(_date(up_to))
    except Invalid as e:
        raise click.ClickException(e.message) from None
    for cp in added:
        click.echo(f"{cp.period:5} {cp.period_end}  seq {cp.seq}  {cp.chains} chains  root {cp.merkle_root[:16]}…")
    click.echo(f"{len(added)} checkpoints recorded")


@click.command("ledger-head")
@click.option("--json", "as_json", is_flag=True, help="print the heads as JSON instead of the signed-off text")
@click.option("--out", type=click.Path(dir_okay=False), help="also write the text to this file")
@click.option("--check", "check_file", type=click.Path(exists=True, dir_okay=False),
              help="instead: check the ledger against a head report recorded earlier; exit 1 if it no longer holds")
@with_appcontext
def ledger_head(as_json, out, check_file):
    """Every chain's head and their Merkle root now: the daily record for the auditors' mailbox."""
    if check_file:
        try:
            r = service.check_recorded_heads(Path(check_file).read_text(encoding="utf-8"))
        except Invalid as e:
            raise click.ClickException(e.message) from None
        if r["ok"]:
            click.echo(f"链头仍在 / recorded heads intact: {r['heads_checked']} chains")
            return
        for p in r["problems"]:
            click.echo(f"chain {p['institution_id']} chain_seq {p['chain_seq']} seq {p['seq']}: {p['reason']}", err=True)
        sys.exit(1)
    heads = service.chain_heads_now()
    text = json.dumps(heads, ensure_ascii=False, indent=2) if as_json else service.daily_head_report(heads)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    click.echo(text, nl=False)


@click.command("create-app-role")
@click.option("--role", required=True, help="name of the application's database role")
@click.option("--password", envvar="APP_DB_PASSWORD", help="its password (or APP_DB_PASSWORD)")
@click.option("--print-sql", is_flag=True, help="print the SQL instead of running it")
@with_appcontext
def create_app_role(role, password, print_sql):
    """Create the least-privilege PostgreSQL role for the app: only SELECT/INSERT on the ledger tables."""
    if print_sql:
        click.echo(";\n".join(app_role.app_role_sql(role, db.engine.url.database or "grants", password)) + ";")
        return
    with db.engine.begin() as conn:
        try:
            app_role.create_app_role(conn, role, password)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
    click.echo(f"role {role}: SELECT, INSERT on {', '.join(app_role.LEDGER_TABLES)}; ordinary rights elsewhere")


@click.command("export-ledger")
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), default="csv")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="file to write")
@click.option("--grant-id", type=int)
@click.option("--institution-id", type=int)
@click.option("--category", type=click.Choice(["competitive", "stable", "post_subsidy", "grant_to_equity"]))
@click.option("--date-from")
@click.option("--date-to")
@click.option("--seq-to", type=int, help="pin to this chain head (default: the head now)")
@with_appcontext
def export_ledger(fmt, out, grant_id, institution_id, category, date_from, date_to, seq_to):
    """Export ledger entries to FILE and write FILE.manifest.json beside it."""
    actor = _actor()
    s = db.session
    flt = exports.scoped_filter(s, actor, {"grant_id": grant_id, "institution_id": institution_id,
                                           "category": category, "date_from": _date(date_from),
                                           "date_to": _date(date_to), "seq_to": seq_to})
    m = exports.write_export(s, s.connection(), fmt, flt, out)
    click.echo(f"{m['row_count']} rows → {out} ({m['bytes']} bytes, sha256 {m['sha256']})")
    click.echo(f"manifest → {out}.manifest.json")


@click.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--manifest", "manifest_path", type=click.Path(exists=True, dir_okay=False),
              help="default: FILE.manifest.json")
@click.option("--against-db", is_flag=True, help="also compare with the checkpoints recorded in the database")
@with_appcontext
def verify_export(file, manifest_path, against_db):
    """Verify an exported file on its own: SHA-256, every row's hash, the chain links and checkpoints."""
    manifest = json.loads(Path(manifest_path or file + ".manifest.json").read_text(encoding="utf-8"))
    checkpoints = exports.checkpoint_heads_for_verification(db.session) if against_db else []
    r = exports.verify_export(file, manifest, checkpoints)
    if r["ok"]:
        click.echo(f"导出文件完整 / export intact: {r['rows']} rows")
        return
    for p in r["problems"]:
        click.echo(f"broken at seq {p['seq']}: {p['reason']}", err=True)
    sys.exit(1)


@click.command("replay-policy")
@click.option("--version-id", type=int, help="a landed (draft) policy version")
@click.option("--file", "policy_file", type=click.Path(exists=True, dir_okay=False),
              help="a policy file not yet landed (YAML)")
@click.option("--date-from")
@click.option("--date-to")
@click.option("--out", type=click.Path(dir_okay=False), help="write the full report as JSON or .xlsx")
@with_appcontext
def replay_policy(version_id, policy_file, date_from, date_to, out):
    """Re-judge a period's expenses under a draft policy and list the verdicts that would change."""
    if bool(version_id) == bool(policy_file):
        raise click.UsageError("give exactly one of --version-id or --file")
    policy = Policy.from_content(load_policy_file(policy_file)) if policy_file else None
    r = service.policy_replay(_actor(), version_id=version_id, policy=policy, date_from=_date(date_from),
                              date_to=_date(date_to))
    click.echo(f"{r['examined']} expenses re-judged under {r['policy']['policy_set']} {r['policy']['version']}: "
               f"{r['verdicts_changed']} verdicts change ({r['amount_with_changed_verdict']} yuan)")
    for k, n in sorted(r["transitions"].items()):
        click.echo(f"  {k}: {n}")
    for c in r["changes"][:50]:
        click.echo(f"  expense {c['expense_id']}: {c['old_verdict']} → {c['new_verdict']}  "
                   f"+{','.join(c['rules_added']) or '-'}  -{','.join(c['rules_removed']) or '-'}")
    if out:
        if out.endswith(".xlsx"):
            Path(out).write_bytes(report_workbook(r, "policy-replay"))
        else:
            Path(out).write_text(json.dumps(r, ensure_ascii=False, indent=2), encoding="utf-8")


COMMANDS = (verify_ledger, checkpoint_ledger, ledger_head, export_ledger, verify_export, create_app_role,
            replay_policy)
