"""`python -m realmtui`, and the `realmtui` command.

The CLI is imported inside the try: a Ctrl-C while Python is still loading it ends with
status 130, not a KeyboardInterrupt traceback.
"""

import sys


def run() -> int:
    try:
        from realmtui import interrupts

        interrupts.watch()  # a Ctrl-C swallowed while modules load still ends the program
        from realmtui.cli import main

        return main()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(run())
