"""Real local services for the automation tests: an HTTP server that records webhooks, an SMTP server.

Both listen on 127.0.0.1 on a free port, record what they receive, and are
stopped at the end of the test whatever happened in it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_flows.agent.background import start_agent_process, stop_agent_process


class WebhookServer:
    """Records every POST body (JSON); answers ``status`` after ``delay`` seconds."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(server.delay)
                server.received.append({"path": self.path, "body": json.loads(body or b"null"),
                                        "content_type": self.headers.get("Content-Type")})
                try:
                    self.send_response(server.status)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except BrokenPipeError:  # the client gave up waiting (the timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook_server():
    server = WebhookServer()
    yield server
    server.stop()


class SmtpSink:
    """An aiosmtpd server on localhost; ``messages`` holds each received email (envelope and content)."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[dict] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                sink.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                      "content": envelope.content.decode("utf8", "replace")})
                return "250 Message accepted for delivery"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def fast_agent_settings(monkeypatch):
    monkeypatch.setenv("JUPYTER_FLOWS_AGENT_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("JUPYTER_FLOWS_HEARTBEAT_INTERVAL", "0.5")


@pytest.fixture
def agent(fast_agent_settings, tmp_path):
    """A ``jupyter-flows agent local start`` process, stopped (SIGINT, then SIGKILL) after the test."""
    log_path = tmp_path / "agent.log"
    with open(log_path, "wb") as out:
        process = start_agent_process(out=out)
    yield process
    stop_agent_process(process, timeout=15)
