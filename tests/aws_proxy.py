# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A counting, fault-injecting HTTP proxy on 127.0.0.1 in front of moto_server (or any AWS-like endpoint).

Every request is counted by its AWS action: ``Action=...`` of a query-protocol call (IAM, STS: form body or
query string) or the ``X-Amz-Target`` of a JSON-protocol call. Then, in this order:

1. a fault may answer it instead of the upstream: a chosen fraction of the requests (seeded random, so a run
   can be repeated) gets IAM's real ``Throttling`` error (HTTP 400, an XML ErrorResponse, as IAM sends it) or
   a 503 ``ServiceUnavailable``; the upstream never sees those requests;
2. a responder registered for the action may answer it itself or alter the upstream's answer; by default
   ListServiceSpecificCredentials, which moto does not implement, is answered from the stand-in below;
3. otherwise it is forwarded upstream, and the answer may be dropped (the Nth forwarded request of an
   action: the request took effect, the connection is closed without a response, as when the network fails
   after AWS acted).

The upstream of IAM's Create/Update/Reset/DeleteServiceSpecificCredential, which moto does not implement, is a
stateful stand-in in the proxy itself (``service_credentials``, one per proxy; tests/iam_service_credentials.py
has its rules): those requests count as forwarded, may be dropped, and are answered with IAM's XML. It asks the
upstream for the request's user (GetUser, with the request's own credentials, not counted), so credentials
belong to a user ID and an upstream reset leaves none behind.

Every answer may be delayed. Every exchange is kept (``exchanges()``; ``issued_secrets()`` finds the secrets
AWS handed out); ``wait_for_mutating(n)`` and ``add_hook()`` let a test act once n changes took effect (kill
the client, for instance). The integration tests use it as the ``aws_proxy`` fixture
(tests/integration/conftest.py), the benchmark (benchmarks/bench.py) as a plain counter. Its own endpoints:
``GET /_proxy/counts`` (JSON ``{"Action": n}``) and ``POST /_proxy/reset``. Standalone::

    python tests/aws_proxy.py --upstream http://127.0.0.1:5000 [--port 8080] [--throttle 0.3 --seed 1]
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import dataclasses
import datetime
import http.client
import http.server
import json
import random
import re
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from xml.sax.saxutils import escape

try:
    from tests.iam_service_credentials import OPERATIONS, ApiError, ServiceCredentialStore, User
except ModuleNotFoundError:  # run as a script (python tests/aws_proxy.py): tests/ is on the path
    from iam_service_credentials import OPERATIONS, ApiError, ServiceCredentialStore, User  # type: ignore[no-redef]

IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
# The query-protocol API versions, to tell IAM from STS when a request is not signed.
NAMESPACES_BY_VERSION = {"2010-05-08": IAM_NAMESPACE, "2011-06-15": STS_NAMESPACE}
NAMESPACES_BY_SERVICE = {"iam": IAM_NAMESPACE, "sts": STS_NAMESPACE}
# Headers that describe one hop, not the message (RFC 9110 section 7.6.1): never passed on.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)
OWN_PREFIX = "/_proxy/"
# Actions that only read; everything else may change state ("mutating").
READ_PREFIXES = ("Get", "List", "Describe")
# The signing scope of SigV4: Credential=<key>/<date>/<region>/<service>/aws4_request.
_SCOPE_RE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([^/,]+)/aws4_request")

THROTTLED = "throttled"
UNAVAILABLE = "unavailable"
DROPPED = "dropped"
ANSWERED = "answered"
FORWARDED = "forwarded"


def is_mutating(action: str | None) -> bool:
    """Whether an AWS action may change state (anything but Get* and List*)."""
    return action is not None and not action.startswith(READ_PREFIXES)


