# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a Sphinx (version 2) intersphinx inventory from a list of its lines (make docs, which builds offline).

Usage: python docs/intersphinx_inventory.py docs/ansible-docsite-labels.txt DEST.inv
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

HEADER = (
    "# Sphinx inventory version 2\n"
    "# Project: Ansible\n"
    "# Version: devel\n"
    "# The remainder of this file is compressed using zlib.\n"
)
FIELDS = 5  # name, domain:role, priority, uri, display name (which may hold spaces)


def entries(text: str) -> list[str]:
    """The inventory lines of ``text``: every line but blank ones and comments, each checked to have its fields."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line in lines:
        if len(line.split(maxsplit=FIELDS - 1)) != FIELDS or ":" not in line.split()[1]:
            raise SystemExit(f"not an inventory line (name domain:role priority uri display-name): {line!r}")
    return lines


def main(source: str, dest: str) -> None:
    body = "".join(f"{line}\n" for line in entries(Path(source).read_text(encoding="utf-8")))
    Path(dest).write_bytes(HEADER.encode() + zlib.compress(body.encode()))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
