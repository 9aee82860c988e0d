"""Textual's private names realmtui relies on (widgets/textual_private.py) still mean what
they meant: this fails, naming the one that changed, when a Textual upgrade breaks one."""

from __future__ import annotations

import ast
from pathlib import Path

from widgets import textual_private

REPO = Path(__file__).resolve().parent.parent


def test_every_private_textual_assumption_still_holds() -> None:
    assert textual_private.check() == []


def test_no_other_module_reaches_into_textual_privates() -> None:
    # One module holds them all, so an upgrade has one place to look.
    offenders = []
    for path in [*REPO.glob("realmtui/*.py"), *REPO.glob("widgets/*.py")]:
        if path.name == "textual_private.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    "textual") and any(p.startswith("_") for p in node.module.split(".")):
                offenders.append(f"{path.name}: from {node.module}")
            if isinstance(node, ast.FunctionDef) and node.name in (
                    "_size_updated", "_on_click", "_compose"):
                offenders.append(f"{path.name}: overrides {node.name}")
    assert offenders == []


def test_the_footer_dims_a_key_in_place() -> None:
    key = textual_private.FooterKey("e", "e", "Edit", "edit")
    assert textual_private.set_footer_key_enabled(key, False)
    assert key.has_class("-disabled")
    assert not textual_private.set_footer_key_enabled(key, False)  # already dimmed
    assert textual_private.set_footer_key_enabled(key, True)
    assert not key.has_class("-disabled")
