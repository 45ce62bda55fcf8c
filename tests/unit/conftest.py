"""Unit-test fixtures: fake AWS credentials, moto in-process, the real module main() run in-process."""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import typing as t
from unittest import mock

import boto3
import botocore.client
import pytest
from ansible.module_utils import basic
from moto import mock_aws

from tests.unit.emulate import Emulator

READ_PREFIXES = ("Get", "List", "Describe")

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (make test-matrix): AnsibleModule reads basic._ANSIBLE_ARGS

    @contextlib.contextmanager
    def patch_module_args(args: dict[str, t.Any] | None = None) -> t.Iterator[None]:
        """What ansible-core 2.19's ansible.module_utils.testing.patch_module_args does on older versions."""
        encoded = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", encoded):
            yield


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Fake credentials only: no test can reach real AWS."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


@pytest.fixture
def aws():
    """moto in-process for the duration of one test."""
    with mock_aws():
        yield


@pytest.fixture
def iam_client(aws):
    """An independent boto3 client to arrange and check state (not the module's own client)."""
    return boto3.client("iam", region_name="us-east-1")


class ApiCalls(list):
    """Operation names of every AWS call made through botocore during the test; ``sent`` adds the parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, t.Any]]] = []

    @property
    def mutating(self) -> list[str]:
        return [name for name in self if not name.startswith(READ_PREFIXES)]

    def clear(self) -> None:
        del self[:]  # the names only: ``sent`` is cleared on its own


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> ApiCalls:
    """Record every API call (a spy around botocore, the calls still reach moto)."""
    calls = ApiCalls()
    original = botocore.client.BaseClient._make_api_call

    def spy(self, operation_name, api_params):
        calls.append(operation_name)
        calls.sent.append((operation_name, dict(api_params)))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    return calls


@pytest.fixture
def sent(api_calls: ApiCalls) -> list[tuple[str, dict[str, t.Any]]]:
    """(operation, parameters) of every call, to check what a module asked AWS for."""
    return api_calls.sent


class ModuleRunner(t.Protocol):
    def __call__(
        self, module: t.Any, args: dict[str, t.Any], *, check_mode: bool = False, diff: bool = False
    ) -> dict[str, t.Any]: ...


@pytest.fixture(autouse=True)
def isolated_warnings() -> None:
    """AnsibleModule keeps warnings in process-wide stores; in-process runs must not see each other's."""
    from ansible.module_utils.common import warnings

    for store in (warnings._global_warnings, warnings._global_deprecations):
        store.clear()


COLLECTION_PACKAGES = ("ansible_collections", "ansible_collections.techsquawks", "ansible_collections.techsquawks.iam")


def use_collection_finder() -> None:
    """ansible's collection finder in charge of ``ansible_collections``, as in ansible-playbook.

    The finder imports the collection packages itself (to read meta/runtime.yml); tests/conftest.py imported them
    from sys.path, so those three entries are dropped (modules already imported stay, so monkeypatching them still
    reaches the plugins). ansible-core 2.15+ installs the finder with init_plugin_loader, 2.14 as soon as
    ansible.plugins.loader is imported (so from then on a collection package not imported by it is refused).
    """
    import ansible.plugins.loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    for name in COLLECTION_PACKAGES:
        sys.modules.pop(name, None)
    if AnsibleCollectionConfig.collection_finder is None:
        ansible.plugins.loader.init_plugin_loader()
    importlib.import_module(COLLECTION_PACKAGES[-1])  # by the finder now, for the subpackages left in place


@contextlib.contextmanager
def module_side_kept() -> t.Iterator[None]:
    """Ansible's controller code imported inside, the collection's plugins through ansible's collection finder,
    and in-process module runs left as they were.

    ansible-core 2.19 marks the whole process as the controller when its controller code is imported
    (``ansible.module_utils._internal.is_controller``), after which AnsibleModule.warn prints instead of returning
    warnings: the mark is put back on exit. Older versions have no such mark and nothing needs putting back.
    """
    try:
        from ansible.module_utils import _internal
    except ImportError:  # ansible-core < 2.18 has no such package, 2.18 one without the mark
        _internal = None
    if not hasattr(_internal, "is_controller"):
        use_collection_finder()
        yield
        return
    before = _internal.is_controller
    try:
        use_collection_finder()
        yield
    finally:
        _internal.is_controller = before


@pytest.fixture(scope="session")
def controller_imports() -> t.Callable[[], t.ContextManager[None]]:
    """``with controller_imports():`` around imports of ansible's controller code (see module_side_kept)."""
    return module_side_kept


@pytest.fixture(scope="session")
def trusted_as_template() -> t.Callable[[t.Any], bool]:
    """Whether ansible would template a value: 2.19's trust tags, or before 2.19 anything not wrapped unsafe."""
    try:
        from ansible.template import is_trusted_as_template
    except ImportError:  # ansible-core < 2.19: every string is a template unless wrapped by wrap_var
        from ansible.utils.unsafe_proxy import AnsibleUnsafe

        return lambda value: not isinstance(value, AnsibleUnsafe)
    return is_trusted_as_template


@pytest.fixture
def run_module(capsys: pytest.CaptureFixture[str]) -> ModuleRunner:
    """Run the module's real main() in-process and return its JSON result (failed=True on fail_json)."""

    def run(module: t.Any, args: dict[str, t.Any], *, check_mode: bool = False, diff: bool = False) -> dict[str, t.Any]:
        capsys.readouterr()
        module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(module_args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Answer chosen operations moto lacks (see emulate.py); every other call still reaches moto."""
    emu = Emulator()
    emu.install(monkeypatch)
    return emu
