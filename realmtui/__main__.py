"""`python -m realmtui`."""

import sys

from realmtui.cli import main

sys.exit(main())
