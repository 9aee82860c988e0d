"""Every use realmtui makes of Textual's private names, in one place.

Textual (pinned to `>=8.2,<9` in pyproject.toml) may rename or change any of these in a
minor release. `check()` verifies each assumption, and tests/test_textual_private.py calls
it, so an upgrade that breaks one fails loudly there, naming it, rather than quietly (a footer
key that no longer dims, a grid that repaints its scrollbar at every step again).

What is used, and why:
- `textual.widgets._footer.FooterKey` and its `_disabled` flag: the footer dims or lights a
  key in place instead of rebuilding every key (about 35 ms a rebuild; widgets/key_footer.py).
- `Footer._bindings_ready`: what Footer.bindings_changed sets before it composes; KeyFooter
  replaces that method and must set it too.
- `ScrollView._size_updated(size, virtual_size, container_size, layout)`: the grid skips
  layouts that did not change it (widgets/register_grid.py, README "Benchmarks").
"""

from __future__ import annotations

import inspect

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["FooterKey", "SteadyScrollView", "check", "mark_bindings_ready",
           "set_footer_key_enabled"]


def set_footer_key_enabled(key: FooterKey, enabled: bool) -> bool:
    """Dim or light a footer key in place; False when it already was."""
    if key._disabled != enabled:
        return False
    key._disabled = not enabled  # what FooterKey reads on a click
    key.set_class(not enabled, "-disabled")
    return True


def mark_bindings_ready(footer: Footer) -> None:
    footer._bindings_ready = True


class SteadyScrollView(ScrollView):
    """A ScrollView that passes a layout on only when its own sizes changed.

    Textual's ScrollView compares the virtual size the compositor hands it (the viewport's)
    with its own (the content's), so at every layout anywhere on the screen it takes itself
    for resized and redraws its scrollbar: some 6 ms a step on a wide terminal, where the
    side panels change at each exit."""

    _sizes_seen: tuple[Size, Size, Size] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True,
    ) -> bool:
        seen = (size, container_size, self.virtual_size)
        if seen == self._sizes_seen:
            return False
        self._sizes_seen = seen
        return super()._size_updated(size, virtual_size, container_size, layout)


def check() -> list[str]:
    """What no longer holds in the installed Textual (empty when all is well)."""
    problems = []
    params = list(inspect.signature(ScrollView._size_updated).parameters)
    if params != ["self", "size", "virtual_size", "container_size", "layout"]:
        problems.append(f"ScrollView._size_updated takes {params}")
    if "_disabled" not in inspect.getsource(FooterKey.__init__):
        problems.append("FooterKey.__init__ no longer sets _disabled")
    if "self._disabled" not in inspect.getsource(FooterKey):
        problems.append("FooterKey no longer reads _disabled")
    if "_bindings_ready" not in getattr(Footer, "_reactives", {}):
        problems.append("Footer has no _bindings_ready reactive")
    if "_bindings_ready = True" not in inspect.getsource(Footer.bindings_changed):
        problems.append("Footer.bindings_changed no longer sets _bindings_ready")
    if "data_bind(compact=Footer.compact)" not in inspect.getsource(Footer.compose):
        problems.append("Footer.compose no longer binds its keys to compact "
                        "(KeyFooter prunes those bindings after a rebuild)")
    return problems
