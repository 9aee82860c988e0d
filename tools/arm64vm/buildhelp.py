"""The Python half of build.sh: wheel versions, the cache key, pruning, wheel unpacking.

Stdlib only; build.sh runs it with the host's Debian /usr/bin/python3.11, except
`versions`, which runs in whichever Python has the project's Textual installed.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --- what the guest does not need --------------------------------------------------------
# Conservative on purpose: a later step runs the Textual app in the guest, and Textual
# imports much of the stdlib (asyncio, json, email via importlib.metadata, ...). Removed:
# what cannot work (modules whose shared libraries are not in the image) and what nothing
# of ours imports (the test suite, docs data, GUI/terminal toolkits).
STDLIB_REMOVE = [
    "test", "pydoc_data", "idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip",
    "venv", "lib2to3", "sqlite3", "curses", "_pydecimal.py", "config-3.11-aarch64-linux-gnu",
]
# lib-dynload modules whose NEEDED libraries are not shipped (libssl/libcrypto, libbz2,
# liblzma, libsqlite3, libncursesw, libreadline, libdb, libuuid, libcrypt, libnsl/libtirpc)
# or that are CPython's own test modules. _hashlib's absence is fine: hashlib falls back to
# the builtin _sha256/_md5/... that Debian links into the interpreter.
DYNLOAD_REMOVE = re.compile(
    r"^(_ssl|_hashlib|_bz2|_lzma|_sqlite3|_curses|_curses_panel|readline|_dbm|_uuid|_crypt"
    r"|nis|ossaudiodev|_test\w*|_ctypes_test|_xx\w*|xxlimited\w*)\."
)
# CPython's encodings: keep the common ones (and the codecs modules Textual/rich may ask for).
ENCODINGS_KEEP = {
    "__init__", "aliases", "ascii", "latin_1", "utf_8", "utf_8_sig", "utf_16", "utf_16_le",
    "utf_16_be", "utf_32", "utf_32_le", "utf_32_be", "cp437", "cp1252", "charmap", "idna",
    "punycode", "raw_unicode_escape", "unicode_escape", "base64_codec", "hex_codec",
    "zlib_codec", "iso8859_1", "iso8859_15",
}
# Shared libraries: what python3.11, lib-dynload and _cffi_backend NEED (readelf -d), plus
# glibc's compatibility stubs and libnss_files (pwd lookups).
LIBS_KEEP = re.compile(
    r"^(ld-linux-aarch64\.so\.1|libc\.so\.6|libm\.so\.6|libz\.so\.1.*|libexpat\.so\.1.*"
    r"|libffi\.so\.8.*|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1"
    r"|libnss_files\.so\.2)$"
)


def _rm(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def prune(stage: Path) -> None:
    for top in ("usr/share", "etc/ld.so.conf.d", "usr/lib/aarch64-linux-gnu/gconv"):
        _rm(stage / top)
    for libdir in (stage / "lib/aarch64-linux-gnu", stage / "usr/lib/aarch64-linux-gnu"):
        for lib in libdir.iterdir():
            if not LIBS_KEEP.match(lib.name):
                _rm(lib)
    stdlib = stage / "usr/lib/python3.11"
    for name in STDLIB_REMOVE:
        _rm(stdlib / name)
    for mod in (stdlib / "lib-dynload").iterdir():
        if DYNLOAD_REMOVE.match(mod.name):
            _rm(mod)
    for enc in (stdlib / "encodings").iterdir():
        if enc.suffix == ".py" and enc.stem not in ENCODINGS_KEEP:
            _rm(enc)


# --- wheels ------------------------------------------------------------------------------
def read_pins(pins: Path) -> list[tuple[str, str]]:
    out = []
    for line in pins.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            out.append((name.strip(), version.strip()))
    return out


def versions(pins: Path) -> None:
    """Print name==version for each pinned name, as installed in *this* Python."""
    from importlib.metadata import PackageNotFoundError, version

    for name, pinned in read_pins(pins):
        try:
            print(f"{name}=={version(name)}")
        except PackageNotFoundError:
            print(f"{name}=={pinned}")


def _wheel_prefix(name: str, ver: str) -> str:
    # PEP 427 file names escape runs of -_. as "_"; compare case-insensitively.
    return f"{re.sub(r'[-_.]+', '_', name)}-{ver}-".lower()


def _find_wheel(wheels: Path, name: str, ver: str) -> Path | None:
    prefix = _wheel_prefix(name, ver)
    hits = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
    return hits[0] if hits else None


def missing_wheels(wheels: Path, lock: Path) -> None:
    for name, ver in read_pins(lock):
        if _find_wheel(wheels, name, ver) is None:
            print(f"{name}=={ver}")


def unpack_wheels(wheels: Path, lock: Path, site: Path) -> None:
    site.mkdir(parents=True, exist_ok=True)
    for name, ver in read_pins(lock):
        wheel = _find_wheel(wheels, name, ver)
        if wheel is None:
            sys.exit(f"wheel {name}=={ver} missing from {wheels}")
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site)


# --- cache key ---------------------------------------------------------------------------
def key(lock: Path, debs: Path) -> None:
    """Everything the base image depends on: our build scripts, the wheel and deb names."""
    h = hashlib.sha256()
    for f in ("build.sh", "buildhelp.py", "newc.py", "guest_init.sh"):
        h.update((HERE / f).read_bytes())
    h.update(lock.read_bytes())
    for deb in sorted(p.name for p in debs.glob("*.deb")):
        h.update(deb.encode() + b"\n")
    print(h.hexdigest())


def main(argv: list[str]) -> None:
    cmd, *args = argv
    paths = [Path(a) for a in args]
    if cmd == "prune":
        prune(*paths)
    elif cmd == "versions":
        versions(*paths)
    elif cmd == "missing-wheels":
        missing_wheels(*paths)
    elif cmd == "unpack-wheels":
        unpack_wheels(*paths)
    elif cmd == "key":
        key(*paths)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
