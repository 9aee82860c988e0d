"""Issue 12 items 7, 10, 15: batch's stdout going away, options on either side of the
subcommand, and the app refusing to run without a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CMD = [sys.executable, "-m", "realmtui"]


def test_batch_into_a_closed_pipe_ends_quietly() -> None:
    r, w = os.pipe()
    os.close(r)
    proc = subprocess.run([*CMD, "batch"], input=b"state\n" * 50, stdout=w,
                          stderr=subprocess.PIPE, timeout=60)
    os.close(w)
    assert proc.returncode == 141 and proc.stderr == b""


def test_batch_onto_a_full_disk_says_so_in_one_line() -> None:
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([*CMD, "batch"], input=b"state\n", stdout=full,
                              stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.decode().count("\n") == 1 and b"No space left" in proc.stderr


def test_vm_options_before_the_subcommand_are_honoured() -> None:
    proc = subprocess.run([*CMD, "--vm", "normal", "batch"], input=b"state\n",
                          capture_output=True, timeout=60)
    assert json.loads(proc.stdout)["vm"] == "normal"
    clash = subprocess.run([*CMD, "--vm", "normal", "batch", "--vm", "realm"], input=b"",
                           capture_output=True, timeout=60)
    assert clash.returncode == 2 and b"give it once" in clash.stderr


def test_the_app_without_a_terminal_points_to_batch() -> None:
    proc = subprocess.run(CMD, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert proc.returncode == 2 and b"realmtui batch" in proc.stderr and proc.stdout == b""
