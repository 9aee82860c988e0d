"""The smoke test plus Textual: run a small app headless inside the emulated machine and
send back its SVG screenshot, to show the base image carries what Textual needs.

    python tools/arm64vm/run.py --script tools/arm64vm/textual_smoke.py \
        --include tools/arm64vm/smoke.py --out /tmp/x
"""

from __future__ import annotations

import asyncio
import json
import time

import guest_io
from smoke import facts_ok, kvm_facts

t0 = time.monotonic()
from textual import __version__ as textual_version  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable, Footer, Header, Static  # noqa: E402

IMPORT_S = time.monotonic() - t0


class Smoke(App[None]):
    TITLE = "arm64vm smoke"

    def __init__(self, facts: dict[str, object]) -> None:
        super().__init__()
        self.facts = facts

    def compose(self) -> ComposeResult:
        yield Header()
        api, ipa = self.facts["api_version"], self.facts["ipa_size"]
        yield Static(f"/dev/kvm: API {api}, IPA {ipa} bits")
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("fact", "value")
        table.add_rows((k, str(v)) for k, v in self.facts.items())


async def screenshot(facts: dict[str, object]) -> str:
    app = Smoke(facts)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        return app.export_screenshot()


def main() -> int:
    facts = kvm_facts()
    t1 = time.monotonic()
    svg = asyncio.run(screenshot(facts))
    facts |= {
        "textual": textual_version,
        "textual_import_s": round(IMPORT_S, 2),
        "textual_run_s": round(time.monotonic() - t1, 2),
    }
    print(f"textual {textual_version}: imported in {IMPORT_S:.2f} s, screenshot {len(svg)} chars")
    guest_io.send_file("smoke.svg", svg.encode())
    guest_io.send_file("smoke.json", json.dumps(facts, indent=1).encode())
    return 0 if facts_ok(facts) and svg.startswith("<svg") else 1


if __name__ == "__main__":
    guest_io.result(main())
