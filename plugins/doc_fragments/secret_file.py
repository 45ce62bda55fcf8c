# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # secret_file: the file a module writes the secret it issues to, instead of its result; shared by every module
    # that issues a secret (iam_access_key, iam_login_profile, iam_mfa_device, iam_service_credential). Each module
    # documents its own secret_format (the formats differ) and what is particular to it in its notes.
    DOCUMENTATION = r"""
options:
  secret_file:
    description:
      - Absolute path of a file to write the new secret of this run to (the key, password or seed it created or
        set), instead of returning it; the secret is then left out of the result entirely. Its format is
        O(secret_format).
      - The file is written atomically with mode C(0600); a missing parent directory is created with mode
        C(0700). It is written on the host the module runs on (use C(delegate_to) to choose it).
      - Refused before any AWS call, naming the path - an existing file that is a symbolic link, not a regular
        file (a directory, for example), readable by group or others, another user's or hard-linked elsewhere; an
        existing parent directory that is a symbolic link, belongs to a user other than the module's or root, or is
        writable by others without the sticky bit.
      - Written only on a run that issues a new secret; otherwise the file is left alone. If it cannot be
        written, the new credential is removed again, so a failed run never leaves a credential whose secret
        nobody holds.
      - Mutually exclusive with O(deliver_to), which can also write a file (O(deliver_to.type=file)) or an
        encrypted one (O(deliver_to.type=age)).
    type: path
notes:
  - The secret is never part of the diff, of warnings or of error messages. When it is returned in the result, set
    C(no_log) on the task, or use O(secret_file) or O(deliver_to) instead.
"""
