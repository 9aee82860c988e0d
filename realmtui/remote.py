"""The client of `realmtui agent`: `--backend agent:COMMAND` and `--backend ssh://[user@]host[:port]`.

A RemoteVmm stands where a Kernel stands in the session; it builds RemoteMachines, whose vCPU
has the methods of backends/vmm.Vcpu that the session calls, each one request to the agent.
Failures of the kernel come back as KvmError with the agent host's errno and ioctl; a lost or
silent agent is an AgentLost (a KvmError too, so every path that reports a refused ioctl
reports it), with what the agent's stderr said. Nothing waits forever: every read has a
deadline, and a dead child is noticed at once (end of file on its stdout).
"""

from __future__ import annotations

import collections
import errno
import os
import selectors
import shlex
import subprocess
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from backends import guests, ioctl_log
from backends.errors import KvmError
from backends.exits import Exit
from backends.machine import MachineSpec
from realmtui import agent_protocol as proto

# The agent on an FVP answers slowly (realm creation measures the image there); a connection
# through ssh takes a moment too.
TIMEOUT_ENV = "REALMTUI_AGENT_TIMEOUT"
DEFAULT_TIMEOUT = 120.0
# What ssh runs on the far side, as git's --upload-pack and rsync's --rsync-path let one say.
REMOTE_COMMAND_ENV = "REALMTUI_REMOTE_AGENT"
REMOTE_COMMAND = "realmtui agent"
# The ssh to run, as GIT_SSH_COMMAND lets one say (another config file, a jump host).
SSH_ENV = "REALMTUI_SSH"


class RemoteUnavailable(Exception):
    """The agent can't serve: no such command, no KVM there, another protocol version."""


class AgentLost(KvmError):
    """The connection to the agent dropped or went silent; the VM went with it."""

    def __init__(self, where: str, what: str, err: int = errno.ECONNRESET) -> None:
        self.where = where
        super().__init__(err, "agent", detail=what)

    def __str__(self) -> str:
        return (f"the connection to the agent ({self.where}) is lost: {self.detail} — "
                "restart to reconnect (ctrl+r in the app, `restart` in batch)")


def is_remote(backend: str) -> bool:
    return backend.startswith(("agent:", "ssh://"))


def agent_argv(backend: str) -> list[str]:
    """The command that runs the agent: agent:COMMAND split as a shell would, without a shell;
    ssh:// with the system's ssh, whose keys, config and known_hosts apply."""
    if backend.startswith("agent:"):
        try:
            argv = shlex.split(backend.removeprefix("agent:"))
        except ValueError as e:
            raise RemoteUnavailable(f"cannot split the agent command: {e}") from None
        if not argv:
            raise RemoteUnavailable("agent: needs a command, e.g. agent:'realmtui agent'")
        return argv
    url = urlsplit(backend)
    if not url.hostname or url.path not in ("", "/"):
        raise RemoteUnavailable(f"{backend!r}: expected ssh://[user@]host[:port]")
    try:
        port = url.port
    except ValueError:
        raise RemoteUnavailable(f"{backend!r}: the port is not a number") from None
    # BatchMode: no password or host-key prompt can hang the UI (the user's agent/keys only);
    # keepalives notice a dead link in some 15 s.
    try:
        ssh = shlex.split(os.environ.get(SSH_ENV, "ssh"))
    except ValueError as e:
        raise RemoteUnavailable(f"cannot split {SSH_ENV}: {e}") from None
    argv = [*ssh, "-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3"]
    if port is not None:
        argv += ["-p", str(port)]
    host = f"{url.username}@{url.hostname}" if url.username else url.hostname
    remote = os.environ.get(REMOTE_COMMAND_ENV, REMOTE_COMMAND)
    return [*argv, "--", host, *shlex.split(remote)]


