"""No Textual below the app: the domain and the backends run in a bare Python (they run in a
bare arm64 Python under QEMU), and the sim never reads the rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BARE_MODULES = [
    "backends.abi", "backends.vmm", "backends.machine", "backends.linux", "backends.sim",
    "backends.sim.confidential_peek", "realmtui.regs", "realmtui.rules", "realmtui.decode",
    "realmtui.values", "realmtui.session", "realmtui.batch", "realmtui.cli", "realmtui.backend",
    "realmtui.view", "realmtui.exit_explain", "realmtui.model", "realmtui.profiles",
    "backends.series", "backends.detect",
]


def test_domain_and_backends_import_without_textual() -> None:
    code = (
        "import sys, importlib\n"
        f"for m in {BARE_MODULES!r}: importlib.import_module(m)\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "bad = sorted(top & {'textual', 'rich', 'widgets'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == "", f"pulled in: {out.stdout.strip()}"


def test_batch_runs_with_textual_unimportable(tmp_path: Path) -> None:
    # A stub that makes `import textual` fail, as in the bare arm64 guest.
    (tmp_path / "textual").mkdir()
    (tmp_path / "textual" / "__init__.py").write_text("raise ImportError('no textual here')\n")
    env = {"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "realmtui", "batch"], input="state\n",
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert '"ok": true' in out.stdout
