"""The footer: Textual's, recomposed only when the keys it shows have changed.

Textual's Footer rebuilds itself on every bindings signal (a focus change, a refresh of the
bindings), several times at start-up alone, and each rebuild restyles every key. On a slow
FVP host that is most of the start-up and of a step. Here the signals of one frame collapse
into one check; the footer is rebuilt only if a key or its label changed, and a key that is
only dimmed or lit again is changed in place.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

from widgets.textual_private import FooterKey, mark_bindings_ready, set_footer_key_enabled


class KeyFooter(Footer):
    # The first key one column in, as every other line of the screen starts: flush at column
    # 0 a browser's terminal clipped the left of its letter (screenshots/browser-1024x768.png).
    DEFAULT_CSS = """
    KeyFooter {
        padding-left: 1;
    }
    """

    _pending = False
    _shown: tuple[tuple[str, str, str, str, bool], ...] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        mark_bindings_ready(self)  # what Footer.bindings_changed does before composing
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return  # its screen went away (a dialog was dismissed) before the refresh
        display = self.app.get_key_display
        shown = tuple(
            (binding.key, binding.action, binding.description, display(binding), enabled)
            for _node, binding, enabled, _tooltip in self.screen.active_bindings.values()
            if binding.show
        )
        if shown == self._shown:
            return
        before, self._shown = self._shown, shown
        if before is not None and [k[:4] for k in before] == [k[:4] for k in shown]:
            # The same keys, only dimmed or lit (e on a register whose verdict flipped): set
            # that on the keys in place. A recompose rebuilds every key, some 40 ms here.
            enabled = {(key, action): on for key, action, _description, _display, on in shown}
            for footer_key in self.query(FooterKey):
                on = enabled.get((footer_key.key, footer_key.action))
                if on is not None:
                    set_footer_key_enabled(footer_key, on)
            return
        await self.recompose()
        # Each new key watches the footer's `compact` (Footer.compose data-binds it), and a
        # watcher is dropped only when that reactive is next set: without this, every
        # rebuild kept the old keys alive (64 a walk of the demo, 46 -> 106 MB over 40
        # restarts). Setting it again, to the same value, prunes the keys that are gone.
        self.mutate_reactive(Footer.compact)
