"""`--backend ssh://user@127.0.0.1:PORT` against a throwaway sshd (Debian's openssh-server): the
system's ssh carries the agent, with a key and a known_hosts of the test's own; the normal and
realm demos answer as locally, and a refused login is a clear message, not a prompt.

REALMTUI_SSH_TIER=required (set by .ci/run, which installs openssh-server): sshd must be
there, or the test fails instead of skipping.
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.test_agent import NORMAL_SCRIPT, _batch, _without
from tests.test_realm_demo import BATCH_SCRIPT as REALM_SCRIPT

SSHD = "/usr/sbin/sshd"


def _need_sshd() -> None:
    if os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen"):
        return
    if os.environ.get("REALMTUI_SSH_TIER") == "required":
        pytest.fail("REALMTUI_SSH_TIER=required: no sshd/ssh here (Debian: apt-get install "
                    "openssh-server openssh-client; .ci/run does)")
    pytest.skip("no sshd here (apt-get install openssh-server)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A running sshd on 127.0.0.1; yields the ssh:// URL and the env that points ssh at it."""
    _need_sshd()
    d = tmp_path_factory.mktemp("sshd")
    for key in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)],
                       check=True, timeout=30)
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nPermitRootLogin prohibit-password\n"
    )
    host_pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    (d / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {d / 'user_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {d / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
    )
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(d / "sshd.log", "w"))
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sshd did not start: {(d / 'sshd.log').read_text()}")
                time.sleep(0.1)
        env = os.environ | {
            "REALMTUI_SSH": f"ssh -F {d / 'ssh_config'}",
            # The far side runs this Python's realmtui, on the sim (this host has no arm64 KVM).
            "REALMTUI_REMOTE_AGENT": f"{shlex.quote(sys.executable)} -m realmtui agent "
                                     "--backend sim",
        }
        yield f"ssh://{getpass.getuser()}@127.0.0.1:{port}", env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_demos_over_ssh_answer_as_locally(sshd: tuple[str, dict[str, str]]) -> None:
    url, env = sshd
    for script, args in ((NORMAL_SCRIPT, ("--vm", "normal")), (REALM_SCRIPT, ())):
        local, _ = _batch(script, *args)
        remote, err = _batch(script, *args, "--backend", url, env=env)
        assert remote, err
        assert remote[0]["backend"] == f"sim via {url}"
        assert [_without(a, "real", "step") for a in remote] == [
            _without(a, "real", "step") for a in local]


def test_a_refused_login_is_a_clear_message_not_a_prompt(sshd: tuple[str, dict[str, str]]) -> None:
    url, env = sshd
    stranger = url.replace(f"{getpass.getuser()}@", "nosuchuser@")
    started = time.monotonic()
    answers, err = _batch("state\n", "--backend", stranger, env=env)
    assert answers == [] and "did not start" in err and "Permission denied" in err
    assert time.monotonic() - started < 30
