"""Pure helpers: tags and list deltas."""

from __future__ import annotations

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare


def test_tags_round_trip_between_boto3_list_and_dict():
    tags = {"b": "2", "a": "1"}
    assert _compare.dict_to_tags(tags) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert _compare.tags_to_dict(_compare.dict_to_tags(tags)) == tags


def test_tag_delta_sets_changed_values_and_purges_unlisted_keys():
    to_set, to_remove = _compare.tag_delta({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9"}, purge=True)
    assert to_set == {"b": "9"}
    assert to_remove == ["c"]


def test_tag_delta_never_purges_aws_reserved_tags():
    _to_set, to_remove = _compare.tag_delta({"aws:cloudformation:stack-name": "s", "x": "1"}, {}, purge=True)
    assert to_remove == ["x"]


def test_tag_delta_without_purge_or_desired_changes_nothing_extra():
    assert _compare.tag_delta({"a": "1"}, {"b": "2"}, purge=False) == ({"b": "2"}, [])
    assert _compare.tag_delta({"a": "1"}, None, purge=True) == ({}, [])


def test_list_delta_adds_missing_and_removes_only_when_purging():
    assert _compare.list_delta(["a", "c"], ["a", "b", "b"], purge=False) == (["b"], [])
    assert _compare.list_delta(["a", "c"], ["a", "b"], purge=True) == (["b"], ["c"])
    assert _compare.list_delta(["a"], None, purge=True) == ([], [])
    assert _compare.apply_list_delta(["a", "c"], ["b"], ["c"]) == ["a", "b"]
