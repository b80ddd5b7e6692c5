"""Console commands of the reports package, attached to the ``grants`` group in ``register_commands``."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext

from grants.extensions import db


def _date(value):
    return date.fromisoformat(value) if value else None


@click.command("verify-ledger")
@click.option("--since-checkpoint", is_flag=True, help="recompute only from the latest checkpoint on")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@with_appcontext
def verify_ledger(since_checkpoint, as_json):
    """Recompute the ledger's hash chain; exit 1 and name the first broken entry if it is broken."""
    from reports.service import verify_ledger as _verify

    r = _verify(since_checkpoint)
    if as_json:
        click.echo(json.dumps(r.to_dict(), ensure_ascii=False, indent=2))
    elif r.ok:
        click.echo(f"总账完整 / ledger intact: {r.entries_checked} entries from seq {r.start_seq}, head {r.head_seq} "
                   f"{r.head_hash[:16]}…, {r.checkpoints_checked} checkpoints match")
    else:
        click.echo(f"总账被篡改 / ledger BROKEN at seq {r.first_broken_seq}: {r.reason}", err=True)
        for m in r.checkpoint_mismatches:
            click.echo(f"  checkpoint {m['period']} {m['period_end']} seq {m['seq']}: {m['reason']}", err=True)
    if not r.ok:
        sys.exit(1)


@click.command("checkpoint-ledger")
@click.option("--up-to", default=None, help="last day to checkpoint, YYYY-MM-DD (default yesterday)")
@with_appcontext
def checkpoint_ledger(up_to):
    """Record the chain head at the end of every finished day and month (idempotent)."""
    from reports.service import record_checkpoints

    added = record_checkpoints(_date(up_to))
    for cp in added:
        click.echo(f"{cp.period:5} {cp.period_end}  seq {cp.seq}  {cp.hash[:16]}…")
    click.echo(f"{len(added)} checkpoints recorded")


@click.command("export-ledger")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "parquet"]), default="csv")
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
    from grants.models import Role, User
    from reports import exports

    s = db.session
    admin = User(role=Role.ADMIN)  # the console is the administrator: no institution scope
    flt = exports.scoped_filter(s, admin, {"grant_id": grant_id, "institution_id": institution_id,
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
    from reports import exports

    manifest = json.loads(Path(manifest_path or file + ".manifest.json").read_text(encoding="utf-8"))
    checkpoints = []
    if against_db:
        from sqlalchemy import select

        from grants.ledger import LedgerCheckpoint

        checkpoints = [{"period": c.period, "period_end": c.period_end.isoformat(), "seq": c.seq, "hash": c.hash}
                       for c in db.session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.seq > 0))]
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
    from compliance.policy import Policy, load_policy_file
    from grants.models import Role, User
    from reports import exports
    from reports.service import policy_replay

    if bool(version_id) == bool(policy_file):
        raise click.UsageError("give exactly one of --version-id or --file")
    policy = Policy.from_content(load_policy_file(policy_file)) if policy_file else None
    r = policy_replay(User(role=Role.ADMIN), version_id=version_id, policy=policy, date_from=_date(date_from),
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
            Path(out).write_bytes(exports.report_workbook(r, "policy-replay"))
        else:
            Path(out).write_text(json.dumps(r, ensure_ascii=False, indent=2), encoding="utf-8")


COMMANDS = (verify_ledger, checkpoint_ledger, export_ledger, verify_export, replay_policy)  # scheduler: scheduler_cli
