"""docs/data-protection.md — the record of processing a municipality's privacy notice is made from —
cannot silently miss a table or a column: every table of the models has its section, every column is
named in it, and the retention figures it states are the settings' defaults."""

from __future__ import annotations

import re
from pathlib import Path

import idops.models  # noqa: F401  (every table registered)
from idops.config.settings import CoverageSettings, MfaSettings, PolicySettings
from idops.kit.db import Base

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-protection.md"
FIELDS = ("**Data items**", "**Purpose")


def sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    out = {}
    for part in parts:
        title, _, body = part.partition("\n")
        named = re.fullmatch(r"`([a-z_]+)`", title.strip())
        if named:
            out[named.group(1)] = body.split("\n## ", 1)[0]
    return out


def test_every_table_of_the_models_has_its_section_and_no_section_names_a_table_that_is_gone() -> None:
    assert set(sections()) == set(Base.metadata.tables)


def test_every_column_is_named_in_its_tables_section() -> None:
    found = sections()
    missing = {
        name: [c.name for c in table.columns if f"`{c.name}`" not in found[name]]
        for name, table in Base.metadata.tables.items()
    }
    assert not {k: v for k, v in missing.items() if v}, missing


def test_each_section_states_what_and_why_and_the_summary_is_finnish() -> None:
    for name, body in sections().items():
        assert all(f in body for f in FIELDS), name
        assert "**Retention**" in body or "No personal data" in body, name
    text = DOC.read_text(encoding="utf-8")
    assert text.index("## Tiivistelmä (suomeksi)") < text.index("## Tables")


def test_the_stated_retention_figures_are_the_defaults() -> None:
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    signins = max(MfaSettings().signin_retention_days, CoverageSettings().window_days + 1)
    assert f"**{signins} days**" in text and f"**{signins} päivää**" in text
    assert f"`retention_days` (oletus {PolicySettings().retention_days}" in text
    assert f"`grace_days` (default {PolicySettings().grace_days})" in text
    assert f"`mfa.mirror_stale_days` (default {MfaSettings().mirror_stale_days}" in text
