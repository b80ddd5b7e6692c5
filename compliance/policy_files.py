"""Policy files: read one YAML file into JSON-safe content, and hash content the way every verdict records it.

Also the two small readers (dates, zh/en titles) that the compiler in :mod:`compliance.policy` shares.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import yaml

from compliance.rules.params import PolicyError

__all__ = ["load_policy_file", "content_hash", "normalise", "parse_date", "parse_title"]


def normalise(value: Any, where: str) -> Any:
    """YAML → JSON-safe content: dates become ISO strings; floats are refused (write "0.30")."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise PolicyError(f"{where}: keys must be strings, got {k!r}")
            out[k] = normalise(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [normalise(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float):
        raise PolicyError(f"{where}: write numbers as strings (e.g. \"0.30\"), not the float {value!r}")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise PolicyError(f"{where}: unsupported value {value!r}")


INCLUDABLE = ("vocabularies", "screening")   # top-level sections a policy file may take from a shared file


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path.name}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise PolicyError(f"{path.name}: cannot be read ({exc.strerror})") from None


def load_policy_file(path: str | Path) -> dict:
    """Read one policy file into JSON-safe content (what ``PolicyVersion.content`` stores).

    A top-level section of :data:`INCLUDABLE` may be written ``{include: shared/<file>.yaml}`` (a path below
    the policy file's directory): the shared file's content replaces it here, so the stored content and its
    hash cover it — a shared file that changes changes every including version's hash, and a landed version
    refuses that (publish a new shared file and new versions instead).
    """
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{path.name}: a policy file is a mapping at the top level")
    raw = dict(raw)
    base = path.resolve().parent
    for key in INCLUDABLE:
        section = raw.get(key)
        if isinstance(section, Mapping) and set(section) == {"include"}:
            target = (base / str(section["include"])).resolve()
            if base not in target.parents:
                raise PolicyError(f"{path.name}: {key}.include must name a file below {base.name}/")
            included = _read_yaml(target)
            if not isinstance(included, Mapping):
                raise PolicyError(f"{path.name}: {key}.include {section['include']}: not a mapping")
            raw[key] = included
    return normalise(raw, path.name)


def _json_default(o: Any) -> Any:
    if isinstance(o, date):
        return o.isoformat()
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {o!r}")


def content_hash(content: Mapping) -> str:
    """SHA-256 of the canonical JSON (sorted keys, dates as ISO strings, compact, UTF-8)."""
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def parse_date(raw: Any, where: str, required: bool = True) -> date | None:
    if raw is None:
        if required:
            raise PolicyError(f"{where} is required")
        return None
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise PolicyError(f"{where}: {raw!r} is not an ISO date (YYYY-MM-DD)") from None
    raise PolicyError(f"{where}: expected a date, got {raw!r}")


def parse_title(raw: Any, where: str) -> tuple[str, str]:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("zh"), str) or not raw.get("zh", "").strip() \
            or not isinstance(raw.get("en"), str) or not raw.get("en", "").strip():
        raise PolicyError(f"{where}: title needs both zh and en")
    if set(raw) != {"zh", "en"}:
        # e.g. an unquoted English title with commas in a YAML flow mapping splits into extra keys
        raise PolicyError(f"{where}: title has keys {sorted(set(raw) - {'zh', 'en'})} besides zh and en "
                          "(quote a text that contains commas)")
    return raw["zh"].strip(), raw["en"].strip()
