"""ledger: one hash chain per institution, checkpoints with per-chain heads and a Merkle root,
TRUNCATE refused, checkpoints append-only

Re-chains the existing ledger deterministically: entries are read in ``seq`` order (the old single
chain's order), each institution's entries are numbered 1, 2, 3 … (``chain_seq``) and hashed onto
that institution's chain, with ``chain_seq`` added to the hashed content. The old chain is verified
first (and every old checkpoint against it): a broken ledger is refused, not laundered into fresh
hashes. Existing checkpoints get the per-chain heads that correspond to their old head seq. The
append-only triggers are lifted for the re-chain and restored (and extended) afterwards, in the same
transaction on PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:45:00

"""
import hashlib
from decimal import Decimal
from json.encoder import encode_basestring

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
LEDGER_TABLES = ("ledger_entries", "ledger_checkpoints", "ledger_checkpoint_heads")
BATCH = 10_000

entries = sa.table("ledger_entries", *[sa.column(c, t) for c, t in (
    ("seq", sa.Integer), ("chain_seq", sa.Integer), ("entry_type", sa.String), ("entry_date", sa.Date),
    ("grant_id", sa.Integer), ("institution_id", sa.Integer), ("category", sa.String), ("subject", sa.String),
    ("amount", sa.Numeric(18, 2)), ("ref_type", sa.String), ("ref_id", sa.Integer), ("reverses_seq", sa.Integer),
    ("memo", sa.Text), ("content", sa.Text), ("prev_hash", sa.String), ("hash", sa.String))])


def _js(v):
    return "null" if v is None else encode_basestring(v)


def _content(r, chain_seq=None):
    """The canonical content, frozen here: without ``chain_seq`` (revision 0001) or with it (0004)."""
    rev = "null" if r.reverses_seq is None else str(int(r.reverses_seq))
    head = f'{{"amount":"{Decimal(r.amount):.2f}","category":{_js(r.category)},'
    cs = "" if chain_seq is None else f'"chain_seq":{chain_seq},'
    return (head + cs + f'"entry_date":"{r.entry_date.isoformat()}","entry_type":{_js(r.entry_type)},'
            f'"grant_id":{r.grant_id},"institution_id":{r.institution_id},"memo":{_js(r.memo)},"ref_id":{r.ref_id},'
            f'"ref_type":{_js(r.ref_type)},"reverses_seq":{rev},"seq":{r.seq},"subject":{_js(r.subject)}}}')


def _hash(prev, content):
    return hashlib.sha256((prev + "\n" + content).encode("utf-8")).hexdigest()


def _merkle_root(heads):
    level = [hashlib.sha256(f"leaf\n{i}:{cs}:{h}".encode()).hexdigest() for i, cs, h in sorted(heads)]
    if not level:
        return GENESIS
    while len(level) > 1:
        nxt = [hashlib.sha256(f"node\n{level[k]}{level[k + 1]}".encode()).hexdigest()
               for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _rows(conn):
    """The ledger in seq order, in batches (keyset), typed."""
    last = 0
    while True:
        rows = conn.execute(sa.select(entries).where(entries.c.seq > last).order_by(entries.c.seq).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].seq


# --------------------------------------------------------------------------- triggers
def _drop_guards(conn, tables):
    for t in tables:
        if conn.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_delete")


def _create_guards(conn, tables, truncate=True):
    """UPDATE and DELETE refused row by row; on PostgreSQL TRUNCATE refused too (SQLite has no TRUNCATE:
    its ``DELETE FROM t`` without WHERE is still a DELETE, and refused)."""
    for t in tables:
        if conn.dialect.name == "postgresql":
            op.execute(f"""CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
                           FOR EACH ROW EXECUTE FUNCTION ledger_append_only()""")
            if truncate:
                op.execute(f"""CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
                               FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()""")
        else:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"""CREATE TRIGGER {t}_no_{verb.lower()} BEFORE {verb} ON {t}
                               BEGIN SELECT RAISE(ABORT, '{t} is append-only: {verb} refused'); END""")


def _guard_function(table_name_in_message):
    op.execute(f"""
        CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', {table_name_in_message}, TG_OP;
        END $$ LANGUAGE plpgsql""")


