"""`?`: the keys, and the three verdicts in plain words."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

HELP = """\
# realmtui

For each register of the vCPU: its value, and **what a write would do now**, which depends on
the realm's state and on why the vCPU last exited.

## What a write does now

- `effective` (green): KVM takes the write and the guest will see the value.
- `ignored` (amber): KVM takes the write, with no error, but the RMM will not read it before
  the guest runs again, so the guest never sees it.
- `refused` (red): `KVM_SET_ONE_REG` fails (usually `EINVAL`) and the register keeps its value.

For a normal (non-realm) VM:

- `writable` (green): KVM stores the value.
- `read-only` (grey): KVM refuses a different value (an invariant register, or an ID register
  after the first run).

Each verdict comes with its reason and its source (the patch or the TF-RMM file): the line
under the grid shows it for the highlighted register, and so does the register panel.

## Keys

- `r` run: `KVM_RUN` to the next exit. After an MMIO read it first asks for the data the
  guest reads. When the guest is off, `r` offers a restart.
- `e` or `enter` edit the highlighted register, in place. Type decimal or `0x`-hex; a negative
  number must be written as its hex bit pattern. `enter` writes, `esc` cancels.
- `/` filter by register or group name as you type (`x1`, `sp`, `EL1`, `timers`); `enter`
  keeps the filter, `esc` clears it.
- `w` only the registers a write reaches KVM for now (effective, ignored, writable).
- `d` only what changed at the last exit, or what you wrote since.
- `x` hex or decimal.
- `i` show or hide the side panels (the last exit and the register). From about 130 columns
  they sit beside the full grid; from about 97 (100x30, a 1024x768 browser) beside a compact
  grid (names and the REC column narrower, the exit panel without the VM lines the top line
  already shows); on a smaller terminal (80x24) they take the screen in place of the grid.
- `[` / `]` scroll the register panel up / down, `{` / `}` the exit panel, while they show.
  `tab` also moves the focus to a panel, whose arrow keys then scroll it.
- `c`, `f`, `a` the realm's next lifecycle step: create the realm, create the REC (finalize),
  activate (v9, v10, seed). From v12 only `c` (populate creates the realm): the first `r`
  activates it and creates the REC. The footer shows the step that applies now.
- `u` undo the last successful edit: the old value is written back through
  `KVM_SET_ONE_REG` and read back; the answer says when the kernel refuses the revert, or
  takes it while nothing reads it any more (the guest ran since).
- `ctrl+r` restart: throw the VM away and build it again.
- `ctrl+p` command palette: jump to a register, switch profile (the CCA host series: seed,
  v9, v10, v12, v13, v14) or VM (realm or normal), restart, screenshot.
- `ctrl+s` save an SVG screenshot in the current directory.
- `l` the ioctl log: every ioctl of the session, decoded; `/` filters it, `y` copies a line,
  `Y` every shown line (JSON).
- `p` the code at pc (a realm's only on the sim, labelled "sim only": no host can read it).
- `D` compare two exits, or an exit and now: the registers that differ, with both verdicts.
- `y` copy the highlighted value; `ctrl+e` export the grid as JSON and CSV.
- `?` this help. `ctrl+q` quits.

Moving: `↑`/`↓`, `pgup`/`pgdn`, `home`/`end` (or `g`/`G`) for the first and last register;
a click puts the cursor on a row, a second click edits it. On a group row, `enter` (or a
second click) folds or unfolds the group.

## Writing a refused register

The `e` key is dimmed in the footer when the highlighted register is refused or read-only.
Press it anyway: the rule that refuses it appears under the row. Press it **again** to send the
write to KVM regardless and watch the kernel refuse it; the error (`EINVAL — reason (source)`)
appears under the row and the register keeps its value. If the kernel ever answers differently
from the prediction (another kernel version), the app says so.

## Marks

- `●` (blue): the value changed at the last exit.
- `✎` (purple): you wrote this register since the last exit.
- The grid only shows values read back from KVM, never what you typed.
- **REC (sim only)**: what the realm's REC really holds. No real host can read this: it is
  the realm's confidential state. `≠` marks a register where KVM's copy is stale; `= KVM`
  where they agree; `→` a GPR while a host call waits: the column shows the guest's
  RsiHostCall.gprs[n], where KVM's xn goes at the next run; `—` before the REC exists, or for
  a register the REC does not hold (the detail panel says which).

Press `esc` or `?` to close.
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 40%; }
    HelpScreen > VerticalScroll {
        width: 100;
        max-width: 100%;
        height: 90%;
        border: round $primary;
        background: $panel;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def compose(self):  # noqa: ANN201
        # Imported here: the Markdown widget is only needed once someone asks for help, and
        # keeping it out of start-up keeps the first frame fast on a slow FVP host.
        from textual.widgets import Markdown

        from widgets.key_footer import KeyFooter

        with VerticalScroll() as box:
            box.border_title = "help"
            yield Markdown(HELP)
        yield KeyFooter(compact=True)

    def action_close(self) -> None:
        self.dismiss(None)