class AgentConnection:
    """One agent process and its pipes; requests answered in order."""

    def __init__(self, argv: list[str], where: str, timeout: float | None = None) -> None:
        self.where = where
        self.timeout = timeout or float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._buf = b""
        self._next_id = 0
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                bufsize=0, start_new_session=True,  # a ctrl-c in the UI is not the agent's
            )
        except OSError as e:
            raise RemoteUnavailable(f"cannot start the agent ({shlex.join(argv)}): "
                                    f"{e.strerror}") from None
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        self._selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._stderr.append(raw.decode(errors="replace").rstrip())

    def stderr_tail(self) -> str:
        self._drain.join(timeout=0.5)
        return " | ".join(line for line in self._stderr if line)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def request(self, op: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        rid = self._next_id
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(proto.encode({"id": rid, "op": op} | fields))
        except (BrokenPipeError, ConnectionError, ValueError):
            raise self._lost(self._exit_text()) from None
        answer = self._read(timeout or self.timeout, op)
        if answer.get("id") != rid:
            self.close()
            raise self._lost(f"answer {answer.get('id')!r} to request {rid}", errno.EPROTO)
        return answer

    def _read(self, timeout: float, op: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                self.close()
                raise self._lost(f"no answer to {op!r} in {timeout:g} s", errno.ETIMEDOUT)
            assert self.proc.stdout is not None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise self._lost(self._exit_text())
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return proto.decode(line)
        except ValueError:
            self.close()
            raise self._lost(f"it sent something that is not the protocol: {line[:80]!r}",
                             errno.EPROTO) from None

    def _exit_text(self) -> str:
        try:
            status = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            status = None
        said = self.stderr_tail()
        text = "it closed the connection" if status is None else f"it exited with status {status}"
        return f"{text}: {said}" if said else text

    def _lost(self, what: str, err: int = errno.ECONNRESET) -> AgentLost:
        return AgentLost(self.where, what, err)

    def close(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._selector.close()


def _checked(conn: AgentConnection, op: str, **fields: Any) -> dict[str, Any]:
    """An answer, or the agent's error raised as the VMM would raise it locally."""
    answer = conn.request(op, **fields)
    if not answer.get("ok"):
        _raise(conn, op, answer.get("error") or {})
    return answer


def _raise(conn: AgentConnection, op: str, err: dict[str, Any]) -> None:
    if "errno" in err:
        raise proto.error_from_json(err)
    if "value" in err:
        raise ValueError(err["value"])
    if "unavailable" in err:
        raise KvmError(errno.ENODEV, "agent open", detail=str(err["unavailable"]))
    raise AgentLost(conn.where, f"it did not understand {op!r}: {err.get('protocol', err)}",
                    errno.EPROTO)


class RemoteVmm:
    """Where the ioctls run: an agent reached by `backend`. Stands in the session's `kernel`."""

    def __init__(self, backend: str, profile: str | None = None) -> None:
        self.backend = backend
        # None: the agent finds its host's series (backends/detect.py, there); the answer
        # names it, and a reconnection asks for that one.
        self.profile = profile
        self.found = ""
        self.argv = agent_argv(backend)
        self.where = backend if backend.startswith("ssh://") else shlex.join(self.argv)
        self.hello: dict[str, Any] = {}
        self.conn: AgentConnection | None = None
        self.log = RemoteIoctlLog(self)
        ioctl_log.adopt(self, self.log)  # the session's ioctl log: the agent host's ioctls
        self.connect()
        remote = self.hello.get("backend", "?")
        place = backend if backend.startswith("ssh://") else "agent"
        self.name = f"{remote} via {place}"  # the header: where the ioctls run

    def connect(self) -> None:
        conn = AgentConnection(self.argv, self.where)
        try:
            hello = conn.request("hello", timeout=min(conn.timeout, 30.0),
                                 protocol=proto.PROTOCOL_VERSION, profile=self.profile)
        except AgentLost as e:
            conn.close()
            raise RemoteUnavailable(f"the agent ({self.where}) did not start: {e.detail}") from None
        if hello.get("protocol") != proto.PROTOCOL_VERSION:
            conn.close()
            raise RemoteUnavailable(
                f"the agent ({self.where}) speaks protocol version {hello.get('protocol')!r}; "
                f"this realmtui speaks {proto.PROTOCOL_VERSION}: install the same realmtui "
                "version on both hosts")
        if hello.get("kvm") is False:
            conn.close()
            raise RemoteUnavailable(f"the agent ({self.where}) has no KVM to drive: "
                                    f"{hello.get('kvm_detail', '')}")
        if "unavailable" in hello or not hello.get("ok"):
            conn.close()
            why = hello.get("unavailable") or hello.get("error")
            raise RemoteUnavailable(f"the agent ({self.where}) cannot open its "
                                    f"{hello.get('backend', '')} backend: {why}")
        self.hello = hello
        self.log.reconnected()
        self.profile = str(hello.get("profile") or self.profile or "v9")
        self.found = str(hello.get("found") or "")
        self.conn = conn
        # A session thrown away (the app's switch of profile or VM) takes its agent with it:
        # its input closes, and it exits at that end of file.
        weakref.finalize(self, _hang_up, conn.proc)

    @property
    def lost(self) -> bool:
        """The agent is gone: only a restart (which reconnects) can go on."""
        return self.conn is None or not self.conn.alive

    def machine(self, spec: MachineSpec) -> RemoteMachine:
        return RemoteMachine(self, spec)

    def connection(self) -> AgentConnection:
        """The live connection; after a drop, a new one (a restart reconnects)."""
        if self.conn is not None and self.conn.alive:
            return self.conn
        self.close_connection()
        try:
            self.connect()
        except RemoteUnavailable as e:
            raise AgentLost(self.where, f"reconnecting failed: {e}") from None
        assert self.conn is not None
        return self.conn

    def close_connection(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class RemoteIoctlLog(ioctl_log.IoctlLog):
    """The agent host's ioctls, brought over when the log is looked at (not at each step: a
    step's ioctls are hundreds of ONE_REG reads). Numbered here, so a reconnection (a new
    agent, numbering from 1 again) continues the sequence."""

    def __init__(self, vmm: RemoteVmm) -> None:
        super().__init__()
        self.vmm = vmm
        self._after = 0  # the last of the agent's own sequence numbers already here

    def reconnected(self) -> None:
        self._after = 0

    def sync(self) -> None:
        conn = self.vmm.conn
        if conn is None or not conn.alive:
            return  # what was fetched stays; the rest went with the agent
        try:
            answer = _checked(conn, "ioctl_log", after=self._after)
        except (KvmError, ValueError):
            return
        for data in answer.get("records", ()):
            rec = ioctl_log.IoctlRecord(**data)
            self._after = max(self._after, rec.seq)
            self.add_record(rec._replace(seq=self.next_seq()))

    def __iter__(self) -> Iterator[ioctl_log.IoctlRecord]:
        self.sync()
        return super().__iter__()

    def __len__(self) -> int:
        self.sync()
        return super().__len__()


def _hang_up(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:
            pass


class RemoteVcpu:
    """The vCPU methods the session calls, each one round trip. A run brings back the register
    list and every register's value after the exit; the reads that follow it are answered
    from those until anything else is asked of the vCPU (one round trip per step)."""

    def __init__(self, conn: AgentConnection) -> None:
        self.conn = conn
        self.fd = -1  # no fd here: the vCPU lives on the agent's host
        self._list: list[int] | None = None
        self._values: dict[int, tuple[int | None, KvmError | None]] = {}

    def _ask(self, op: str, **fields: Any) -> dict[str, Any]:
        self._list, self._values = None, {}  # the vCPU may change: read afresh
        return _checked(self.conn, op, **fields)

    def reg_list(self) -> list[int]:
        if self._list is not None:
            return list(self._list)
        return [int(r) for r in self._ask("reg_list")["regs"]]

    def get_reg(self, reg_id: int) -> int:
        if reg_id in self._values:
            value, err = self._values[reg_id]
            if err is not None:
                raise err
            assert value is not None
            return value
        return int(self._ask("get", reg=reg_id)["value"])

    def get_regs(self, reg_ids: list[int]) -> list[tuple[int | None, KvmError | None]]:
        ids = list(reg_ids)
        if ids and all(r in self._values for r in ids):
            return [self._values[r] for r in ids]
        return _values(self._ask("snapshot", regs=ids)["values"])

    def set_reg(self, reg_id: int, value: int) -> None:
        self._ask("set", reg=reg_id, value=value)

    def run(self) -> Exit:
        answer = self._ask("run", snapshot=True)
        if "regs" in answer:
            self._list = [int(r) for r in answer["regs"]]
            self._values = dict(zip(self._list, _values(answer["values"]), strict=True))
        return proto.exit_from_json(answer["exit"])

    def set_mmio_data(self, value: int) -> None:
        self._ask("mmio_data", value=value)

    def set_mp_state(self, mp_state: int) -> None:
        self._ask("mp_state", state=mp_state)


def _values(values: list[Any]) -> list[tuple[int | None, KvmError | None]]:
    return [(None, proto.error_from_json(v["error"])) if isinstance(v, dict) else (int(v), None)
            for v in values]


class RemoteMachine:
    """DemoMachine's face (build, the realm steps, their flags, close) over the agent."""

    def __init__(self, vmm: RemoteVmm, spec: MachineSpec) -> None:
        self.vmm = vmm
        self.conn: AgentConnection | None = None
        self.spec = spec
        self.program = spec.program or (guests.REALM_DEMO if spec.realm else guests.NORMAL_DEMO)
        self.vcpu: RemoteVcpu | None = None
        self.realm_created = self.rec_created = self.active = False

    def build(self) -> None:
        self.conn = conn = self.vmm.connection()
        _checked(conn, "open", spec=proto.spec_to_json(self.spec))
        self.vcpu = RemoteVcpu(conn)

    def _step(self, name: str) -> None:
        if self.conn is None:
            raise KvmError(errno.EBADF, "machine", detail="the VM is not built")
        answer = self.conn.request("step", step=name)
        self._flags(answer.get("state"))  # a step that failed half-way says how far it got
        if not answer.get("ok"):
            _raise(self.conn, "step", answer.get("error") or {})

    def _flags(self, state: dict[str, Any] | None) -> None:
        if state:
            self.realm_created = bool(state.get("realm_created"))
            self.rec_created = bool(state.get("rec_created"))
            self.active = bool(state.get("active"))

    def create_realm(self) -> None:
        self._step("create_realm")

    def finalize_rec(self) -> None:
        self._step("finalize_rec")

    def activate(self) -> None:
        self._step("activate")

    def first_run_done(self) -> None:
        """v12 on: the first run activated the realm (the agent's VMM noted it too)."""
        if self.spec.realm and self.spec.series.implicit:
            self.rec_created = self.active = True

    def read_shared(self, ipa: int, size: int) -> bytes | None:
        if self.conn is None:
            return None
        data = _checked(self.conn, "read_shared", ipa=ipa, size=size)["data"]
        return bytes.fromhex(data) if data is not None else None

    def close(self) -> None:
        if self.vcpu is not None and self.conn is not None and self.conn.alive:
            try:
                _checked(self.conn, "close")
            except (KvmError, ValueError, RemoteUnavailable):
                pass
        self.vcpu = None