# --------------------------------------------------------------------------- upgrade
def upgrade():
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    _drop_guards(conn, ["ledger_entries"])
    op.add_column("ledger_entries", sa.Column("chain_seq", sa.Integer(), nullable=True))
    with op.batch_alter_table("ledger_checkpoints") as b:
        b.add_column(sa.Column("chains", sa.Integer(), nullable=True))
        b.add_column(sa.Column("merkle_root", sa.String(length=64), nullable=True))
    old_cps = conn.execute(sa.text("SELECT id, seq, hash FROM ledger_checkpoints ORDER BY seq, id")).all()
    heads_of_cp = _rechain(conn, old_cps)

    with op.batch_alter_table("ledger_entries") as b:
        b.alter_column("chain_seq", existing_type=sa.Integer(), nullable=False)
        b.create_unique_constraint(op.f("uq_ledger_entries_institution_id_chain_seq"), ["institution_id", "chain_seq"])
    for cp_id, tips in heads_of_cp.items():
        conn.execute(sa.text("UPDATE ledger_checkpoints SET chains = :n, merkle_root = :r WHERE id = :id"),
                     {"n": len(tips), "r": _merkle_root((i, cs, h) for i, (cs, _, h) in tips.items()), "id": cp_id})
    with op.batch_alter_table("ledger_checkpoints") as b:
        b.alter_column("chains", existing_type=sa.Integer(), nullable=False)
        b.alter_column("merkle_root", existing_type=sa.String(length=64), nullable=False)
        b.drop_column("hash")

    op.create_table(
        "ledger_checkpoint_heads",
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["ledger_checkpoints.id"],
                                name=op.f("fk_ledger_checkpoint_heads_checkpoint_id_ledger_checkpoints")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_ledger_checkpoint_heads_institution_id_institutions")),
        sa.PrimaryKeyConstraint("checkpoint_id", "institution_id", name=op.f("pk_ledger_checkpoint_heads")))
    cp_heads = sa.table("ledger_checkpoint_heads", sa.column("checkpoint_id"), sa.column("institution_id"),
                        sa.column("chain_seq"), sa.column("seq"), sa.column("hash"))
    rows = [{"checkpoint_id": cp_id, "institution_id": i, "chain_seq": cs, "seq": s, "hash": h}
            for cp_id, tips in heads_of_cp.items() for i, (cs, s, h) in sorted(tips.items())]
    if rows:
        conn.execute(cp_heads.insert(), rows)

    if pg:
        top = conn.execute(sa.text("SELECT coalesce(max(seq), 0) FROM ledger_entries")).scalar_one()
        op.execute("CREATE SEQUENCE ledger_entries_seq OWNED BY ledger_entries.seq")
        if top:
            conn.execute(sa.text("SELECT setval('ledger_entries_seq', :v)"), {"v": top})
        _guard_function("TG_TABLE_NAME")
    _create_guards(conn, LEDGER_TABLES)


def _rechain(conn, old_cps):
    """Verify the old single chain, then re-hash every entry onto its institution's chain.

    Returns each old checkpoint's per-chain heads ``{checkpoint_id: {institution: (chain_seq, seq, hash)}}``.
    """
    tips: dict[int, tuple[int, int, str]] = {}
    old_head, expected, pending = GENESIS, 1, [cp for cp in old_cps if cp.seq > 0]
    result: dict[int, dict] = {cp.id: {} for cp in old_cps}
    old_hash_at: dict[int, str] = {}
    wanted = {cp.seq for cp in old_cps}
    for rows in _rows(conn):
        updates = []
        for r in rows:
            content = _content(r)
            if r.seq != expected or r.content != content or r.prev_hash != old_head or _hash(old_head, content) != r.hash:
                raise RuntimeError(f"ledger broken at seq {expected} before migration 0004: run `grants verify-ledger` "
                                   "on revision 0003 and investigate; the migration will not re-hash a broken ledger")
            old_head, expected = r.hash, expected + 1
            if r.seq in wanted:
                old_hash_at[r.seq] = r.hash
            cs, _, prev = tips.get(r.institution_id, (0, 0, GENESIS))
            new_content = _content(r, cs + 1)
            h = _hash(prev, new_content)
            tips[r.institution_id] = (cs + 1, r.seq, h)
            updates.append({"k": r.seq, "cs": cs + 1, "c": new_content, "p": prev, "h": h})
            while pending and pending[0].seq == r.seq:
                result[pending.pop(0).id] = dict(tips)
        conn.execute(sa.text("UPDATE ledger_entries SET chain_seq = :cs, content = :c, prev_hash = :p, hash = :h "
                             "WHERE seq = :k"), updates)
    for cp in old_cps:
        if cp.seq > 0 and old_hash_at.get(cp.seq) != cp.hash:
            raise RuntimeError(f"checkpoint {cp.id} (seq {cp.seq}) does not match the ledger before migration 0004: "
                               "the ledger was truncated or rewritten; investigate before migrating")
    return result


# --------------------------------------------------------------------------- downgrade
def downgrade():
    """Back to one chain in seq order (the global seqs must be gap-free, as on SQLite)."""
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    _drop_guards(conn, LEDGER_TABLES)
    hash_at, head, expected = {}, GENESIS, 1
    cp_seqs = {s for (s,) in conn.execute(sa.text("SELECT seq FROM ledger_checkpoints"))}
    for rows in _rows(conn):
        updates = []
        for r in rows:
            if r.seq != expected:
                raise RuntimeError(f"global seq has a gap at {expected}: revision 0003's single chain cannot hold it")
            content = _content(r)
            prev, head, expected = head, _hash(head, content), expected + 1
            updates.append({"k": r.seq, "c": content, "p": prev, "h": head})
            if r.seq in cp_seqs:
                hash_at[r.seq] = head
        conn.execute(sa.text("UPDATE ledger_entries SET content = :c, prev_hash = :p, hash = :h WHERE seq = :k"),
                     updates)
    op.drop_table("ledger_checkpoint_heads")
    with op.batch_alter_table("ledger_checkpoints") as b:
        b.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    for (s,) in conn.execute(sa.text("SELECT DISTINCT seq FROM ledger_checkpoints")).all():
        conn.execute(sa.text("UPDATE ledger_checkpoints SET hash = :h WHERE seq = :s"), {"h": hash_at.get(s, GENESIS),
                                                                                          "s": s})
    with op.batch_alter_table("ledger_checkpoints") as b:
        b.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        b.drop_column("merkle_root")
        b.drop_column("chains")
    with op.batch_alter_table("ledger_entries") as b:
        b.drop_constraint(op.f("uq_ledger_entries_institution_id_chain_seq"), type_="unique")
        b.drop_column("chain_seq")
    if pg:
        op.execute("DROP SEQUENCE IF EXISTS ledger_entries_seq")
        _guard_function("'ledger_entries'")
    _create_guards(conn, ["ledger_entries"], truncate=False)
