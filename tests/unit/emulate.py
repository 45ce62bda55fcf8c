"""Answer the few IAM calls moto does not implement, per operation, the way botocore's Stubber does.

botocore lets a ``before-call`` handler return the response of a call; Stubber uses that hook for a whole
client. Here only the named operations are answered and every other call still reaches moto, so one
test can combine moto's real state with an API that moto lacks (permissions boundaries,
service-specific credentials).
"""

from __future__ import annotations

import typing as t

import botocore.client
import pytest
from botocore.validate import validate_parameters

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