@dataclasses.dataclass(frozen=True)
class Call:
    """One request as the proxy received it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    action: str | None
    params: Mapping[str, str]

    @property
    def service(self) -> str | None:
        """The AWS service the request is signed for (``iam``, ``sts``), else None."""
        authorization = self.headers.get("Authorization", self.headers.get("authorization", ""))
        match = _SCOPE_RE.search(authorization)
        return match.group(1) if match else None

    @property
    def namespace(self) -> str:
        """The XML namespace of the service's query-protocol answers (IAM's when unknown)."""
        service = self.service
        if service in NAMESPACES_BY_SERVICE:
            return NAMESPACES_BY_SERVICE[service]
        return NAMESPACES_BY_VERSION.get(self.params.get("Version", ""), IAM_NAMESPACE)


@dataclasses.dataclass(frozen=True)
class Reply:
    """An HTTP answer; ``drop=True`` closes the connection without answering (a lost response)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = dataclasses.field(default_factory=lambda: {"Content-Type": "text/xml"})
    drop: bool = False


DROP = Reply(status=0, drop=True)
# A responder gets the call and a function that forwards it upstream when called: it may
# answer alone, forward and pass the answer on, alter it, or forward and then drop it (DROP).
Forward = Callable[[], Reply]
Responder = Callable[[Call, Forward], Reply]


@dataclasses.dataclass(frozen=True)
class Exchange:
    """One request and what became of it.

    ``outcome`` is FORWARDED (the upstream answered, the client heard it), ANSWERED (a responder answered
    without the upstream), THROTTLED or UNAVAILABLE (a fault answered; the upstream never saw it) or DROPPED
    (forwarded, the upstream answered, the client never heard). ``reply`` is what the upstream or the
    responder answered, also for a dropped response.
    """

    sequence: int
    call: Call
    reply: Reply
    outcome: str

    @property
    def action(self) -> str | None:
        """The request's AWS action."""
        return self.call.action

    @property
    def took_effect(self) -> bool:
        """Whether the upstream acted on the request (forwarded, whether or not the client heard)."""
        return self.outcome in (FORWARDED, DROPPED)


Hook = Callable[[Exchange], None]


@dataclasses.dataclass(frozen=True)
class Stats:
    """Totals since the last reset (``seen`` - ``forwarded`` is what faults answered instead of the upstream)."""

    seen: int
    forwarded: int
    throttled: int
    unavailable: int
    dropped: int
    delayed: int

    @property
    def faults(self) -> int:
        """Requests a fault answered, plus responses dropped."""
        return self.throttled + self.unavailable + self.dropped


@dataclasses.dataclass
class _Faults:
    """The faults to inject; rates are fractions of the requests whose action ``applies_to``."""

    throttle: float = 0.0
    unavailable: float = 0.0
    delay: float = 0.0
    actions: frozenset[str] | None = None
    draws: random.Random = dataclasses.field(default_factory=lambda: random.Random(0))  # noqa: S311 - not crypto
    # action -> the ordinal numbers (1-based, among the action's forwarded requests) whose response is lost
    drops: dict[str, set[int]] = dataclasses.field(default_factory=dict)

    def applies_to(self, action: str) -> bool:
        return self.actions is None or action in self.actions


def parse_call(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Call:
    """Work out the AWS action and parameters of a request (None for a non-AWS request such as /moto-api/)."""
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query, keep_blank_values=True))
    content_type = headers.get("Content-Type", headers.get("content-type", ""))
    if content_type.startswith("application/x-www-form-urlencoded"):
        params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    action = params.get("Action")
    target = headers.get("X-Amz-Target", headers.get("x-amz-target"))
    if action is None and target:
        action = target.rsplit(".", 1)[-1]
    return Call(method=method, path=path, headers=headers, body=body, action=action, params=params)


