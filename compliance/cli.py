"""Console commands of the compliance package, attached to the ``grants`` group by ``grants.cli``."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from compliance.service import sync_policies as _sync


@click.command("sync-policies")
@with_appcontext
def sync_policies():
    """Load new policy versions from compliance/policies into the database."""
    for v in _sync():
        click.echo(f"loaded {v.policy_set} {v.version} ({v.status}, from {v.effective_from}) {v.content_hash[:12]}")


@click.command("policy-corpus")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
def policy_corpus(path):
    """Judge the labelled negative-list corpus; print precision and recall per rule (exit 1 unless all as labelled)."""
    from compliance import corpus

    raise SystemExit(corpus.main([path] if path else []))


COMMANDS = (sync_policies, policy_corpus)
