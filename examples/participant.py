#!/usr/bin/env python3
"""A saga participant outside outboxctl: the payments service of the
orders saga (examples/orders-saga.toml), in plain Python with pika.

It serves the `charge` step (command topic order.charge) and its
compensation (order.refund), written from the participant contract in the
README ("Sagas" → "Serving a step from another service"):

- Commands arrive on this service's own queue. outboxctl declares it when it
  is listed in [[broker.queues]] with the command topics as bindings:

      [[broker.queues]]
      name = "orders.payments"
      bindings = ["order.charge", "order.refund"]

  (or declare it yourself and set `adopt = true` on the entry).
- Every attempt of one step has the same message id, so this service keeps
  the answer it gave per message id (its inbox, here a SQLite table, in the
  transaction of the effect) and gives the same answer to every delivery of
  that id: the effect happens once, however often the command comes.
- A reply goes to the broker exchange (broker.exchange, "outbox" by default)
  with the routing key the command's `x-saga-reply-to` header names, a
  `message_id` (a UUID, one per reply), content type application/json and the
  body {saga_id, step, phase, attempt, ok, output | reason}.
- A refund may come for a charge this service declined or never saw (the
  saga timed out waiting, say): it then succeeds doing nothing.

Run it:

    pip install pika==1.3.2
    python3 examples/participant.py --queue orders.payments --db payments.sqlite

A charge over --limit (in the start payload's `amount`) is declined.
"""

import argparse
import json
import logging
import signal
import sqlite3
import uuid

import pika

log = logging.getLogger("participant")

# A reply's message id is derived from the command's and the attempt: sent
# again after a crash, it is the same message, and the orchestrator's inbox
# takes it once.
REPLY_NAMESPACE = uuid.UUID("6f1c8a52-3c4e-4f0e-9a59-0c7d1f3b2e10")


def header(props, name):
    value = (props.headers or {}).get(name)
    return value.decode() if isinstance(value, bytes) else value


class Payments:
    def __init__(self, db_path, limit):
        self.db = sqlite3.connect(db_path, isolation_level=None)
        self.db.executescript(
            """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS answers (
                message_id TEXT PRIMARY KEY, ok INTEGER NOT NULL, output TEXT, reason TEXT);
            CREATE TABLE IF NOT EXISTS charges (
                id INTEGER PRIMARY KEY AUTOINCREMENT, saga_id TEXT NOT NULL, amount INTEGER);
            CREATE TABLE IF NOT EXISTS refunds (
                id INTEGER PRIMARY KEY AUTOINCREMENT, saga_id TEXT NOT NULL, charge_id INTEGER);
            """
        )
        self.limit = limit

    def answer(self, message_id, command):
        """The answer to a command: the one given before for this message id,
        or the effect done now and its answer kept, in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT ok, output, reason FROM answers WHERE message_id = ?", (message_id,)
            ).fetchone()
            if row is not None:
                self.db.execute("COMMIT")
                ok, output, reason = row
                return bool(ok), json.loads(output) if output else None, reason
            if command["phase"] == "step":
                ok, output, reason = self.charge(command)
            else:
                ok, output, reason = self.refund(command)
            self.db.execute(
                "INSERT INTO answers (message_id, ok, output, reason) VALUES (?, ?, ?, ?)",
                (message_id, int(ok), json.dumps(output) if output is not None else None, reason),
            )
            self.db.execute("COMMIT")
            return ok, output, reason
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def charge(self, command):
        amount = int(command["input"].get("amount", 0))
        if amount > self.limit:
            return False, None, f"declined: {amount} is over the limit of {self.limit}"
        cur = self.db.execute(
            "INSERT INTO charges (saga_id, amount) VALUES (?, ?)", (command["saga_id"], amount)
        )
        return True, {"payment_id": f"pay-{cur.lastrowid}"}, None

    def refund(self, command):
        # A refund for a charge declined or never made succeeds as a no-op.
        row = self.db.execute(
            "SELECT id FROM charges WHERE saga_id = ?", (command["saga_id"],)
        ).fetchone()
        self.db.execute(
            "INSERT INTO refunds (saga_id, charge_id) VALUES (?, ?)",
            (command["saga_id"], row[0] if row else None),
        )
        return True, {"refunded": row is not None}, None


def reply(channel, exchange, routing_key, command, attempt, ok, output, reason, reply_id):
    body = {
        "saga_id": command["saga_id"],
        "step": command["step"],
        "phase": command["phase"],
        "attempt": attempt,
        "ok": ok,
    }
    if ok:
        body["output"] = output
    else:
        body["reason"] = reason
    # With publisher confirms on, this returns once the broker has the reply
    # (an exception if it cannot take it): only then is the command acked.
    channel.basic_publish(
        exchange=exchange,
        routing_key=routing_key,
        body=json.dumps(body).encode(),
        properties=pika.BasicProperties(
            message_id=reply_id,
            content_type="application/json",
            delivery_mode=2,
        ),
        mandatory=True,
    )


def serve(args):
    payments = Payments(args.db, args.limit)
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=args.prefetch)

    def on_command(ch, method, props, body):
        reply_to = header(props, "x-saga-reply-to")
        try:
            command = json.loads(body)
            fields = (command["saga_id"], command["step"], command["phase"])
        except (ValueError, KeyError, TypeError):
            command = None
        if command is None or not reply_to or not props.message_id:
            # Not a saga command: to its dead-letter queue, where `outboxctl
            # dlq show` can see it.
            log.warning("not a saga command (message id %s); rejecting it", props.message_id)
            ch.basic_nack(method.delivery_tag, requeue=False)
            return
        attempt = int(command.get("attempt", 0))
        ok, output, reason = payments.answer(props.message_id, command)
        reply_id = str(uuid.uuid5(REPLY_NAMESPACE, f"{props.message_id}/{attempt}"))
        log.info("%s %s attempt %s of saga %s: %s", fields[2], fields[1], attempt, fields[0],
                 "ok" if ok else reason)
        args.reply(ch, args.exchange, reply_to, command, attempt, ok, output, reason, reply_id)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(args.queue, on_command)
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())
    log.info("serving %s", args.queue)
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        channel.stop_consuming()
    connection.close()


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/%2f",
                   help="RabbitMQ URL (default: %(default)s)")
    p.add_argument("--queue", required=True, help="the queue its commands arrive on")
    p.add_argument("--exchange", default="outbox", help="broker.exchange (default: %(default)s)")
    p.add_argument("--db", default="payments.sqlite", help="SQLite file: charges and answers")
    p.add_argument("--limit", type=int, default=1000, help="decline charges over this amount")
    p.add_argument("--prefetch", type=int, default=10)
    args = p.parse_args(argv)
    args.reply = reply
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    serve(arguments())
