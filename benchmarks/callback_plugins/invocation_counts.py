# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback plugin of the benchmark: task results per action, and the time each task took, to a JSON file."""

from __future__ import annotations

import collections
import json
import time
import typing as t

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: invocation_counts
type: aggregate
short_description: Count task results per action, for benchmarks/bench.py
description:
  - Counts every runner result that was not skipped, per action (the resolved FQCN), loop items one by one,
    and how many of them reported a change.
  - Records when each task started, so that the time between two task starts is what the task cost.
  - Writes both to a JSON file when the playbook ends.
requirements:
  - enabled through C(callbacks_enabled) in the benchmark's ansible.cfg
options:
  output:
    description: The JSON file to write.
    type: path
    required: true
    env:
      - name: BENCH_INVOCATIONS_FILE
    ini:
      - section: callback_invocation_counts
        key: output
"""


class CallbackModule(CallbackBase):
    """Counts non-skipped task results per action and records task start times."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "invocation_counts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._invocations: collections.Counter[str] = collections.Counter()
        self._changed = 0
        self._tasks: list[dict[str, t.Any]] = []

    @staticmethod
    def _action(task: t.Any) -> str:
        return task.resolved_action or task.action

    @staticmethod
    def _loops(task: t.Any) -> bool:
        return task.loop is not None or task.loop_with is not None

    def _count(self, result: t.Any) -> None:
        # A looped task's final result aggregates its items, which were counted one by one.
        if not self._loops(result.task):
            self._count_item(result)

    def _count_item(self, result: t.Any) -> None:
        self._invocations[self._action(result.task)] += 1
        self._changed += bool(result.result.get("changed"))

    def v2_playbook_on_task_start(self, task: t.Any, is_conditional: bool) -> None:
        self._tasks.append({"action": task.action, "name": task.get_name(), "started": time.monotonic()})

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._count(result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._count(result)

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._count(result)

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        self._count_item(result)

    def v2_runner_item_on_failed(self, result: t.Any) -> None:
        self._count_item(result)

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        ended = time.monotonic()
        # A task lasts until the next one starts (or the playbook ends): its workers, templating and results.
        for task, following in zip(self._tasks, [*self._tasks[1:], None], strict=True):
            task["seconds"] = (following["started"] if following else ended) - task.pop("started")
        with open(self.get_option("output"), "w", encoding="utf-8") as output:
            json.dump(
                {"invocations": dict(self._invocations), "changed": self._changed, "tasks": self._tasks},
                output,
                indent=1,
            )
