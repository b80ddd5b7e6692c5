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


COMMANDS = (sync_policies,)
