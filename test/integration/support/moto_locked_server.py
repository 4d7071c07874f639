"""Moto server for the integration tests, with every request serialised by one global lock.

Why: moto's own server (``moto_server``) handles requests on several threads and does not apply
DynamoDB conditional writes atomically across them (measured: 3 double-writes in 150 trials of 10
racing writers). The incident handler's "exactly one open JIRA issue per alarm" guarantee rests on a
DynamoDB conditional write, so the emulator must give the same atomicity as DynamoDB does. We build
the same WSGI app as ``moto.server.main()`` and wrap it in a middleware that holds a
``threading.Lock`` for the whole request (including reading the response body).

Usage: python3 moto_locked_server.py [--host 127.0.0.1] [--port 0] [--no-lock]
Prints ``MOTO_READY port=<port>`` on stdout once the socket listens (port 0 = pick a free port, so
there is no race between choosing a port and binding it). Exits when stdin closes (the parent test
process died) or on SIGTERM/SIGINT. Exit code 3 with ``MOTO_MISSING: ...`` when moto is not
installed.
"""

import argparse
import os
import signal
import sys
import logging
import threading
import time

try:
    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
except ImportError as err:  # pragma: no cover - depends on the machine
    print(f"MOTO_MISSING: {err!r} (python: {sys.executable}). Install with: pip install \"moto[server]\"", flush=True)
    sys.exit(3)


class GlobalLockMiddleware:
    """Runs one request at a time through the wrapped WSGI app."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


def patch_sqs_receive() -> None:
    """Two costs make moto 5's ReceiveMessage slow on a long queue, all of it under the global lock: it checks
    each received message's retention by computing every queue attribute (approximate counts over all
    messages), and it asks each message for its visibility through a datetime-based clock. On a queue of
    2,000 messages one receive took about 3.5 s on a small CI machine; with the same checks done cheaply,
    about 4 ms, which keeps the storm load test (test/integration/alarm-storm.test.ts) in seconds. Behaviour
    is unchanged: the same retention rule and the same wall clock (nothing here freezes time)."""
    try:
        import moto.sqs.models as sqs_models
        from moto.core.utils import unix_time
    except ImportError:  # pragma: no cover - another moto layout: keep its own (slow, correct) code
        return
    backend = getattr(sqs_models, "SQSBackend", None)
    if backend is None or not hasattr(backend, "is_message_valid_based_on_retention_period"):
        return

    def is_valid(self, queue_name, message):  # type: ignore[no-untyped-def]
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    backend.is_message_valid_based_on_retention_period = is_valid
    original_millis = getattr(sqs_models, "unix_time_millis", None)
    if original_millis is not None:
        sqs_models.unix_time_millis = lambda dt=None: time.time() * 1000.0 if dt is None else original_millis(dt)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-lock", action="store_true", help="diagnostics only: serve without the lock")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    patch_sqs_receive()

    # Same construction as moto.server.main().
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # type: ignore[attr-defined]

    # make_server + serve_forever is what werkzeug's run_simple(threaded=True) does without the
    # reloader; calling it directly lets us print the ready line after the socket is bound.
    server = make_server(
        args.host, args.port, app if args.no_lock else GlobalLockMiddleware(app), threaded=True
    )
    os.environ["MOTO_PORT"] = str(server.port)

    def shutdown(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    def watch_stdin():
        # The parent keeps our stdin open; EOF means it exited (even if it could not kill us).
        try:
            while sys.stdin.read(1024):
                pass
        except Exception:
            pass
        shutdown()

    threading.Thread(target=watch_stdin, daemon=True).start()

    print(f"MOTO_READY port={server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
