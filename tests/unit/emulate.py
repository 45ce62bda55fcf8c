"""Answer the few IAM calls moto does not implement, per operation, the way botocore's Stubber does.

botocore lets a ``before-call`` handler return the response of a call; Stubber uses that hook for a whole
client. Here only the named operations are answered and every other call still reaches moto, so one
test can combine moto's real state with an API that moto lacks (permissions boundaries,
service-specific credentials).
"""

from __future__ import annotations

import datetime
import functools
import typing as t

import botocore.client
import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

from tests.iam_service_credentials import OPERATIONS, ApiError, ServiceCredentialStore, User, utc_now

Handler = t.Callable[[dict[str, t.Any]], dict[str, t.Any]]


class Emulator:
    """Install with ``install(monkeypatch)``; the ``emulator`` fixture in conftest.py does that."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.after: dict[str, t.Callable[[dict[str, t.Any], dict[str, t.Any]], dict[str, t.Any]]] = {}
        self.calls: list[tuple[str, dict[str, t.Any]]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = botocore.client.BaseClient._make_api_call
        emu = self

        def call(client, operation_name, api_params):
            emu.calls.append((operation_name, dict(api_params)))
            if operation_name in emu.handlers:
                # Validated both ways against the service model, as botocore's Stubber validates.
                operation = client.meta.service_model.operation_model(operation_name)
                validate_parameters(api_params, operation.input_shape)
                response = emu.handlers[operation_name](api_params)
                if operation.output_shape is not None:
                    validate_parameters(response, operation.output_shape)
                elif response:
                    raise AssertionError(f"{operation_name} answers nothing but ResponseMetadata")
                return response
            response = original(client, operation_name, api_params)
            if operation_name in emu.after:
                response = emu.after[operation_name](api_params, response)
            return response

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)

    def answer(self, operation: str, handler: Handler) -> None:
        self.handlers[operation] = handler

    def amend(self, operation: str, amend: t.Callable[[dict[str, t.Any], dict[str, t.Any]], dict[str, t.Any]]) -> None:
        """Post-process moto's answer to ``operation`` (e.g. add a field moto does not store)."""
        self.after[operation] = amend


class PermissionsBoundaries:
    """Boundaries kept beside moto's users: Put/DeleteUserPermissionsBoundary answered, GetUser amended."""

    def __init__(self, emu: Emulator):
        self.by_user: dict[str, str] = {}
        emu.answer("PutUserPermissionsBoundary", self._put)
        emu.answer("DeleteUserPermissionsBoundary", self._delete)
        emu.amend("GetUser", self._get)
        emu.amend("CreateUser", self._create)

    def _put(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        self.by_user[params["UserName"]] = params["PermissionsBoundary"]
        return {}

    def _delete(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        self.by_user.pop(params["UserName"], None)
        return {}

    def _create(self, params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        if params.get("PermissionsBoundary"):
            self.by_user[params["UserName"]] = params["PermissionsBoundary"]
        return self._get(params, response)

    def _get(self, params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        arn = self.by_user.get(params["UserName"])
        if arn:
            response["User"]["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                "PermissionsBoundaryArn": arn,
            }
        return response


class ServiceSpecificCredentials(ServiceCredentialStore):
    """IAM's service-specific credentials beside moto's users (tests/iam_service_credentials.py has the rules):
    Create/List/Update/Reset/Delete answered, validated both ways against botocore's model; errors are ClientErrors
    with IAM's codes. ``secret_of(id)`` and ``ids()`` read the state independently of the module under test."""

    def __init__(self, emu: Emulator, *, now: t.Callable[[], datetime.datetime] = utc_now) -> None:
        super().__init__(self._moto_user, now)
        for operation in OPERATIONS:
            emu.answer(operation, functools.partial(self._answer, operation))

    @staticmethod
    def _moto_user(name: str) -> User | None:
        # moto's own store, read without an API call (which the test's call spies would record).
        found = iam_backends[DEFAULT_ACCOUNT_ID]["aws"].users.get(name)
        return User(found.name, found.id, found.account_id) if found else None

    def _answer(self, operation: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        try:
            return self.answer(operation, params)
        except ApiError as exc:
            error = {"Code": exc.code, "Message": exc.message, "Type": "Sender"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": exc.status}}, operation) from None
