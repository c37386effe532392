"""The seed's TypeScript in the config dir is the seed's, byte for byte, and the build's
edits to it are the listed ones, each still needed by the extracted code."""

from __future__ import annotations

import importlib.util
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

from obsgate.config import DEFAULT_CONFIG_DIR
from obsgate.services.seed_edits import BSP_DELAY_ENV, SEED_EDITS, apply_edits

REPO = Path(__file__).resolve().parents[2]
_LOADER = SourceFileLoader("extract_seed_config", str(REPO / "tools" / "extract-seed-config"))
_SPEC = importlib.util.spec_from_loader("extract_seed_config", _LOADER)
assert _SPEC is not None
TOOL = importlib.util.module_from_spec(_SPEC)
_LOADER.exec_module(TOOL)
SEED = Path(TOOL.DEFAULT_SEED)

pytestmark = pytest.mark.skipif(not SEED.is_file(), reason=f"seed document not here: {SEED}")


def seed_modules() -> dict[str, str]:
    found = TOOL.artifacts(SEED.read_text(encoding="utf-8"))
    return {rel: text for rel, text in found.items() if rel.startswith("services/")}


def test_every_service_module_is_extracted_verbatim() -> None:
    modules = seed_modules()
    assert sorted(modules) == sorted(f"services/{m}" for m in TOOL.SERVICE_MODULES)
    for rel, text in modules.items():
        on_disk = (DEFAULT_CONFIG_DIR / rel).read_text(encoding="utf-8")
        assert on_disk == text, f"{rel} differs from the seed's code block: rerun the tool"


def test_only_the_modules_the_services_run_are_extracted() -> None:
    on_disk = {
        p.relative_to(DEFAULT_CONFIG_DIR).as_posix()
        for p in (DEFAULT_CONFIG_DIR / "services").rglob("*.ts")
    }
    assert on_disk == set(seed_modules()), "a .ts file in the config dir that the seed lacks"


def test_each_listed_edit_applies_to_the_extracted_code_once() -> None:
    for edit in SEED_EDITS:
        src = DEFAULT_CONFIG_DIR / "services" / "src" / edit.file
        text = src.read_text(encoding="utf-8")
        edited, applied = apply_edits(edit.file, text)
        assert edit in applied, f"{edit.file}: the edit no longer applies ({edit.why})"
        again, twice = apply_edits(edit.file, edited)
        assert again == edited and edit not in twice


def test_no_listed_edit_changes_what_the_services_do() -> None:
    """Type-only imports emit nothing; a timing edit reads the gate's env var and falls back
    to the seed's own value, so with the variable unset the code is the seed's."""
    for edit in SEED_EDITS:
        if edit.kind == "types only":
            added = edit.new.replace(edit.old, "", 1)
            assert added.startswith("import type "), edit.describe()
            continue
        assert edit.kind == "timing only", edit.describe()
        seed_value = edit.old.split(":", 1)[1].strip().rstrip(",")
        assert f"process.env.{BSP_DELAY_ENV} ?? {seed_value})" in edit.new, edit.describe()
