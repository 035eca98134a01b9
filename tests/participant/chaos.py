#!/usr/bin/env python3
"""examples/participant.py as the tests run it, misbehaving on demand:

- CHAOS_TWICE=1   each reply is sent twice, the copy with a message id of its
                  own (as a confused service or a retry in its client would);
- CHAOS_DELAY=S   each reply waits S seconds first (longer than the step's
                  time-out: the saga has sent the next attempt meanwhile).

Everything else — arguments, the inbox, the effects — is the example's own.
"""

import importlib.util
import logging
import os
import pathlib
import sys
import time
import uuid

example = pathlib.Path(__file__).resolve().parents[2] / "examples" / "participant.py"
spec = importlib.util.spec_from_file_location("participant", example)
participant = importlib.util.module_from_spec(spec)
spec.loader.exec_module(participant)

twice = os.environ.get("CHAOS_TWICE") == "1"
delay = float(os.environ.get("CHAOS_DELAY", "0"))


def misbehaving(channel, exchange, routing_key, command, attempt, ok, output, reason, reply_id):
    if delay:
        time.sleep(delay)
    participant.reply(channel, exchange, routing_key, command, attempt, ok, output, reason, reply_id)
    if twice:
        participant.reply(
            channel, exchange, routing_key, command, attempt, ok, output, reason, str(uuid.uuid4())
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s",
                        stream=sys.stderr)
    logging.getLogger("pika").setLevel(logging.WARNING)
    args = participant.arguments()
    args.reply = misbehaving
    participant.serve(args)
