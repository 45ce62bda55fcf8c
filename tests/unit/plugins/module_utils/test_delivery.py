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


def test_a_secret_file_in_a_symlinked_directory_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)

    problems = _delivery.check_destination(str(tmp_path / "link" / "credentials"))

    assert problems == [
        f"the directory '{tmp_path / 'link'}' is a symbolic link; refusing to write a secret through it"
    ]


def test_a_secret_file_in_a_directory_others_may_write_into_is_refused_unless_sticky(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)

    assert "writable by others" in _delivery.check_destination(str(shared / "credentials"))[0]
    shared.chmod(0o1777)
    assert _delivery.check_destination(str(shared / "credentials")) == []


def test_an_existing_credentials_root_is_tightened_to_0700(tmp_path):
    from ansible_collections.techsquawks.iam.plugins.module_utils import _roster_input

    root = tmp_path / "credentials"
    root.mkdir()
    root.chmod(0o755)

    _roster_input.prepare_root(str(root))

    assert root.stat().st_mode & 0o777 == 0o700
