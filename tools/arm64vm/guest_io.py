"""Guest side of the console framing: how a script inside the emulated machine sends back
files and its verdict. run.py copies this file to /rtui/guest_io.py; `import guest_io`.

Everything travels on stdout (the serial console), one whole line per write, in frames that
run.py parses (README.md, "Console framing"):

    ==RTUI-FILE <name> <nbytes> <sha256> <encoding>==   encoding: b64 or zlib+b64
    <base64, 76 characters a line>
    ==RTUI-END <name>==
    ==RTUI-RESULT <rc>==

Stdlib only, so any script can use it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_LINE = 76


def send_file(name: str, data: bytes, compress: bool = True) -> None:
    """Send `data` to the host, where run.py writes it as OUT_DIR/name."""
    if not _NAME.fullmatch(name) or name == "console.log":
        raise ValueError(f"bad file name {name!r}: a plain base name, not console.log")
    payload, encoding = data, "b64"
    if compress:
        import zlib  # builtin in Debian's python3.11

        payload, encoding = zlib.compress(data, 9), "zlib+b64"
    text = base64.b64encode(payload).decode("ascii")
    out = sys.stdout
    out.flush()  # what the script printed before comes before the frame
    out.write(f"==RTUI-FILE {name} {len(data)} {hashlib.sha256(data).hexdigest()} {encoding}==\n")
    for i in range(0, len(text), _LINE):
        out.write(text[i : i + _LINE] + "\n")
    out.write(f"==RTUI-END {name}==\n")
    out.flush()


def result(rc: int) -> None:
    """Declare the script's verdict (0 = pass) and exit with it."""
    sys.stdout.write(f"==RTUI-RESULT {int(rc)}==\n")
    sys.stdout.flush()
    raise SystemExit(int(rc))
