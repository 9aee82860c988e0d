"""The agent's wire format: JSON lines at the VMM level (register list, get, set, run, MMIO
data, realm steps), shared by `realmtui agent` and the agent:/ssh:// client.

The cut is the typed VMM, not the ioctl: an ioctl's argument points into the caller's memory
and kvm_run is a shared mapping, so neither can cross a pipe. One request per line, one answer
per line, in order:

    -> {"id": 1, "op": "hello", "protocol": 1, "profile": null}
    <- {"id": 1, "ok": true, "protocol": 1, "backend": "kvm", "profile": "v14", "machine":
        "aarch64", ...}
    -> {"id": 2, "op": "get", "reg": 6917529027641081856}
    <- {"id": 2, "ok": false, "error": {"errno": 22, "call": "KVM_GET_ONE_REG", "reg": ...}}

Ops: hello (opens the agent's backend with the profile asked for; none: the series found on
the agent's host, backends/detect.py), open (a MachineSpec), close, reg_list, get, set,
snapshot (many gets in one round trip), run (with "snapshot": the register list and every
value after the exit), mmio_data, mp_state, step (create_realm / finalize_rec / activate),
read_shared (the guest's RAM as the VMM maps it), ioctl_log (the ioctls made since a
sequence number).
Errors: {"errno", "call", "reg", "detail"} for a refused ioctl (the kernel's errno and the
ioctl's name), {"value": msg} for a value that does not fit, {"unavailable": msg} for a host
that cannot run the backend, {"protocol": msg} for a malformed request. A hello that cannot
open the backend answers "kvm": false (no KVM there) or "unavailable" (e.g. no CCA series
found on that kernel).
Imports only the standard library and backends/ (cffi): it runs on a bare arm64 host.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from backends import exits, guests
from backends.errors import KvmError
from backends.machine import MachineSpec
from backends.series import SERIES

PROTOCOL_VERSION = 1

_EXIT_TYPES: dict[str, type[exits.Exit]] = {
    cls.__name__: cls
    for cls in (
        exits.Exit, exits.MmioExit, exits.HypercallExit, exits.SystemEventExit,
        exits.MemoryFaultExit, exits.InternalErrorExit,
    )
}


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    """One message; ValueError when the line is not a JSON object."""
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("a message is a JSON object")
    return message


def exit_to_json(kexit: exits.Exit) -> dict[str, Any]:
    fields = {k: list(v) if isinstance(v, tuple) else v
              for k, v in dataclasses.asdict(kexit).items()}
    return {"kind": type(kexit).__name__, **fields}


def exit_from_json(data: dict[str, Any]) -> exits.Exit:
    fields = dict(data)
    cls = _EXIT_TYPES.get(fields.pop("kind", "Exit"), exits.Exit)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items() if k in names}
    return cls(**kwargs)


def error_to_json(e: KvmError) -> dict[str, Any]:
    return {"errno": e.errno, "call": e.call, "reg": e.reg, "detail": e.detail}


def error_from_json(data: dict[str, Any]) -> KvmError:
    return KvmError(int(data["errno"]), str(data["call"]), data.get("reg"),
                    str(data.get("detail") or ""))


def spec_to_json(spec: MachineSpec) -> dict[str, Any]:
    """The guest travels as its bytes: the agent loads them; the listing stays with the UI."""
    out: dict[str, Any] = {
        "realm": spec.realm, "pmu": spec.pmu, "sve": spec.sve, "series": spec.series.name,
        "forward_fids": list(spec.forward_fids),
    }
    if spec.program is not None:
        p = spec.program
        out["program"] = {"name": p.name, "load_address": p.load_address, "entry": p.entry,
                          "image": p.image.hex()}
    return out


def spec_from_json(data: dict[str, Any]) -> MachineSpec:
    program = None
    if data.get("program") is not None:
        p = data["program"]
        program = guests.Program(str(p["name"]), int(p["load_address"]), int(p["entry"]),
                                 bytes.fromhex(p["image"]), (), ())
    name = str(data["series"])
    if name not in SERIES:
        raise ValueError(f"no CCA host series {name!r} here (this agent knows "
                         f"{', '.join(SERIES)}): install the same realmtui on both hosts")
    return MachineSpec(
        realm=bool(data["realm"]), pmu=bool(data.get("pmu")), sve=bool(data.get("sve")),
        series=SERIES[name], program=program,
        forward_fids=tuple(int(f) for f in data.get("forward_fids", (guests.HOSTCALL_FID,))),
    )
