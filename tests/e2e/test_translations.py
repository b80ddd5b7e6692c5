"""The English catalogue the app loads (.mo) is the compiled form of the one we edit (.po), and covers
every string the templates and forms mark for translation."""
import gettext
import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "webui"
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def test_compiled_catalogue_matches_the_source():
    with PO.open("rb") as fh:
        source = {m.id: m.string for m in read_po(fh) if m.id}
    with MO.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    assert {k: compiled.gettext(k) for k in source} == source


def test_every_marked_string_has_an_english_translation():
    marked = set()
    for f in list((ROOT / "templates").rglob("*.html")) + list(ROOT.glob("*.py")):
        marked |= set(re.findall(r"""_l?\(['"]([^'"]+)['"]\)""", f.read_text(encoding="utf-8")))
    with PO.open("rb") as fh:
        translated = {m.id for m in read_po(fh) if m.id and m.string}
    assert marked - translated == set()
