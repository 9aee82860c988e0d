"""Register ids: every class encodes and decodes, and names work both ways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realmtui import regs
from realmtui.regs import Group, RegClass, UnknownRegister
from tests.conftest import load_reference

sysreg_fields = st.tuples(
    st.integers(0, 3), st.integers(0, 7), st.integers(0, 15), st.integers(0, 15),
    st.integers(0, 7),
)


@given(sysreg_fields)
def test_sysreg_encoding_round_trips(fields: tuple[int, int, int, int, int]) -> None:
    rid = regs.sysreg_id(*fields)
    assert regs.sysreg_fields(rid) == fields
    assert regs.describe(rid).cls is RegClass.SYSREG
    assert regs.size_of(rid) == 8
    # Whatever the name, typing it back gives the same id.
    assert regs.parse_register(regs.name_of(rid)) == rid


@given(sysreg_fields)
def test_generic_sysreg_form_parses_in_any_case(fields: tuple[int, int, int, int, int]) -> None:
    text = "S{}_{}_C{}_C{}_{}".format(*fields)
    rid = regs.sysreg_id(*fields)
    assert regs.parse_register(text) == rid
    assert regs.parse_register(text.lower()) == rid


@given(st.integers(0, 30))
def test_x_registers_round_trip(n: int) -> None:
    rid = regs.x_id(n)
    info = regs.describe(rid)
    assert (info.name, info.size, info.group) == (f"x{n}", 8, Group.GPR)
    assert regs.parse_register(f"X{n}") == rid


@given(st.integers(0, 31))
def test_v_registers_are_u128_core_registers(n: int) -> None:
    info = regs.describe(regs.v_id(n))
    assert (info.name, info.size, info.group, info.cls) == (f"v{n}", 16, Group.FPSIMD,
                                                             RegClass.CORE)
    assert regs.parse_register(f"q{n}") == info.id


@given(st.integers(0, 31), st.integers(0, 15))
def test_sve_ids_round_trip(z: int, p: int) -> None:
    assert regs.describe(regs.sve_zreg_id(z)).name == f"z{z}"
    assert regs.describe(regs.sve_zreg_id(z)).size == 256
    assert regs.describe(regs.sve_preg_id(p)).name == f"p{p}"
    assert regs.describe(regs.sve_preg_id(p)).size == 32
    assert regs.parse_register(f"Z{z}") == regs.sve_zreg_id(z)


@given(st.integers(0, 255))
def test_fw_and_demux_ids_decode(index: int) -> None:
    assert regs.describe(regs.fw_id(index)).cls is RegClass.FW
    assert regs.describe(regs.fw_bmap_id(index)).cls is RegClass.FW_FEAT_BMAP
    dm = regs.describe(regs.demux_ccsidr_id(index))
    assert dm.cls is RegClass.DEMUX and dm.size == 4 and dm.name == f"CCSIDR[{index}]"


@given(st.integers(0, (1 << 64) - 1))
def test_any_id_describes_without_raising(rid: int) -> None:
    info = regs.describe(rid)
    assert info.name and info.size >= 1


def test_core_ids_match_the_kernels() -> None:
    ref = load_reference("arm64-uapi.json")["core_registers"]
    assert regs.x_id(30) == 0x603000000010003C
    assert regs.PC == 0x6030000000100040
    assert regs.PSTATE == 0x6030000000100042
    assert regs.SPSR[4] == 0x6030000000100050
    assert regs.v_id(31) == 0x60400000001000D0
    assert (regs.FPSR, regs.FPCR) == (0x60200000001000D4, 0x60200000001000D5)
    assert ref["layout"]["sizeof(struct kvm_regs)"] == 864


def test_every_reference_register_has_a_name_and_the_right_size() -> None:
    ref = load_reference("arm64-get-reg-list.json")["lists"]
    seen = 0
    for sublist in ref.values():
        for r in sublist["regs"]:
            rid = int(r["id"], 16)
            info = regs.describe(rid)
            assert info.size == r["size_bytes"], r
            assert regs.parse_register(info.name) == rid, r
            assert regs.parse_register(info.hex_id) == rid
            seen += 1
    assert seen > 400


def test_architectural_names_and_groups() -> None:
    pmcr = regs.parse_register("pmcr_el0")
    assert pmcr == 0x603000000013DCE0 and regs.describe(pmcr).name == "PMCR_EL0"
    assert regs.parse_register("ID_AA64DFR0_EL1") == 0x603000000013C028
    assert regs.describe(regs.parse_register("sctlr_el1")).group is Group.EL1
    assert regs.describe(regs.parse_register("CNTV_CTL_EL0")).group is Group.TIMER
    assert regs.describe(regs.parse_register("PSCI_VERSION")).group is Group.FIRMWARE
    assert regs.describe(regs.SVE_VLS).group is Group.SVE
    assert regs.describe(regs.parse_register("spsr_el1")).group is Group.EL1
    # The ABI's swapped timer encodings keep the names of what they mean.
    assert regs.parse_register("CNTV_CVAL_EL0") == 0x603000000013DF02
    assert regs.parse_register("CNTVCT_EL0") == 0x603000000013DF1A


@pytest.mark.parametrize("text", ["", "x31", "foo", "0xzz", "0x1234", "S4_0_C0_C0_0", "-1"])
def test_unknown_registers_are_refused_with_what_was_expected(text: str) -> None:
    with pytest.raises(UnknownRegister) as e:
        regs.parse_register(text)
    assert "expected" in str(e.value) or "ONE_REG" in str(e.value) or "give a name" in str(e.value)
