"""Make the repository importable as ansible_collections.techsquawks.iam (the repo root is the collection)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".tmp" / "collections"


def _link_collection() -> None:
    link = COLLECTIONS / "ansible_collections" / "techsquawks" / "iam"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another xdist worker won the race
            link.symlink_to(ROOT, target_is_directory=True)


_link_collection()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
