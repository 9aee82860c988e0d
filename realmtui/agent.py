"""`realmtui agent`: the VMM of one demo VM, driven over stdin/stdout (realmtui/agent_protocol.py).

It runs where the ioctls must run (an FVP's Linux, an arm64 board) and needs only Python and
cffi there. It opens no network port: whatever started it (ssh, docker exec, a QEMU character
device) carries its stdin and stdout.
"""

from __future__ import annotations

import errno
import platform
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from backends import ioctl_log
from backends.errors import KvmError
from realmtui import agent_protocol as proto
from realmtui.backend import Backend, BackendUnavailable, Machine, check_kvm_host, open_backend
from realmtui.context import Profile

STEPS = ("create_realm", "finalize_rec", "activate")


class ProtocolError(Exception):
    """A request the agent cannot parse or does not know."""


class Agent:
    def __init__(self, backend: str = "kvm", profile: Profile | None = None) -> None:
        self.backend = backend
        self.profile = profile  # what this host runs when the client names nothing
        self.opened: Backend | None = None
        self.machine: Machine | None = None
        self.ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "hello": self.hello, "open": self.open, "close": self.close,
            "reg_list": self.reg_list, "get": self.get, "set": self.set,
            "snapshot": self.snapshot, "run": self.run, "mmio_data": self.mmio_data,
            "mp_state": self.mp_state, "step": self.step, "read_shared": self.read_shared,
            "ioctl_log": self.ioctl_log,
        }
        self.log: ioctl_log.IoctlLog | None = None

    # --- one request -------------------------------------------------------------------------
    def answer(self, line: bytes) -> dict[str, Any]:
        rid = None
        try:
            request = proto.decode(line)
            rid = request.get("id")
            op = self.ops.get(str(request.get("op")))
            if op is None:
                raise ProtocolError(f"unknown op {request.get('op')!r}")
            return {"id": rid, "ok": True} | op(request)
        except KvmError as e:
            return {"id": rid, "ok": False, "error": proto.error_to_json(e)} | self._state()
        except BackendUnavailable as e:
            return {"id": rid, "ok": False, "error": {"unavailable": str(e)}}
        except ValueError as e:
            if rid is not None:  # the request parsed: a value that does not fit
                return {"id": rid, "ok": False, "error": {"value": str(e)}}
            return {"id": rid, "ok": False, "error": {"protocol": f"not a JSON request: {e}"}}
        except (ProtocolError, KeyError, TypeError) as e:
            return {"id": rid, "ok": False, "error": {"protocol": f"{type(e).__name__}: {e}"}}

    def _state(self) -> dict[str, Any]:
        m = self.machine
        if m is None:
            return {}
        return {"state": {"realm_created": m.realm_created, "rec_created": m.rec_created,
                          "active": m.active}}

    # --- ops ---------------------------------------------------------------------------------
    def hello(self, req: dict[str, Any]) -> dict[str, Any]:
        """Who answers, and the backend opened here as the client asks: its profile named,
        or (none named, kvm) the series found on this host -- the client's header, keys and
        rules follow what this host runs."""
        out: dict[str, Any] = {
            "protocol": proto.PROTOCOL_VERSION, "backend": self.backend,
            "machine": platform.machine(), "host": platform.node(),
            "python": platform.python_version(),
        }
        if self.backend == "kvm":
            try:
                check_kvm_host()
                out["kvm"] = True
            except BackendUnavailable as e:
                return out | {"kvm": False, "kvm_detail": str(e)}
        named = req.get("profile")
        self.close({})
        try:
            self.opened = open_backend(self.backend, Profile(named) if named else self.profile)
        except BackendUnavailable as e:
            return out | {"unavailable": str(e)}
        # Every ioctl made here, for the client's ioctl log (fetched when it is looked at).
        self.log = ioctl_log.attach(self.opened.kernel)
        return out | {"profile": self.opened.profile.value, "found": self.opened.found}

    def open(self, req: dict[str, Any]) -> dict[str, Any]:
        self.close({})
        if self.opened is None:
            raise ProtocolError("open before hello: hello opens the backend")
        self.machine = self.opened.build_machine(proto.spec_from_json(req["spec"]))
        try:
            self.machine.build()
        except KvmError:
            self.machine = None
            raise
        return {}

    def close(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.machine is not None:
            self.machine.close()
            self.machine = None
        return {}

    def _vcpu(self) -> Any:
        if self.machine is None or self.machine.vcpu is None:
            raise KvmError(errno.EBADF, "agent", detail="no VM is open")
        return self.machine.vcpu

    def reg_list(self, req: dict[str, Any]) -> dict[str, Any]:
        return {"regs": self._vcpu().reg_list()}

    def get(self, req: dict[str, Any]) -> dict[str, Any]:
        return {"value": self._vcpu().get_reg(int(req["reg"]))}

    def set(self, req: dict[str, Any]) -> dict[str, Any]:
        self._vcpu().set_reg(int(req["reg"]), int(req["value"]))
        return {}

    def snapshot(self, req: dict[str, Any]) -> dict[str, Any]:
        """Many reads, one round trip: each a value, or the error of its KVM_GET_ONE_REG."""
        out: list[Any] = []
        for value, err in self._vcpu().get_regs([int(r) for r in req["regs"]]):
            out.append(value if err is None else {"error": proto.error_to_json(err)})
        return {"values": out}

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        """KVM_RUN; with "snapshot", the register list and every register read right after
        the exit, in the same answer: a step of the UI is one round trip."""
        vcpu = self._vcpu()
        try:
            kexit = vcpu.run()
        except KvmError as e:
            if e.errno == errno.EINTR:  # interrupted after entering: the realm is active
                self._first_run_done()
            raise
        self._first_run_done()
        out: dict[str, Any] = {"exit": proto.exit_to_json(kexit)}
        if req.get("snapshot"):
            try:
                ids = vcpu.reg_list()
            except KvmError as e:
                return out | {"list_error": proto.error_to_json(e)}
            out |= {"regs": ids} | self.snapshot({"regs": ids})
        return out

    def read_shared(self, req: dict[str, Any]) -> dict[str, Any]:
        """The guest's RAM as this VMM maps it (the code at pc, for a normal VM)."""
        if self.machine is None:
            raise KvmError(errno.EBADF, "agent", detail="no VM is open")
        data = self.machine.read_shared(int(req["ipa"]), int(req["size"]))
        return {"data": data.hex() if data is not None else None}

    def ioctl_log(self, req: dict[str, Any]) -> dict[str, Any]:
        """The ioctls made on this host after sequence number `after`."""
        after = int(req.get("after", 0))
        records = [r._asdict() for r in (self.log or ()) if r.seq > after]
        return {"records": records}

    def _first_run_done(self) -> None:
        """v12 on: the first KVM_RUN into the realm activated it and created the REC."""
        if self.machine is not None:
            self.machine.first_run_done()

    def mmio_data(self, req: dict[str, Any]) -> dict[str, Any]:
        self._vcpu().set_mmio_data(int(req["value"]))
        return {}

    def mp_state(self, req: dict[str, Any]) -> dict[str, Any]:
        self._vcpu().set_mp_state(int(req["state"]))
        return {}

    def step(self, req: dict[str, Any]) -> dict[str, Any]:
        name = str(req["step"])
        if name not in STEPS or self.machine is None:
            raise ProtocolError(f"no step {name!r} (steps: {', '.join(STEPS)}) or no VM open")
        getattr(self.machine, name)()
        return self._state()

    def shutdown(self) -> None:
        self.close({})


def serve(stdin: BinaryIO, stdout: BinaryIO, backend: str = "kvm",
          profile: Profile | None = None) -> int:
    """Answer requests until stdin closes; the VM goes with the connection."""
    agent = Agent(backend, profile)
    try:
        for line in stdin:
            if not line.strip():
                continue
            stdout.write(proto.encode(agent.answer(line)))
            stdout.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        agent.shutdown()
    return 0


def main(backend: str = "kvm", profile: Profile | None = None) -> int:
    # Nothing else may write to stdout: it is the protocol's channel.
    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    return serve(sys.stdin.buffer, out, backend, profile)
