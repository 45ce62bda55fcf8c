"""_qr: the MFA seed's otpauth URI as a PNG QR code that scans back to the URI, the same bytes every time."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys

import pyrage
import pytest
import zxingcpp
from PIL import Image

from ansible_collections.techsquawks.iam.plugins.module_utils import _age, _delivery, _qr, _totp

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
URI = _totp.otpauth_uri(SEED, "alice+ops@example.com", "techsquawks IAM")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image(encoded: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(encoded, validate=True)))


@pytest.mark.parametrize("uri", [URI, _totp.otpauth_uri(SEED, "bob", "AWS"), "otpauth://totp/x?secret=" + "A" * 200])
def test_the_png_scans_back_to_the_uri(uri):
    picture = image(_qr.png_base64(uri))

    assert picture.format == "PNG"
    assert [(code.format, code.text) for code in zxingcpp.read_barcodes(picture)] == [
        (zxingcpp.BarcodeFormat.QRCode, uri)
    ]


def test_the_png_is_segnos_matrix_at_8_pixels_a_module_inside_a_4_module_quiet_zone():
    encoded = _qr.png_base64(URI)
    data = base64.b64decode(encoded)
    matrix = _qr.qr_code(URI).matrix
    size = len(matrix)
    picture = image(encoded).convert("L")

    assert data.startswith(PNG_SIGNATURE)
    assert picture.size == ((size + 8) * 8, (size + 8) * 8)
    # Each module's centre pixel: dark where segno's matrix has a dark module, white elsewhere (the border too).
    drawn = [[picture.getpixel((x * 8 + 4, y * 8 + 4)) < 128 for x in range(size + 8)] for y in range(size + 8)]
    expected = [
        [0 <= y - 4 < size and 0 <= x - 4 < size and bool(matrix[y - 4][x - 4]) for x in range(size + 8)]
        for y in range(size + 8)
    ]
    assert drawn == expected


def test_the_same_uri_gives_the_same_bytes_in_another_process():
    script = (
        "from ansible_collections.techsquawks.iam.plugins.module_utils import _qr; import sys; "
        "print(_qr.png_base64(sys.argv[1]))"
    )
    # The same import path as this process (the collection link), but fresh interpreter state.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    other = subprocess.run([sys.executable, "-c", script, URI], capture_output=True, text=True, check=True, env=env)

    assert other.stdout.strip() == _qr.png_base64(URI) == _qr.png_base64(URI)
    assert _qr.png_base64(URI) != _qr.png_base64(URI.replace("alice", "alicf"))


def test_a_missing_segno_names_qr_code(monkeypatch):
    assert _qr.library_error() is None
    monkeypatch.setattr(_qr, "HAS_SEGNO", False)
    message = _qr.library_error()
    assert "segno" in message
    assert "for qr_code=true" in message


MFA = {
    "user_name": "alice",
    "serial_number": "arn:aws:iam::123456789012:mfa/alice",
    "otpauth_uri": URI,
    "base32_seed": SEED,
}


def test_the_json_format_carries_the_qr_code_when_the_payload_has_it(tmp_path):
    plain, with_qr = tmp_path / "plain.json", tmp_path / "qr.json"
    _delivery.Destination(str(plain), "mfa").deliver(MFA)
    _delivery.Destination(str(with_qr), "mfa").deliver({**MFA, _qr.PAYLOAD_KEY: _qr.png_base64(URI)})

    assert json.loads(plain.read_text()) == MFA
    assert json.loads(with_qr.read_text()) == {**MFA, "qr_png_base64": _qr.png_base64(URI)}


def test_the_text_format_stays_the_uri_alone(tmp_path):
    path = tmp_path / "mfa.txt"
    _delivery.Destination(str(path), "mfa", "text").deliver({**MFA, _qr.PAYLOAD_KEY: _qr.png_base64(URI)})

    assert path.read_text() == URI + "\n"


def test_the_qr_code_travels_inside_the_age_encrypted_payload(tmp_path):
    identity = pyrage.x25519.Identity.generate()
    path = tmp_path / "alice" / "mfa.age"
    sink = _delivery.Destination(str(path), "mfa", encrypt=_age.encrypter([str(identity.to_public())]), merge=False)
    sink.deliver({**MFA, _qr.PAYLOAD_KEY: _qr.png_base64(URI)})

    assert SEED.encode() not in path.read_bytes()
    content = json.loads(pyrage.decrypt(path.read_bytes(), [identity]))
    assert [code.text for code in zxingcpp.read_barcodes(image(content["qr_png_base64"]))] == [URI]
