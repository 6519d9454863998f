"""Bad arguments get clear exceptions, never a crash: TypeError for a wrong
type, InvalidArgumentError (a ValueError, code "invalid_argument") for a value
the engine refuses."""

from __future__ import annotations

import math

import pytest

import ferry


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.put(1, "k", {}),
        lambda c: c.put("notes", None, {}),
        lambda c: c.put("notes", "k", {1, 2}),  # a set is not JSON
        lambda c: c.put("notes", "k", object()),
        lambda c: c.get(b"notes", "k"),
        lambda c: c.scan("notes", 5),
        lambda c: c.scan("notes", "", "10"),
        lambda c: c.scan("notes", "", True),
        lambda c: c.history("all"),
        lambda c: c.write("not a list"),
        lambda c: c.write({"op": "put"}),
        lambda c: c.write([42]),
        lambda c: c.write([{"op": "upsert", "collection": "c", "key": "k", "value": 1}]),
        lambda c: c.write([{"op": "put", "collection": "c", "key": "k"}]),
        lambda c: c.set_online("yes"),
        lambda c: c.start_background_sync(1.5),
        lambda c: c.retry_failed_mutation("1"),
        lambda c: c.discard_failed_mutation(None),
        lambda c: c.subscribe("not callable"),
        lambda c: c.add_event_listener("status", 42),
        lambda c: c.add_event_listener(7, print),
    ],
)
def test_wrong_types_are_type_errors(open_client, call):
    client = open_client()
    with pytest.raises(TypeError):
        call(client)
    client.put("notes", "still", {"works": True})
    assert client.get("notes", "still") == {"works": True}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.put("", "k", {}),
        lambda c: c.put("notes", "", {}),
        lambda c: c.put("notes", "k", None),  # null is not a document
        lambda c: c.put("notes", "k", math.nan),
        lambda c: c.put("notes", "bad\ud800", {}),  # a lone surrogate is not UTF-8
        lambda c: c.patch("notes", "k", [1, 2]),  # a merge patch is an object
        lambda c: c.put("notes", "k\x00nul", {}),
    ],
)
def test_values_the_engine_refuses_are_invalid_argument(open_client, call):
    client = open_client()
    with pytest.raises(ferry.InvalidArgumentError) as raised:
        call(client)
    assert raised.value.code == "invalid_argument"
    assert isinstance(raised.value, ValueError)
    assert raised.value.message


def test_out_of_range_numbers_are_value_errors(open_client):
    client = open_client()
    with pytest.raises(ValueError):
        client.start_background_sync(0)
    with pytest.raises(ValueError):
        client.scan("notes", "", -1)
    with pytest.raises(ValueError):
        client.retry_failed_mutation(2**64)
    with pytest.raises(ValueError):
        client.add_event_listener("sync.finished", print)


def test_a_cycle_or_too_deep_value_is_refused(open_client):
    client = open_client()
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(ferry.InvalidArgumentError):
        client.put("notes", "cycle", cycle)
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ferry.FerryError) as raised:
        client.put("notes", "deep", deep)
    assert raised.value.code == "too_large"


def test_unknown_failed_mutation_is_not_found(open_client):
    client = open_client()
    with pytest.raises(ferry.NotFoundError) as raised:
        client.retry_failed_mutation(12345)
    assert raised.value.code == "not_found"
    assert isinstance(raised.value, LookupError)
    with pytest.raises(ferry.NotFoundError):
        client.discard_failed_mutation(12345)


def test_bad_open_options(tmp_path, server):
    with pytest.raises(TypeError):
        ferry.Client.open(42, server.endpoint)
    with pytest.raises(TypeError):
        ferry.Client.open(tmp_path / "a.db", None)
    with pytest.raises(TypeError):
        ferry.Client.open(tmp_path / "a.db", server.endpoint, auto_sync="no")
    with pytest.raises(TypeError):
        ferry.Client.open(tmp_path / "a.db", server.endpoint, get_token="token-alice")
    with pytest.raises(ValueError):
        ferry.Client.open(tmp_path / "a.db", server.endpoint, request_timeout_ms=0)
    with pytest.raises(ValueError):
        ferry.Client.open(tmp_path / "a.db", server.endpoint, store_lock_timeout_ms=-1)
    with pytest.raises(TypeError):
        ferry.Client.open(tmp_path / "a.db", server.endpoint, store_lock_timeout_ms="100")
    with pytest.raises(ferry.InvalidArgumentError):
        ferry.Client.open(tmp_path / "a.db", server.endpoint, conflicts={"default": "whoever"})
    with pytest.raises(ferry.InvalidArgumentError):
        ferry.Client.open(tmp_path / "a.db", "")
    # Nothing was left open by the refusals.
    with ferry.Client.open(tmp_path / "a.db", server.endpoint, auto_sync=False):
        pass


def test_write_debounce_left_out_is_libferrys_default():
    """The default lives once, in libferry: a write made while nothing is in
    flight syncs at once (0); an app may still ask for a wait."""
    from ferry._options import check_open_options, options_struct

    def debounce(**given):
        options = dict(auto_sync=True, live_updates=None, interval_ms=0, request_timeout_ms=30_000)
        options.update(gzip_above_bytes=1024, durable_full=False, conflicts=None, ca_bundle_path=None)
        options["store_lock_timeout_ms"] = 0
        options["local_write_debounce_ms"] = None
        options.update(given)
        checked = check_open_options("a.db", "http://127.0.0.1:1", **options)
        return options_struct(checked, None, None).local_write_debounce_ms

    assert debounce() == 0
    assert debounce(local_write_debounce_ms=30) == 30
    with pytest.raises(ValueError):
        debounce(local_write_debounce_ms=-1)