def iam_reply(action: str, result: str | None = "") -> Reply:
    """A successful IAM query-protocol answer to ``action`` whose result element holds ``result`` (XML).

    ``result=None`` leaves the result element out, as IAM does for actions that answer nothing.
    """
    body = (
        f'<{action}Response xmlns="{IAM_NAMESPACE}">'
        + (f"<{action}Result>{result}</{action}Result>" if result is not None else "")
        + f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
    return Reply(status=200, body=body.encode())


def query_xml(name: str, value: object) -> str:
    """``value`` (a botocore-shaped answer: dicts, lists, strings, numbers, booleans, datetimes) as the query
    protocol's XML element ``name``: list items are ``member`` elements, timestamps ISO 8601 in UTC."""
    if isinstance(value, dict):
        inner = "".join(query_xml(key, item) for key, item in value.items())
    elif isinstance(value, list):
        inner = "".join(query_xml("member", item) for item in value)
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    elif isinstance(value, datetime.datetime):
        inner = value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        inner = escape(str(value))
    return f"<{name}>{inner}</{name}>"


def iam_error(code: str, message: str, status: int = 400, sender: bool = True, namespace: str = IAM_NAMESPACE) -> Reply:
    """An IAM (or STS) query-protocol error answer, as the service sends it and botocore parses it."""
    request_id = str(uuid.uuid4())
    body = (
        f'<ErrorResponse xmlns="{namespace}">\n'
        f"  <Error>\n    <Type>{'Sender' if sender else 'Receiver'}</Type>\n"
        f"    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n"
        f"  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
    )
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    return Reply(status=status, body=body.encode(), headers=headers)


def throttling(call: Call) -> Reply:
    """IAM's answer when an account exceeds its request rate: HTTP 400, Code Throttling, "Rate exceeded"."""
    return iam_error("Throttling", "Rate exceeded", namespace=call.namespace)


def service_unavailable(call: Call) -> Reply:
    """A 503 answer, which botocore's retry modes treat as transient."""
    return iam_error(
        "ServiceUnavailable", "Service is unable to handle request.", 503, sender=False, namespace=call.namespace
    )


# The service-specific credential actions the proxy's stand-in is the upstream of (moto answers HTTP 500).
STAND_IN_ACTIONS = frozenset(OPERATIONS) - {"ListServiceSpecificCredentials"}


class CountingProxy:
    """A threaded HTTP proxy on 127.0.0.1 that counts AWS calls by action, forwards them to ``upstream``
    and injects the faults it is told to (none by default)."""

    def __init__(
        self,
        upstream: str,
        *,
        port: int = 0,
        responders: Mapping[str, Responder] | None = None,
        timeout: float = 60.0,
    ) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.timeout = timeout
        # moto lacks IAM's service-specific credentials: this proxy keeps them (see the module's docstring).
        self.service_credentials = ServiceCredentialStore(lambda name: None)
        defaults = {"ListServiceSpecificCredentials": self._list_service_credentials}
        self._default_responders: dict[str, Responder] = dict(defaults if responders is None else responders)
        self.responders: dict[str, Responder] = dict(self._default_responders)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._counts: collections.Counter[str] = collections.Counter()
        self._forwarded: collections.Counter[str] = collections.Counter()
        self._outcomes: collections.Counter[str] = collections.Counter()
        self._delayed = 0
        self._exchanges: list[Exchange] = []
        self._faults = _Faults()
        self._hooks: list[Hook] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The URL clients use instead of the upstream's."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CountingProxy:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="counting-proxy", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the counts and the exchanges; no faults, delays, drops or hooks; the default responders.

        The stand-in's credentials stay, as the upstream's state does: they belong to user IDs, so an upstream reset
        leaves none behind.
        """
        with self._lock:
            self._counts.clear()
            self._forwarded.clear()
            self._outcomes.clear()
            self._delayed = 0
            self._exchanges.clear()
            self._faults = _Faults()
            self._hooks.clear()
            self.responders = dict(self._default_responders)
            self._changed.notify_all()

    # -- faults ----------------------------------------------------------------------------------------

    def inject(
        self,
        *,
        throttle: float = 0.0,
        unavailable: float = 0.0,
        seed: int = 0,
        actions: Iterable[str] | None = None,
    ) -> None:
        """Answer a fraction of the requests with Throttling (``throttle``) or a 503 (``unavailable``).

        Drawn from a random generator seeded with ``seed``; ``actions`` limits the faults to those actions.
        """
        if not 0 <= throttle + unavailable <= 1 or min(throttle, unavailable) < 0:
            raise ValueError("throttle and unavailable are fractions that add up to at most 1")
        with self._lock:
            self._faults.throttle, self._faults.unavailable = throttle, unavailable
            self._faults.draws = random.Random(seed)  # noqa: S311 - reproducible faults, not cryptography
            self._faults.actions = None if actions is None else frozenset(actions)

    def delay(self, seconds: float) -> None:
        """Hold every answer (faults and forwarded ones) ``seconds`` before sending it."""
        with self._lock:
            self._faults.delay = seconds

    def drop_response(self, action: str, nth: int = 1) -> None:
        """Forward the ``nth`` request of ``action`` that reaches the upstream, then close without answering.

        Counted from 1 among the action's forwarded requests since the last reset (throttled ones do not
        count, since they never took effect); call again to drop more than one.
        """
        if nth < 1:
            raise ValueError("nth counts from 1")
        with self._lock:
            self._faults.drops.setdefault(action, set()).add(nth)

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(exchange)`` for every AWS request, in the proxy's thread, before the client hears.

        For a forwarded request the upstream has already acted; a hook may block, or kill the client.
        """
        with self._lock:
            self._hooks.append(hook)

    # -- what was seen ---------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Requests per action received since the start or the last reset (faults and stand-ins included)."""
        with self._lock:
            return dict(self._counts)

    def forwarded_counts(self) -> dict[str, int]:
        """Requests per action that reached the upstream (dropped responses included)."""
        with self._lock:
            return dict(self._forwarded)

    def mutating_counts(self) -> dict[str, int]:
        """Mutating requests per action that reached the upstream: the changes actually made."""
        return {action: count for action, count in self.forwarded_counts().items() if is_mutating(action)}

    def mutating(self) -> int:
        """How many mutating requests reached the upstream."""
        return sum(self.mutating_counts().values())

    def stats(self) -> Stats:
        """Totals since the last reset."""
        with self._lock:
            return Stats(
                seen=sum(self._counts.values()),
                forwarded=sum(self._forwarded.values()),
                throttled=self._outcomes[THROTTLED],
                unavailable=self._outcomes[UNAVAILABLE],
                dropped=self._outcomes[DROPPED],
                delayed=self._delayed,
            )

    def exchanges(self, action: str | None = None) -> list[Exchange]:
        """Every AWS request since the last reset, in arrival order (only ``action``'s when given)."""
        with self._lock:
            return [exchange for exchange in self._exchanges if action is None or exchange.action == action]

    def wait_for_mutating(self, count: int, timeout: float) -> bool:
        """Block until ``count`` mutating requests have reached the upstream and it has answered them.

        True when they have; False after ``timeout`` seconds. The client may not have heard the last answer
        yet (use add_hook to act before it does).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._mutating_locked() < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _mutating_locked(self) -> int:
        return sum(count for action, count in self._forwarded.items() if is_mutating(action))

    # -- serving ---------------------------------------------------------------------------------------

    def handle(self, call: Call) -> Reply:
        """Count the call, then inject a fault, let its action's responder answer it, or forward it."""
        if call.action is None:
            return self._forwarder(call)()
        with self._lock:
            self._counts[call.action] += 1
            faults = self._faults
            fault = None
            if faults.applies_to(call.action) and (faults.throttle or faults.unavailable):
                draw = faults.draws.random()
                if draw < faults.throttle:
                    fault = THROTTLED
                elif draw < faults.throttle + faults.unavailable:
                    fault = UNAVAILABLE
            responder = self.responders.get(call.action)
        if fault is not None:
            reply = throttling(call) if fault == THROTTLED else service_unavailable(call)
            return self._finish(call, reply, fault)
        forwarded = False
        forward = self._forwarder(call)

        def counted_forward() -> Reply:
            nonlocal forwarded
            reply = forward()
            forwarded = True
            with self._lock:
                self._forwarded[call.action or ""] += 1
                nth = self._forwarded[call.action or ""]
                lost = nth in self._faults.drops.get(call.action or "", ())
            return dataclasses.replace(reply, drop=True) if lost else reply

        reply = responder(call, counted_forward) if responder else counted_forward()
        outcome = DROPPED if reply.drop else (FORWARDED if forwarded else ANSWERED)
        return self._finish(call, reply, outcome)

    def _finish(self, call: Call, reply: Reply, outcome: str) -> Reply:
        """Record the exchange, run the hooks, wake the waiters, then hold the answer for the delay."""
        with self._lock:
            exchange = Exchange(sequence=len(self._exchanges) + 1, call=call, reply=reply, outcome=outcome)
            self._exchanges.append(exchange)
            self._outcomes[outcome] += 1
            hooks = list(self._hooks)
            delay = self._faults.delay
            if delay:
                self._delayed += 1
            self._changed.notify_all()
        for hook in hooks:
            hook(exchange)
        if delay:
            time.sleep(delay)
        return reply

    def _forwarder(self, call: Call) -> Forward:
        if call.action in STAND_IN_ACTIONS:
            return lambda: self._stand_in(call)
        return self._upstream(call)

    def _upstream(self, call: Call) -> Forward:
        def forward() -> Reply:
            connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=self.timeout)
            try:
                headers = {name: value for name, value in call.headers.items() if name.lower() not in HOP_BY_HOP}
                connection.request(call.method, call.path, body=call.body or None, headers=headers)
                response = connection.getresponse()
                body = response.read()
                kept = {name: value for name, value in response.getheaders() if name.lower() not in HOP_BY_HOP}
                return Reply(status=response.status, body=body, headers=kept)
            finally:
                connection.close()

        return forward

    # -- the service-specific credentials stand-in ---------------------------------------------------

    def _list_service_credentials(self, call: Call, forward: Forward) -> Reply:
        """The default responder of ListServiceSpecificCredentials: the stand-in answers, moto never sees it."""
        del forward
        return self._stand_in(call)

    def _stand_in(self, call: Call) -> Reply:
        """Answer one of the service-specific credential actions from ``service_credentials``, as IAM would."""
        action = call.action or ""
        try:
            answer = self.service_credentials.answer(
                action, call.params, lookup_user=lambda name: self._upstream_user(call, name)
            )
        except ApiError as error:
            return iam_error(error.code, error.message, error.status, namespace=call.namespace)
        result = "".join(query_xml(name, value) for name, value in answer.items())
        return iam_reply(action, result if answer else None)

    def _upstream_user(self, call: Call, name: str) -> User | None:
        """GetUser upstream, signed as ``call`` was (moto tells accounts apart by the access key), not counted."""
        body = urllib.parse.urlencode({"Action": "GetUser", "Version": "2010-05-08", "UserName": name}).encode()
        skipped = HOP_BY_HOP | {"content-type", "x-amz-target"}
        headers = {key: value for key, value in call.headers.items() if key.lower() not in skipped}
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        params = {"Action": "GetUser", "Version": "2010-05-08", "UserName": name}
        reply = self._upstream(Call("POST", "/", headers, body, "GetUser", params))()
        if reply.status == 200:
            user_id, arn = _find_text(reply.body, "UserId"), _find_text(reply.body, "Arn") or ""
            if user_id and arn.count(":") >= 5:
                return User(name=name, user_id=user_id, account=arn.split(":")[4])
        if reply.status == 404 or _find_text(reply.body, "Code") == "NoSuchEntity":
            return None
        raise ApiError("ServiceFailure", f"the stand-in could not look up user {name} (HTTP {reply.status})", 500)

    def _own(self, method: str, path: str) -> Reply:
        """The proxy's own endpoints."""
        if path == f"{OWN_PREFIX}counts" and method == "GET":
            body = json.dumps(self.counts(), sort_keys=True).encode()
            return Reply(status=200, body=body, headers={"Content-Type": "application/json"})
        if path == f"{OWN_PREFIX}reset" and method == "POST":
            self.reset()
            return Reply(status=204, headers={})
        return Reply(status=404, body=b"unknown proxy endpoint\n", headers={"Content-Type": "text/plain"})

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # HTTP/1.1 keeps botocore's connections open, as AWS does.
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith(OWN_PREFIX):
                    reply = proxy._own(self.command, path)
                else:
                    headers = dict(self.headers.items())
                    try:
                        reply = proxy.handle(parse_call(self.command, self.path, headers, body))
                    except OSError as error:
                        reply = Reply(status=502, body=f"upstream failed: {error}\n".encode(), headers={})
                if reply.drop:
                    # A lost response: the connection closes with nothing sent back.
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: a benchmark's output is its figures, a test's its assertions."""

        return Handler


# -- the secrets AWS issued, as the proxy saw them ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IssuedSecret:
    """A secret that crossed the proxy: ``kind`` is access_key, mfa_seed, password or service_credential.

    ``ident`` names the credential (access key ID, MFA serial number, user name, service-specific credential ID:
    a reset issues a new secret under the same ID); ``forms`` are the strings
    it may be written as (the seed decoded and as the base64 of the XML answer); ``heard`` is False when
    the client never received it (a dropped response).
    """

    kind: str
    user_name: str | None
    ident: str
    value: str
    forms: tuple[str, ...]
    heard: bool


def _find_text(body: bytes, name: str) -> str | None:
    """The text of the first element called ``name`` (any namespace) in an XML answer."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - the answer of our own moto_server, on loopback
    except ET.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == name:
            return element.text
    return None


