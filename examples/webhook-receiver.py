#!/usr/bin/env python3
"""A receiver for outboxctl's `http` handler, verifying every request with the
Standard Webhooks library (pip install standardwebhooks; the tests pin it in
scripts/webhook-requirements.txt).

    WEBHOOK_SECRET=whsec_... python3 examples/webhook-receiver.py --port 8090

The handler it answers (signature = "standard-webhooks"):

    [[handlers]]
    name = "notify"
    kind = "http"
    topics = ["order.#"]
    url = "http://127.0.0.1:8090/hooks"
    signature = "standard-webhooks"
    secret = "whsec_..."        # during a rotation: ["whsec_new...", "whsec_old..."]

What a receiver must do, and this one does:

- Verify the signature over the body exactly as received, before parsing it:
  401 when it does not verify (outboxctl dead-letters the message: a wrong
  secret is a configuration to fix, not a failure to retry).
- Take each message once: `webhook-id` (also `Idempotency-Key`) is the
  outbox message id, the same on every redelivery. A message seen before is
  answered 200 again and not processed twice. (Kept in memory here; a real
  receiver records it with its effect, in one transaction.)
- Answer 2xx when done; 503 (optionally with Retry-After) to be asked again
  later; any other 4xx to have the message dead-lettered.

The row's own headers arrive as `Outbox-Header-<name>`; the topic, attempt
and partition key as `Outbox-Topic`, `Outbox-Attempt`, `Outbox-Partition-Key`.

With --log FILE each request is appended there as a JSON line (id, verified,
error, topic, attempt, forwarded headers): the tests read it.
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY = 1 << 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0: any free port")
    parser.add_argument("--log", help="append a JSON line per request to this file")
    args = parser.parse_args()
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        sys.exit("webhook-receiver: set WEBHOOK_SECRET to the handler's whsec_... secret")
    verifier = Webhook(secret)
    seen = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.answer(413, "body too large")
            body = self.rfile.read(length)
            record = {
                "id": self.headers.get("webhook-id"),
                "topic": self.headers.get("Outbox-Topic"),
                "attempt": self.headers.get("Outbox-Attempt"),
                "forwarded": {
                    k[len("Outbox-Header-"):].lower(): v
                    for k, v in self.headers.items()
                    if k.lower().startswith("outbox-header-")
                },
            }
            try:
                payload = verifier.verify(body, dict(self.headers.items()))
            except WebhookVerificationError as e:
                record.update(verified=False, error=str(e))
                self.log(record)
                return self.answer(401, f"signature does not verify: {e}")
            record.update(verified=True, error=None)
            with lock:
                first = record["id"] not in seen
                seen.add(record["id"])
            record["duplicate"] = not first
            self.log(record)
            if first:
                process(payload)
            self.answer(200, json.dumps({"received": record["id"]}))

        def answer(self, status, text):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log(self, record):
            if args.log:
                with lock, open(args.log, "a") as f:
                    f.write(json.dumps(record) + "\n")

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on {args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def process(payload):
    """The receiver's own work, once per message."""


if __name__ == "__main__":
    main()
