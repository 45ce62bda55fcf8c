"""_delivery: secret files written safely by concurrent writers, other profiles and comments kept."""

from __future__ import annotations

import concurrent.futures
import configparser

from ansible_collections.techsquawks.iam.plugins.module_utils import _delivery


def test_concurrent_writers_of_one_credentials_file_keep_every_profile(tmp_path):
    path = tmp_path / "shared" / "credentials"

    def write(n: int) -> str:
        destination = _delivery.Destination(str(path), "access_key")
        payload = {"user_name": f"user{n:02}", "access_key_id": f"AKIA{n:016}", "secret_access_key": f"s{n}"}
        return destination.deliver(payload)

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(16)))

    parser = configparser.ConfigParser()
    parser.read_string(path.read_text())
    assert sorted(parser.sections()) == [f"user{n:02}" for n in range(16)]


def test_rewriting_a_profile_keeps_the_files_comments_and_other_profiles(tmp_path):
    existing = "# managed by hand\n[default]\nregion = eu-west-1\n\n[bob]\n# bob's key\naws_access_key_id = OLD\n"
    updated = _delivery.render_credentials("bob", {"aws_access_key_id": "NEW", "aws_secret_access_key": "s"}, existing)

    assert updated.startswith("# managed by hand\n[default]\nregion = eu-west-1\n\n[bob]\n# bob's key\n")
    assert "aws_access_key_id = NEW\naws_secret_access_key = s\n" in updated
    assert "OLD" not in updated
