# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""iam_roster on the controller: ansible-vault encryption, progress lines, a diff per user.

The roster engine (module_utils/_roster.py) runs here, in the task's worker process, so that a new secret is
encrypted and written the moment AWS issues it (never on disk in plain text), the vault secret is checked
before any AWS call, and progress reaches ansible-playbook's output (and AWX's job events) while users are
being converged. The module file holds the documentation and the same engine for a run without this plugin.
"""

from __future__ import annotations

import contextlib
import json
import os
import typing as t

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.vault import VaultLib, get_file_vault_secret
from ansible.plugins.action import ActionBase

from ansible_collections.techsquawks.iam.plugins.module_utils import _roster, _roster_input
from ansible_collections.techsquawks.iam.plugins.module_utils._aws import (
    CONNECTION_ARGUMENT_SPEC,
    HAS_BOTO3,
    AWSConnectionError,
)
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure


def vault_encrypter(vault_id: str | None, password_file: str | None, loader: t.Any) -> t.Callable[[str], bytes]:
    """Load the vault secret (label@source, or a password file) and return an encrypter; AnsibleError if unusable."""
    option = "vault_id" if vault_id else "vault_password_file"
    label, source = None, password_file
    if vault_id:
        label, _at, source = vault_id.rpartition("@")
        label = label or None
    if not source:
        raise AnsibleError(f"{option}: no password file given ('{vault_id or ''}')")
    source = os.path.expanduser(source)
    if not os.path.exists(source):
        raise AnsibleError(f"{option}: the vault password file {source} does not exist")
    try:
        secret = get_file_vault_secret(filename=source, vault_id=label, loader=loader)
        secret.load()
    except AnsibleError as exc:
        raise AnsibleError(f"{option}: cannot load the vault password from {source}: {exc.message}") from None
    if not secret.bytes:
        raise AnsibleError(f"{option}: the vault password from {source} is empty")
    vault = VaultLib([(label or "default", secret)])

    def encrypt(plaintext: str) -> bytes:
        return vault.encrypt(plaintext, secret=secret, vault_id=label)

    return encrypt


@contextlib.contextmanager
def task_environment(environment: dict[str, str]) -> t.Iterator[None]:
    """The task's `environment:` applied to this worker process while the engine runs (AWS_* variables)."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update({name: str(value) for name, value in environment.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def text_view(view: dict[str, t.Any]) -> str:
    """A user's before/after as YAML text, so the diff reads line by line."""
    # Values from the task are ansible-core's tagged strings, which YAML's safe dumper refuses: plain them first.
    plain = json.loads(json.dumps(view))
    return yaml.safe_dump(plain, default_flow_style=False, sort_keys=True) if plain else ""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        environment: dict[str, str] = {}
        self._compute_environment_string(environment)
        with task_environment(environment):
            result.update(self._converge())
        return result

    def _converge(self) -> dict[str, t.Any]:
        if not HAS_BOTO3:
            return {"failed": True, "msg": "iam_roster needs boto3 and botocore on the controller"}
        spec = dict(CONNECTION_ARGUMENT_SPEC, **_roster.ARGUMENT_SPEC)
        entry_errors = _roster_input.entry_spec_errors(self._task.args.get("users"))
        if entry_errors:
            return {"failed": True, "msg": "Invalid input: " + "; ".join(entry_errors), "invalid_options": entry_errors}
        validated = ArgumentSpecValidator(spec).validate(dict(self._task.args))
        if validated.error_messages:
            return {"failed": True, "msg": "Invalid input: " + "; ".join(validated.error_messages)}
        params = validated.validated_parameters
        check_mode, with_diff = bool(self._task.check_mode), bool(self._task.diff)

        # Everything that can be checked is checked before any AWS call: options, every entry, the vault secret.
        settings = _roster.settings_from(params, check_mode=check_mode)
        entries, errors = _roster_input.parse_entries(params["users"], settings.credentials_dir)
        errors = _roster.option_errors(params) + errors
        vault = bool(params["vault_id"] or params["vault_password_file"])
        if not errors:
            errors += _roster_input.destination_errors(
                entries, settings.credentials_dir, vault=vault, deliver_to=settings.deliver_to
            )
        if errors:
            return {"failed": True, "msg": "Invalid input: " + "; ".join(errors), "invalid_options": errors}
        if vault:
            try:
                settings.encrypt = vault_encrypter(params["vault_id"], params["vault_password_file"], self._loader)
            except AnsibleError as exc:
                return {"failed": True, "msg": exc.message}

        label = params["account_label"]
        try:
            engine = _roster.Engine({name: params.get(name) for name in CONNECTION_ARGUMENT_SPEC}, settings)
        except AWSConnectionError as exc:
            return {"failed": True, "msg": str(exc)}

        def progress(update: _roster.Progress) -> None:
            self._display.display(update.line(label or ""))

        try:
            records, unlisted = _roster.run(engine, entries, progress, vault=vault)
        except ModuleFailure as exc:
            return {"failed": True, "msg": str(exc)}
        for record in records:
            for warning in record.warnings:
                self._display.warning(f"iam_roster: {record.name}: {warning}")
        outcome = _roster.result_of(
            records, settings, label=label, with_diff=with_diff, report=params["report"], unlisted=unlisted
        )
        for diff in outcome.get("diff", []):
            diff["before"], diff["after"] = text_view(diff["before"]), text_view(diff["after"])
        return outcome
