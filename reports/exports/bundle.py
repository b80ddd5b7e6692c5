"""The zip bundle: the export and its manifest.json in one zip, streamed."""
from __future__ import annotations

import hashlib
import json
import zipfile
from typing import Iterator

from reports.exports.formats import export_chunks
from reports.exports.manifest import build_manifest
from reports.exports.rows import FIXED_TIME, LedgerFilter, Sink, filename


def zip_bundle_chunks(session, conn, fmt: str, flt: LedgerFilter) -> Iterator[bytes]:
    """A zip of the export and its manifest, streamed: the manifest goes last, hashed from the same bytes."""
    out: list[bytes] = []
    sink = Sink(out.append)
    name = filename(fmt, flt)
    digest, size = hashlib.sha256(), 0
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED if fmt == "csv" else zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        with zf.open(zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6]), "w", force_zip64=True) as member:
            for chunk in export_chunks(conn, fmt, flt):
                digest.update(chunk)
                size += len(chunk)
                member.write(chunk)
                if out:
                    yield b"".join(out)
                    out.clear()
        manifest = build_manifest(session, fmt, flt, (), name)
        manifest.update(sha256=digest.hexdigest(), bytes=size)
        zf.writestr(zipfile.ZipInfo("manifest.json", date_time=FIXED_TIME.timetuple()[:6]),
                    json.dumps(manifest, ensure_ascii=False, indent=2))
    yield b"".join(out)
