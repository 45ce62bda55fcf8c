# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""A QR code (PNG, base64) of an MFA device's otpauth URI, drawn by segno (pure Python, writes PNG itself)."""

from __future__ import annotations

import base64
import io

from ansible.module_utils.basic import missing_required_lib

try:
    import segno

    HAS_SEGNO = True
    SEGNO_IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # only qr_code=true needs it
    HAS_SEGNO = False
    SEGNO_IMPORT_ERROR = exc

LIBRARY = "segno"
REASON = "for qr_code=true"
# The payload key of the MFA secret that holds the picture (json format only).
PAYLOAD_KEY = "qr_png_base64"
# Error correction M (15%: what authenticator apps scan well), 8 pixels a module and the standard quiet zone of
# 4 modules: about 400x400 pixels for an otpauth URI.
ERROR = "m"
SCALE = 8
BORDER = 4


def library_error() -> str | None:
    """Ansible's missing-library message naming qr_code=true when segno is not installed, else None."""
    return None if HAS_SEGNO else missing_required_lib(LIBRARY, reason=REASON)


def qr_code(uri: str) -> segno.QRCode:
    """The QR code (never a Micro QR code, which apps do not scan) of ``uri``; the same for the same URI."""
    return segno.make_qr(uri, error=ERROR)


def png_base64(uri: str) -> str:
    """A black-on-white PNG of ``uri``'s QR code, base64 (ASCII); the same bytes for the same URI."""
    out = io.BytesIO()
    qr_code(uri).save(out, kind="png", scale=SCALE, border=BORDER)
    return base64.b64encode(out.getvalue()).decode("ascii")
