"""A local stand-in for an email provider, speaking Postmark's API, for tests and benchmarks.

    python -m outreach.fake_provider --port 8025 --latency 0.1

Point anymail's Postmark backend at it (ANYMAIL_POSTMARK_API_URL=http://127.0.0.1:PORT/). It
answers after `latency` seconds, can hold its answers until released (to kill a worker in the
middle of a provider call), and counts what it received: GET /stats.
"""

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from anymail.backends.test import EmailBackend as AnymailTestBackend


class EmailBackend(AnymailTestBackend):
    """anymail's in-memory test backend, giving each email an id no other process gives.

    anymail's own backend numbers emails by their place in this process's outbox ("0", "1", ...), so two
    workers hand out the same ids and a webhook would find the wrong message. The Message-ID the outbox
    sets on every email is unique; an email without one gets a random id.
    """

    def get_esp_message_id(self, message):
        return message.extra_headers.get("Message-ID") or f"<{uuid.uuid4()}@test.silverpool.local>"


class FakeProvider:
    def __init__(self, *, latency=0.0, port=0):
        self.latency = latency
        self.received = []  # (silverpool message id, to, subject)
        self.bodies = []
        self.lock = threading.Lock()
        self.hold = threading.Event()
        self.hold.set()  # set = answer at once; clear = hold answers until set
        self.arrived = threading.Condition(self.lock)
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with provider.lock:
                    body = {"received": len(provider.received),
                            "distinct": len({r[0] for r in provider.received}),
                            "messages": [r[0] for r in provider.received]}
                self._answer(200, body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with provider.lock:
                    provider.received.append((payload.get("Metadata", {}).get("silverpool_message"),
                                              payload.get("To"), payload.get("Subject")))
                    provider.bodies.append(payload.get("HtmlBody", ""))
                    provider.arrived.notify_all()
                if provider.latency:
                    time.sleep(provider.latency)
                provider.hold.wait(timeout=600)
                self._answer(200, {"To": payload.get("To"), "SubmittedAt": "2026-11-24T10:00:00Z",
                                   "MessageID": str(uuid.uuid4()), "ErrorCode": 0, "Message": "OK"})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client died while we held the answer

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # many senders connect at once

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.arrived.wait(remaining)
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--seconds", type=float, default=3600, help="stop by itself after this long")
    args = parser.parse_args()
    provider = FakeProvider(latency=args.latency, port=args.port).start()
    print(f"fake provider on {provider.url} (latency {args.latency}s)", flush=True)
    time.sleep(args.seconds)
    provider.stop()


if __name__ == "__main__":
    main()
