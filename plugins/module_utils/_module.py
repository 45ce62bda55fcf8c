# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""IAMModule: AnsibleModule plus the connection options, cached clients and error reporting."""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.techsquawks.iam.plugins.module_utils._aws import (
    BOTO3_IMPORT_ERROR,
    CONNECTION_ARGUMENT_SPEC,
    CONNECTION_OPTIONS,
    HAS_BOTO3,
    MAX_ATTEMPTS,
    AWSConnectionError,
    build_session,
    create_client,
)
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError


class ModuleFailure(Exception):
    """A condition found at run time that makes the request impossible; its message names the option."""

    def __init__(self, message: str, **details: t.Any):
        super().__init__(message)
        self.details = details


class IAMModule(AnsibleModule):
    """An AnsibleModule that knows how to reach IAM; ``execute()`` is the only place a module exits."""

    if t.TYPE_CHECKING:  # ansible-core has no type hints: these two never return

        def fail_json(self, msg: str, **kwargs: t.Any) -> t.NoReturn: ...

        def exit_json(self, **kwargs: t.Any) -> t.NoReturn: ...

    def __init__(self, argument_spec: dict[str, t.Any], **kwargs: t.Any):
        spec = dict(CONNECTION_ARGUMENT_SPEC)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        if not HAS_BOTO3:
            self.fail_json(msg=missing_required_lib("boto3 and botocore"), exception=str(BOTO3_IMPORT_ERROR))
        self._session: t.Any = None
        self._iam: IAM | None = None
        self._clients: dict[tuple[str, int | None], t.Any] = {}

    @property
    def connection_params(self) -> dict[str, t.Any]:
        return {name: self.params.get(name) for name in CONNECTION_OPTIONS}

    def client(self, service: str, max_attempts: int | None = None) -> t.Any:
        """A cached boto3 client for ``service`` built from the connection options."""
        key = (service, max_attempts)
        if key not in self._clients:
            try:
                if self._session is None:
                    self._session = build_session(self.connection_params)
                self._clients[key] = create_client(
                    self._session, service, self.connection_params, max_attempts=max_attempts or MAX_ATTEMPTS
                )
            except AWSConnectionError as exc:
                self.fail_json(msg=str(exc))
        return self._clients[key]

    def client_with_credentials(self, service: str, access_key_id: str, secret_access_key: str) -> t.Any:
        """A client that signs with other credentials (e.g. a key just created) but the same endpoint."""
        params = dict(self.connection_params, access_key=access_key_id, secret_key=secret_access_key)
        params["session_token"] = params["profile"] = params["role_arn"] = None
        return create_client(build_session(params), service, params)

    @property
    def iam(self) -> IAM:
        """The IAM verbs, refusing mutating calls in check mode."""
        if self._iam is None:
            self._iam = IAM(self.client("iam"), check_mode=self.check_mode, probe_client=lambda: self.client("iam", 1))
        return self._iam

    def fail_on_invalid(self, errors: list[str]) -> None:
        """Fail before any AWS call when input validation found problems (each names its option)."""
        if errors:
            self.fail_json(msg="Invalid input: " + "; ".join(errors), invalid_options=errors)

    def execute(self, run: t.Callable[[IAMModule], dict[str, t.Any]]) -> t.NoReturn:
        """Run the module logic, translating AWS failures into fail_json with the AWS error code."""
        try:
            result = run(self)
        except IAMError as exc:
            self._flush_warnings()
            self.fail_json(msg=str(exc), error_code=exc.code, response_metadata=exc.response.get("ResponseMetadata"))
        except ModuleFailure as exc:
            self._flush_warnings()
            self.fail_json(msg=str(exc), **exc.details)
        self._flush_warnings()
        self.exit_json(**result)

    def _flush_warnings(self) -> None:
        if self._iam is not None:
            for warning in self._iam.warnings:
                self.warn(warning)
            self._iam.warnings.clear()
