"""iam_user_info: the real main() against moto in-process."""

from __future__ import annotations

import pytest

from ansible_collections.techsquawks.iam.plugins.modules import iam_user_info


@pytest.fixture
def seed_users(iam_client):
    """The seed page's users: one at the root, one under /example/path/1/, two under /example/path/2/."""
    iam_client.create_user(UserName="techsquawks-user")
    iam_client.create_user(UserName="techsquawks-user1", Path="/example/path/1/")
    iam_client.create_user(UserName="techsquawks-user-2", Path="/example/path/2/", Tags=[{"Key": "t", "Value": "2"}])
    iam_client.create_user(UserName="techsquawks-user-2a", Path="/example/path/2/")
    return iam_client


def names(result: dict) -> list[str]:
    return [user["user_name"] for user in result["users"]]


def test_path_prefix_returns_exactly_the_users_under_it_with_tags(run_module, seed_users, api_calls):
    api_calls.clear()
    result = run_module(iam_user_info, {"path_prefix": "/example/path/2/"})
    assert result["changed"] is False
    assert names(result) == ["techsquawks-user-2", "techsquawks-user-2a"]
    assert result["users"][0]["tags"] == {"t": "2"}
    assert result["users"][0]["arn"] == "arn:aws:iam::123456789012:user/example/path/2/techsquawks-user-2"
    assert api_calls.mutating == []


def test_default_lists_every_user(run_module, seed_users):
    assert len(run_module(iam_user_info, {})["users"]) == 4


def test_name_returns_one_user_with_credentials_summary(run_module, seed_users):
    seed_users.create_group(GroupName="devs")
    seed_users.add_user_to_group(UserName="techsquawks-user", GroupName="devs")
    seed_users.create_login_profile(UserName="techsquawks-user", Password="Pa55word-long!")
    key = seed_users.create_access_key(UserName="techsquawks-user")["AccessKey"]
    user = run_module(iam_user_info, {"name": "techsquawks-user"})["users"][0]
    assert user["groups"] == ["devs"]
    assert user["login_profile"] is True
    assert user["access_keys"] == [
        {"access_key_id": key["AccessKeyId"], "status": "Active", "create_date": user["access_keys"][0]["create_date"]}
    ]
    assert key["SecretAccessKey"] not in str(user)
    assert user["mfa_devices"] == []
    assert user["inline_policies"] == []


def test_missing_name_returns_an_empty_list(run_module, iam_client):
    assert run_module(iam_user_info, {"name": "ghost"})["users"] == []


def test_group_returns_its_members(run_module, seed_users):
    seed_users.create_group(GroupName="devs")
    seed_users.add_user_to_group(UserName="techsquawks-user1", GroupName="devs")
    seed_users.add_user_to_group(UserName="techsquawks-user-2", GroupName="devs")
    result = run_module(iam_user_info, {"group": "devs", "details": False})
    assert names(result) == ["techsquawks-user-2", "techsquawks-user1"]
    assert "login_profile" not in result["users"][0]
    filtered = run_module(iam_user_info, {"group": "devs", "path_prefix": "/example/path/1/"})
    assert names(filtered) == ["techsquawks-user1"]


def test_details_false_skips_per_user_detail_calls(run_module, seed_users, api_calls):
    api_calls.clear()
    run_module(iam_user_info, {"path_prefix": "/example/", "details": False})
    assert sorted(set(api_calls)) == ["GetUser", "ListUsers"]


@pytest.mark.parametrize(
    ("args", "option"),
    [({"name": "a b"}, "name"), ({"group": "x" * 129}, "group"), ({"path_prefix": "example/"}, "path_prefix")],
)
def test_invalid_input_fails_naming_the_option_before_any_api_call(run_module, api_calls, args, option):
    result = run_module(iam_user_info, args)
    assert result["failed"] is True
    assert option in result["msg"]
    assert api_calls == []


def test_name_and_group_are_mutually_exclusive(run_module, api_calls):
    result = run_module(iam_user_info, {"name": "a", "group": "b"})
    assert result["failed"] is True
    assert "mutually exclusive" in result["msg"]
