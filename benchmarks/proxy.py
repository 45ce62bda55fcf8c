# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A counting HTTP proxy on 127.0.0.1 in front of moto_server (or any AWS-like endpoint).

Every request is forwarded upstream and counted by its AWS action: ``Action=...`` of a query-protocol
call (IAM, STS: form body or query string) or the ``X-Amz-Target`` of a JSON-protocol call. Responders
registered per action may answer a call themselves, alter or drop the upstream answer (fault
injection); by default the proxy answers ListServiceSpecificCredentials, which moto does not implement,
with an empty list, so that amazon.aws.iam_user state=absent works against moto.

Its own endpoints: ``GET /_proxy/counts`` (JSON ``{"Action": n}``) and ``POST /_proxy/reset``.
In-process: ``CountingProxy.counts()`` and ``CountingProxy.reset()``. Standalone::

    python benchmarks/proxy.py --upstream http://127.0.0.1:5000 [--port 8080]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import http.client
import http.server
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Mapping

IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
# Headers that describe one hop, not the message (RFC 9110 section 7.6.1): never passed on.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)
OWN_PREFIX = "/_proxy/"


@dataclasses.dataclass(frozen=True)
class Call:
    """One request as the proxy received it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    action: str | None
    params: Mapping[str, str]


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


def iam_reply(action: str, result: str = "") -> Reply:
    """A successful IAM query-protocol answer to ``action`` whose result element holds ``result`` (XML)."""
    body = (
        f'<{action}Response xmlns="{IAM_NAMESPACE}">'
        f"<{action}Result>{result}</{action}Result>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
    return Reply(status=200, body=body.encode())


def iam_error(code: str, message: str, status: int = 400, sender: bool = True) -> Reply:
    """An IAM query-protocol error answer, as botocore parses it (code, message, HTTP status)."""
    body = (
        f'<ErrorResponse xmlns="{IAM_NAMESPACE}"><Error><Type>{"Sender" if sender else "Receiver"}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Reply(status=status, body=body.encode())


def no_service_specific_credentials(call: Call, forward: Forward) -> Reply:
    """Answer ListServiceSpecificCredentials (moto answers HTTP 500) with no credentials."""
    del call, forward  # never forwarded: moto cannot answer it
    return iam_reply("ListServiceSpecificCredentials", "<ServiceSpecificCredentials/><IsTruncated>false</IsTruncated>")


DEFAULT_RESPONDERS: Mapping[str, Responder] = {"ListServiceSpecificCredentials": no_service_specific_credentials}


class CountingProxy:
    """A threaded HTTP proxy on 127.0.0.1 that counts AWS calls by action and forwards them to ``upstream``."""

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
        self.responders: dict[str, Responder] = dict(DEFAULT_RESPONDERS if responders is None else responders)
        self._counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

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

    def counts(self) -> dict[str, int]:
        """Calls per action since the start or the last reset."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget the counts."""
        with self._lock:
            self._counts.clear()

    def handle(self, call: Call) -> Reply:
        """Count the call, then let its action's responder answer it, or forward it."""
        if call.action is not None:
            with self._lock:
                self._counts[call.action] += 1
        forward = self._forwarder(call)
        responder = self.responders.get(call.action or "")
        return responder(call, forward) if responder else forward()

    def _forwarder(self, call: Call) -> Forward:
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
                """Quiet: a benchmark's output is its figures."""

        return Handler


def main() -> None:
    """Run the proxy in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="the server to forward to, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    proxy = CountingProxy(args.upstream, port=args.port)
    print(proxy.endpoint, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        proxy.serve_forever()


if __name__ == "__main__":
    main()
