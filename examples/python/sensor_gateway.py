#!/usr/bin/env python3
"""A sensor gateway daemon on Ferry: the job of the sync services Ferry replaces.

It reads a sensor (simulated here) every --reading-every seconds and queues
each reading in the local store, which is durable at once, whether the
network is up or not. A background sync pushes the queue every --sync-every
seconds; a reachability check (a TCP connect to the server) tells Ferry when
the network goes and comes back, and coming back syncs at once rather than at
the next interval. Every --report-every seconds it prints the pending count.

    FERRY_TOKEN=token-alice python3 sensor_gateway.py --endpoint http://127.0.0.1:8080 \\
        --store gateway.db --sensor boiler-1

The token comes from the environment, not the command line (where other users
of the machine could read it), and is never printed. SIGINT or SIGTERM stops
the daemon: it tries one last sync, closes the store and exits; readings not
yet delivered stay queued for the next start.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import socket
import threading
import time
from urllib.parse import urlsplit

import ferry


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="ferry-server's base URL")
    parser.add_argument("--store", default="gateway.db", help="the local SQLite store")
    parser.add_argument("--sensor", default="sensor-1", help="this sensor's id")
    parser.add_argument("--reading-every", type=float, default=1.0, help="seconds between readings")
    parser.add_argument("--sync-every", type=float, default=5.0, help="seconds between background syncs")
    parser.add_argument("--probe-every", type=float, default=1.0, help="seconds between reachability checks")
    parser.add_argument("--report-every", type=float, default=2.0, help="seconds between pending reports")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: run until signalled)")
    return parser.parse_args()


def say(message: str) -> None:
    # One line per message, flushed: a supervisor (or a test) reads it live.
    print(message, flush=True)


class Sensor:
    """A simulated temperature sensor: a slow wave plus noise."""

    def __init__(self, sensor_id: str) -> None:
        self.sensor_id = sensor_id
        self.count = 0

    def read(self) -> tuple[str, dict]:
        self.count += 1
        now = time.time()
        celsius = 20 + 5 * math.sin(now / 60) + random.uniform(-0.2, 0.2)
        # Keys sort by time, and the count keeps two readings in one millisecond apart.
        key = f"{self.sensor_id}-{int(now * 1000):013d}-{self.count:06d}"
        return key, {"sensor": self.sensor_id, "celsius": round(celsius, 2), "at": int(now * 1000)}


class Reachability:
    """Is the server reachable? A TCP connect to its host and port."""

    def __init__(self, endpoint: str) -> None:
        address = urlsplit(endpoint)
        self.host = address.hostname or "127.0.0.1"
        self.port = address.port or (443 if address.scheme == "https" else 80)

    def check(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                return True
        except OSError:
            return False


def report_events(client: ferry.Client) -> None:
    """Prints each sync's outcome (listeners run on Ferry's owner thread)."""
    client.add_event_listener(
        "sync.completed", lambda run: say(f"synced: pushed {run.pushed}, pulled {run.pulled} ({run.reason})")
    )
    client.add_event_listener("sync.failed", lambda run: say(f"sync failed ({run.reason}): {run.error}"))
    client.add_event_listener(
        "mutation.rejected", lambda rejected: say(f"rejected by the server: {rejected.mutation.key}: {rejected.error}")
    )


def run(arguments: argparse.Namespace, stop: threading.Event) -> None:
    token = os.environ.get("FERRY_TOKEN")
    sensor = Sensor(arguments.sensor)
    reachability = Reachability(arguments.endpoint)
    with ferry.Client.open(
        arguments.store,
        arguments.endpoint,
        get_token=lambda refresh: token,
        auto_sync=False,  # batches go out on the interval, not after every reading
        live_updates=False,  # a gateway only sends
    ) as client:
        report_events(client)
        online = reachability.check()
        client.set_online(online)
        say(f"gateway {arguments.sensor} started, client {client.client_id}, {'online' if online else 'offline'}")
        client.start_background_sync(max(1, int(arguments.sync_every * 1000)))
        next_reading = next_probe = next_report = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_reading:
                client.put("readings", *sensor.read())
                next_reading += arguments.reading_every
            if now >= next_probe:
                online = follow_network(client, reachability, online)
                next_probe = now + arguments.probe_every
            if now >= next_report:
                status = client.status()
                say(f"pending {status.pending}, failed {status.failed}, state {status.state}, read {sensor.count}")
                next_report = now + arguments.report_every
            stop.wait(max(0.0, min(next_reading, next_probe, next_report) - time.monotonic()))
        shut_down(client, sensor, online)


def follow_network(client: ferry.Client, reachability: Reachability, was_online: bool) -> bool:
    """Tells Ferry when the network changes; coming back online syncs at once."""
    online = reachability.check()
    if online != was_online:
        say("network is back: syncing now" if online else "network lost: queueing readings locally")
        client.set_online(online)
    return online


def shut_down(client: ferry.Client, sensor: Sensor, online: bool) -> None:
    client.stop_background_sync()
    if online:
        run = client.sync_now()
        say(f"final sync: {run.outcome}")
    status = client.status()
    say(f"stopped: read {sensor.count}, pending {status.pending}, failed {status.failed}")


def main() -> None:
    arguments = parse_arguments()
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    if arguments.duration > 0:
        timer = threading.Timer(arguments.duration, stop.set)
        timer.daemon = True  # a signal may stop the daemon first
        timer.start()
    run(arguments, stop)


if __name__ == "__main__":
    main()
