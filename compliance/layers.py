"""Institution layers (``institution_layers`` of a policy version): an institution, or a kind of institution,
tightens national figures and may never loosen them. Functions of a compiled ``Policy`` (bound as its methods),
kept apart so the policy module stays about loading and versions."""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Mapping

from compliance.policy_files import parse_title
from compliance.rules import KINDS, ParamReader, PolicyError, Rule, to_decimal
from compliance.rules.rule import EXPENSE
from compliance.vocabulary import SCOPE_KEYS

LAYER_KEYS = {"id", "title", "source", "institution_ids", "institution_kinds", "rules", "notes"}


def compile_layers(self, raw: Any, name: str) -> tuple:
    """``institution_layers``: an institution (by id) or a kind of institution tightens national figures.

    Each layer names rules and the params it changes; every number it states must be at least as strict
    as the national one (≤, or ≥ for the params a kind lists in ``larger_is_stricter``) — a looser
    figure is refused here. The rule a grant of that institution is judged by cites both layers.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PolicyError(f"{name}: institution_layers must be a list")
    layers = []
    for i, layer in enumerate(raw):
        where = f"{name}: institution_layers[{i}]"
        if not isinstance(layer, Mapping) or not isinstance(layer.get("id"), str):
            raise PolicyError(f"{where}: a layer is a mapping with an id")
        where = f"{where} ({layer['id']})"
        extra = sorted(set(layer) - LAYER_KEYS)
        if extra:
            raise PolicyError(f"{where}: unknown keys {extra} (allowed: {sorted(LAYER_KEYS)})")
        parse_title(layer.get("title"), where)
        if "source" not in layer:
            raise PolicyError(f"{where}: source is required")
        source = self._cite(layer["source"], where)
        ids, kinds = layer.get("institution_ids"), layer.get("institution_kinds")
        if ids is None and kinds is None:
            raise PolicyError(f"{where}: name institution_ids or institution_kinds")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                                      for x in ids)):
            raise PolicyError(f"{where}: institution_ids is a list of institution ids")
        if kinds is not None:
            bad = sorted(set(kinds) - SCOPE_KEYS["institution_kinds"][1]) if isinstance(kinds, list) else ["?"]
            if bad:
                raise PolicyError(f"{where}: institution_kinds has unknown values {bad}")
        overrides = layer.get("rules")
        if not isinstance(overrides, Mapping) or not overrides:
            raise PolicyError(f"{where}: rules maps rule ids to the params the layer tightens")
        for rid, ov in overrides.items():
            rule = self.rules_by_id.get(rid)
            if rule is None or rule.target != EXPENSE:
                raise PolicyError(f"{where}: {rid!r} is not an expense rule of this version")
            national = self._raw_params(rid)
            _tighter(national, ov, rid, KINDS[rule.kind].larger_is_stricter, where)
        layers.append((layer["id"], frozenset(ids or ()), frozenset(kinds or ()), source, dict(overrides)))
    return tuple(layers)

def raw_params(self, rule_id: str) -> Mapping:
    for raw in self.content["rules"]:
        if raw["id"] == rule_id:
            return raw.get("params") or {}
    raise KeyError(rule_id)

def layered(self, layer_ids: tuple[str, ...]) -> dict[str, Rule]:
    """The rules the given layers change, compiled with the stricter figure of every layer."""
    chosen = [l for l in self.layers if l[0] in layer_ids]
    out: dict[str, Rule] = {}
    for rid in dict.fromkeys(r for l in chosen for r in l[4]):
        rule = self.rules_by_id[rid]
        spec = KINDS[rule.kind]
        params = copy.deepcopy(self._raw_params(rid))
        sources = [rule.source]
        for l in chosen:
            if rid in l[4]:
                _merge_stricter(params, l[4][rid], spec.larger_is_stricter)
                sources.append(l[3])
        reader = ParamReader(rid, params, self.vocab)
        compiled = spec.compile(reader)
        reader.finish()
        out[rid] = replace(rule, params=compiled, source="; ".join(dict.fromkeys(sources)))
    return out


def _tighter(national: Any, override: Any, path: str, larger_ok: frozenset, where: str) -> None:
    """Refuse an institution's figure that is looser than the national one (or that is not a figure)."""
    if isinstance(override, Mapping):
        if not isinstance(national, Mapping):
            raise PolicyError(f"{where}: {path} is not a table in the national rule")
        for k, v in override.items():
            if k not in national:
                raise PolicyError(f"{where}: {path}.{k} is not in the national rule (a layer only tightens figures)")
            _tighter(national[k], v, f"{path}.{k}", larger_ok, where)
        return
    if isinstance(override, (list, bool)) or isinstance(national, (list, bool, Mapping)) or national is None:
        raise PolicyError(f"{where}: {path}: a layer may only change numbers")
    ov, nat = to_decimal(override, f"{where}: {path}"), to_decimal(national, f"{where}: {path}")
    key = path.rsplit(".", 1)[-1]
    looser = ov < nat if key in larger_ok else ov > nat
    if looser:
        raise PolicyError(f"{where}: {path} = {ov} is looser than the national {nat}; an institution may tighten "
                          f"a national figure, never loosen it")


def _merge_stricter(params: dict, override: Mapping, larger_ok: frozenset) -> None:
    for k, v in override.items():
        if isinstance(v, Mapping):
            _merge_stricter(params[k], v, larger_ok)
            continue
        cur = to_decimal(params[k], k)
        new = to_decimal(v, k)
        params[k] = v if ((new > cur) if k in larger_ok else (new < cur)) else params[k]