def issued_secrets(exchanges: Iterable[Exchange]) -> list[IssuedSecret]:
    """Every secret AWS issued or accepted through the proxy, once each, in order: access key secrets, virtual
    MFA seeds and service-specific credentials' passwords or API key secrets (created or reset) from the answers,
    console passwords from the CreateLoginProfile/UpdateLoginProfile requests (a password sent again is the same
    secret)."""
    found: list[IssuedSecret] = []
    for exchange in exchanges:
        if not exchange.took_effect or exchange.reply.status != 200:
            continue
        call, body, heard = exchange.call, exchange.reply.body, exchange.outcome != DROPPED
        if call.action == "CreateAccessKey":
            secret, key_id = _find_text(body, "SecretAccessKey"), _find_text(body, "AccessKeyId")
            if secret and key_id:
                user = _find_text(body, "UserName") or call.params.get("UserName")
                found.append(IssuedSecret("access_key", user, key_id, secret, (secret,), heard))
        elif call.action == "CreateVirtualMFADevice":
            encoded, serial = _find_text(body, "Base32StringSeed"), _find_text(body, "SerialNumber")
            if encoded and serial:
                try:
                    seed = base64.b64decode(encoded, validate=True).decode("ascii")
                except ValueError:
                    seed = encoded
                found.append(IssuedSecret("mfa_seed", None, serial, seed, tuple({seed, encoded}), heard))
        elif call.action in ("CreateServiceSpecificCredential", "ResetServiceSpecificCredential"):
            secret = _find_text(body, "ServicePassword") or _find_text(body, "ServiceCredentialSecret")
            ident = _find_text(body, "ServiceSpecificCredentialId")
            if secret and ident:
                user = _find_text(body, "UserName") or call.params.get("UserName")
                found.append(IssuedSecret("service_credential", user, ident, secret, (secret,), heard))
        elif call.action in ("CreateLoginProfile", "UpdateLoginProfile") and call.params.get("Password"):
            password, user = call.params["Password"], call.params.get("UserName", "")
            found.append(IssuedSecret("password", user, user, password, (password,), heard))
    unique: dict[tuple[str, str], IssuedSecret] = {}
    for secret in found:
        known = unique.setdefault((secret.kind, secret.value), secret)
        if secret.heard and not known.heard:
            unique[(secret.kind, secret.value)] = dataclasses.replace(known, heard=True)
    return list(unique.values())


def main() -> None:
    """Run the proxy in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="the server to forward to, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--throttle", type=float, default=0.0, help="fraction of requests answered Throttling")
    parser.add_argument("--unavailable", type=float, default=0.0, help="fraction of requests answered 503")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every answer is held")
    args = parser.parse_args()
    proxy = CountingProxy(args.upstream, port=args.port)
    proxy.inject(throttle=args.throttle, unavailable=args.unavailable, seed=args.seed)
    proxy.delay(args.delay)
    print(proxy.endpoint, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        proxy.serve_forever()


if __name__ == "__main__":
    main()
