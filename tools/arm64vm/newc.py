"""Write initramfs archives: the "newc" cpio format, gzip-compressed. Stdlib only.

The kernel's initramfs unpacker reads newc (Documentation/driver-api/early-userspace/
buffer-format.rst): a 110-byte ASCII header ("070701" + 13 eight-digit hex fields), the
NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes; "TRAILER!!!" ends
an archive. Archives may be concatenated, each compressed on its own, and later entries
replace earlier ones -- which is how run.py lays a small overlay over the base image.

Writing it here (rather than `find | cpio`) needs no host cpio, and makes every archive
reproducible: entries sorted, owner root, mtime 0, gzip header mtime 0.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
from pathlib import Path

_MAGIC = b"070701"
_TRAILER = "TRAILER!!!"


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


class NewcWriter:
    """Accumulates entries; `gz()` returns the finished archive, gzip-compressed."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._ino = 1
        self._dirs: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes, nlink: int = 1) -> None:
        encoded = name.encode() + b"\0"
        fields = (
            self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(encoded), 0
        )  # ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj rdevmin namesize check
        self._ino += 1
        header = _MAGIC + b"".join(b"%08X" % f for f in fields)
        self._out.write(header + encoded + _pad4(len(header) + len(encoded)))
        self._out.write(data + _pad4(len(data)))

    def _parents(self, name: str) -> None:
        # The unpacker creates no missing parents (init/initramfs.c opens the full path).
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self.add_dir("/".join(parts[:i]))

    def add_dir(self, name: str, mode: int = 0o755) -> None:
        name = name.strip("/")
        if name and name not in self._dirs:
            self._parents(name)
            self._dirs.add(name)
            self._entry(name, stat.S_IFDIR | mode, b"", nlink=2)

    def add_file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        name = name.strip("/")
        self._parents(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def add_symlink(self, name: str, target: str) -> None:
        name = name.strip("/")
        self._parents(name)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def add_tree(self, root: Path, prefix: str = "") -> None:
        """Add everything under `root` (dirs, regular files, symlinks), sorted, at `prefix`."""
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel = os.path.relpath(dirpath, root)
            base = prefix.strip("/") if rel == "." else f"{prefix}/{rel}".strip("/")
            if base:
                self.add_dir(base, stat.S_IMODE(os.lstat(dirpath).st_mode))
            # Symlinks to directories show up in dirnames; os.walk does not follow them.
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            for entry in sorted(filenames + links):
                path = os.path.join(dirpath, entry)
                name = f"{base}/{entry}".strip("/")
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    self.add_symlink(name, os.readlink(path))
                elif stat.S_ISREG(st.st_mode):
                    self.add_file(name, Path(path).read_bytes(), stat.S_IMODE(st.st_mode))

    def gz(self, level: int = 6) -> bytes:
        self._entry(_TRAILER, 0, b"")
        return gzip.compress(self._out.getvalue(), compresslevel=level, mtime=0)


def pack_tree(root: Path, out: Path, level: int = 6) -> int:
    """Pack the tree at `root` into the gzip'd newc archive `out`; return its size."""
    writer = NewcWriter()
    writer.add_tree(root)
    data = writer.gz(level)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return len(data)


if __name__ == "__main__":
    # build.sh: python3 newc.py STAGE_DIR OUT.gz
    size = pack_tree(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[2]}: {size} bytes")
