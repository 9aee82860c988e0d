"""What the RMI host does for each realm: the realm's parameters in RMI encoding, its image, and
the VMM's writes between exits -- and the blob that carries it into the bare-metal host.

The blob's layout is tools/rmmhost/scenario.h; the sim driver (sim_host.py) reads the same
dataclasses, so both RMMs run exactly one scenario.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from backends import guests

SCENARIO_MAGIC = 0x314E_4353_4D4D_5252  # "RRMMSCN1"
SCENARIO_OFFSET = 0x1_0000  # from the host's load address (SCENARIO_ADDR in scenario.h)
MAX_REALMS = 8
GRANULE = 0x1000
RMI_ABI_1_0 = 0x1_0000  # (major << 16) | minor, as RMI_VERSION takes it
RMI_ABI_2_0 = 0x2_0000
REC_CREATE_NR_GPRS = 8

# RMI_REALM_FLAGS (TF-RMM rmm-spec-v1.0-rel0 smc-rmi.h)
RMI_REALM_FLAG_SVE = 1 << 1
RMI_REALM_FLAG_PMU = 1 << 2


class OpKind(IntEnum):
    SET_REG = 1  # KVM_SET_ONE_REG of x[idx]: KVM's copy, which pre-enter may carry to the RMM
    ENTER_GPR = 2  # rec_enter.gprs[idx] after KVM's pre-enter: probes the RMM beyond KVM
    MMIO_DATA = 3  # kvm_run.mmio.data for an MMIO read
    RIPAS_REJECT = 4  # the VMM refuses the RIPAS change


@dataclass(frozen=True)
class Op:
    at_exit: int  # applies between exit `at_exit` (0-based) and the next REC_ENTER
    kind: OpKind
    idx: int = 0
    value: int = 0


@dataclass(frozen=True)
class RmiRealmParams:
    """struct rmi_realm_params as KVM's realm_create_rd fills it ([PATCH v9 07/34/38/32])."""

    s2sz: int
    num_bps: int  # ID_AA64DFR0_EL1.BRPs as is: the number of breakpoints minus one
    num_wps: int
    algorithm: int
    flags: int = 0
    sve_vl: int = 0
    pmu_num_ctrs: int = 0
    rtt_level_start: int = 1
    vmid: int = 1


@dataclass(frozen=True)
class RealmScenario:
    name: str
    params: RmiRealmParams
    program: guests.Program
    init_ripas: tuple[int, int]
    rec_gprs: tuple[int, ...]  # x0-x7 at REC_CREATE
    ops: tuple[Op, ...] = ()
    max_exits: int = 40
    rec_pc: int = field(default=-1)
    n_recs: int = 1  # RECs 1.. start not runnable at secondary_pc (KVM: vCPUs 1..)
    secondary_pc: int = 0

    @property
    def pc(self) -> int:
        return self.program.entry if self.rec_pc < 0 else self.rec_pc

    @property
    def image(self) -> bytes:
        img = self.program.image
        return img + bytes(-len(img) % GRANULE)

    def ops_at(self, exit_no: int, kind: OpKind) -> list[Op]:
        return [o for o in self.ops if o.at_exit == exit_no and o.kind is kind]


def pack(realms: list[RealmScenario], rmi_abi: int = RMI_ABI_1_0) -> bytes:
    """The blob tools/rmmhost reads at SCENARIO_ADDR, for an RMM speaking `rmi_abi`."""
    if not 0 < len(realms) <= MAX_REALMS:
        raise ValueError(f"1..{MAX_REALMS} realms, not {len(realms)}")
    q = struct.Struct("<Q")
    header_size = 8 * (3 + MAX_REALMS)
    body = bytearray()
    offsets: list[int] = []
    images: list[tuple[int, bytes]] = []  # (offset of its image_off field, image)
    for r in realms:
        offsets.append(header_size + len(body))
        p = r.params
        # struct realm_scn, in its order; image_off and ops_off are filled in below.
        words = [p.flags, p.s2sz, p.sve_vl, p.num_bps, p.num_wps, p.pmu_num_ctrs, p.algorithm,
                 p.vmid, p.rtt_level_start, r.program.load_address, 0, len(r.image),
                 *r.init_ripas, r.pc, *r.rec_gprs, r.max_exits, len(r.ops), 0, r.n_recs,
                 r.secondary_pc]
        if len(r.rec_gprs) != REC_CREATE_NR_GPRS:
            raise ValueError("REC_CREATE takes exactly 8 gprs")
        image_field, ops_field_index = 10, 15 + REC_CREATE_NR_GPRS + 2
        start = len(body)
        body += b"".join(q.pack(w & (2**64 - 1)) for w in words)
        images.append((header_size + start + 8 * image_field, r.image))
        ops_field = header_size + start + 8 * ops_field_index
        ops_at = header_size + len(body)
        for o in r.ops:
            body += struct.pack("<4Q", o.at_exit, int(o.kind), o.idx, o.value & (2**64 - 1))
        body[ops_field - header_size : ops_field - header_size + 8] = q.pack(ops_at)
    blob = bytearray(q.pack(SCENARIO_MAGIC) + q.pack(rmi_abi) + q.pack(len(realms)))
    blob += b"".join(q.pack(o) for o in offsets + [0] * (MAX_REALMS - len(offsets)))
    blob += body
    for field_at, image in images:
        blob += bytes(-len(blob) % GRANULE)  # DATA_CREATE copies whole granules
        blob[field_at : field_at + 8] = q.pack(len(blob))
        blob += image
    return bytes(blob)
