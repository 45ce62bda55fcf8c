# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Deliver secrets to files (mode 0600, parent 0700) instead of task results. No boto3 here."""

from __future__ import annotations

import configparser
import io
import json
import os
import stat
import tempfile
import typing as t

FILE_MODE = 0o600
DIR_MODE = 0o700


class DeliveryError(Exception):
    """The secret cannot be written safely; the message names the path and the reason."""


def check_destination(path: str) -> list[str]:
    """Problems that make ``path`` unsafe to write, found before any AWS call (empty list: fine)."""
    if not os.path.isabs(os.path.expanduser(path)):
        return [f"'{path}' must be an absolute path"]
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        return [f"'{path}' is a directory"]
    if os.path.lexists(path):
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return [f"'{path}' is a symbolic link; refusing to follow it for a secret"]
        if stat.S_IMODE(info.st_mode) & 0o077:
            return [
                f"'{path}' exists with mode {stat.S_IMODE(info.st_mode):04o}, readable by others; "
                f"refusing to write a secret into it (chmod 0600 it or choose another path)"
            ]
    return []


def destination_errors(option: str, path: str | None) -> list[str]:
    """check_destination's problems as validation messages that name ``option`` (none when unset)."""
    return [f"{option}: {problem}" for problem in check_destination(path)] if path else []


def render_credentials(profile: str, values: dict[str, str], existing: str | None = None) -> str:
    """An AWS shared-credentials file with ``profile`` set to ``values``; other profiles are kept."""
    parser = configparser.ConfigParser(interpolation=None)
    if existing:
        parser.read_string(existing)
    parser[profile] = values
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def render_json(values: dict[str, t.Any]) -> str:
    return json.dumps(values, indent=2, sort_keys=True) + "\n"


def write_secret(path: str, render: t.Callable[[str | None], str]) -> str:
    """Atomically write ``render(existing content or None)`` to ``path`` with mode 0600; return the path.

    The parent directory is created with mode 0700. A file that is readable by group or others is
    never overwritten: whoever made it so may already have leaked its contents.
    """
    path = os.path.expanduser(path)
    problems = check_destination(path)
    if problems:
        raise DeliveryError(problems[0])
    parent = os.path.dirname(path) or "."
    try:
        os.makedirs(parent, mode=DIR_MODE, exist_ok=True)
        existing = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                existing = handle.read()
        content = render(existing)
        # mkstemp creates the file 0600 before anything is written into it.
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-secret-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise DeliveryError(f"Failed to write secret to '{path}': {exc.strerror or exc}") from exc
    return path
