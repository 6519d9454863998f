"""Checks a running Ferry sync server against docs/PROTOCOL.md over HTTP.

Any server: the reference ferry-server (run_reference.py starts one) or a
third party's. Python 3's standard library only. Settings come from the
environment (README.md beside this file):

  FERRY_CONFORMANCE_URL          the endpoint, e.g. http://127.0.0.1:8080/app
  FERRY_CONFORMANCE_TOKEN        a bearer token of one user
  FERRY_CONFORMANCE_OTHER_TOKEN  a bearer token of another user
  FERRY_CONFORMANCE_MAX_BODY     the server's request body limit in bytes
                                 (default 8 MiB, ferry-server's)
  FERRY_CONFORMANCE_MAX_BATCH    the server's mutations per push (default 1000)
  FERRY_CONFORMANCE_SKIP         test names to skip, comma-separated (known,
                                 reported deviations)

Every check writes under collections and client ids new to this run, so
the suite can run again and again against one server. It reads each user's
change log from the beginning once, then on from where it last read (the
cursors it was given stay good), so a long log costs one pass.
"""

import gzip
import http.client
import json
import os
import re
import secrets
import socket
import time
import unittest
import urllib.parse

URL = os.environ.get("FERRY_CONFORMANCE_URL", "")
TOKEN = os.environ.get("FERRY_CONFORMANCE_TOKEN", "")
OTHER_TOKEN = os.environ.get("FERRY_CONFORMANCE_OTHER_TOKEN", "")
MAX_BODY = int(os.environ.get("FERRY_CONFORMANCE_MAX_BODY", str(8 << 20)))
MAX_BATCH = int(os.environ.get("FERRY_CONFORMANCE_MAX_BATCH", "1000"))
SKIP = {name.strip() for name in os.environ.get("FERRY_CONFORMANCE_SKIP", "").split(",") if name.strip()}

MAX_VALUE_BYTES = 1 << 20
MAX_VALUE_DEPTH = 32
CURSOR = re.compile(r"^[A-Za-z0-9._-]{1,256}$")
TIMEOUT = 30
HEADS = {}  # token -> the cursor at the head of that user's log, as last read


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:300])


def connect(timeout=TIMEOUT):
    parts = urllib.parse.urlsplit(URL)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)


def path(endpoint):
    return urllib.parse.urlsplit(URL).path.rstrip("/") + endpoint


def request(method, endpoint, token=None, body=None, headers=None):
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = "Bearer " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":")).encode()
    elif isinstance(body, str):
        body = body.encode()
    if body is not None and "Content-Type" not in sent:
        sent["Content-Type"] = "application/json"
    connection = connect()
    try:
        connection.request(method, path(endpoint), body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        if response.getheader("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return Answer(response.status, response, data.decode("utf-8", "replace"))
    finally:
        connection.close()


def now_ms():
    return int(time.time() * 1000)


def stamp(client, wall_ms=None, counter=0):
    return "%016d-%06x-%s" % (now_ms() if wall_ms is None else wall_ms, counter, client)


def new_id(prefix):
    return prefix + "-" + secrets.token_hex(6)


def mutation(client, seq, key, op="put", value=None, base=0, collection="docs", hlc=None):
    m = {"seq": seq, "collection": collection, "key": key, "op": op, "baseVersion": base,
         "hlc": hlc if hlc is not None else stamp(client, counter=seq % 0xFFFFFF)}
    if op != "delete" or value is not None:
        m["value"] = value
    return m


def push_body(client, mutations):
    return {"protocol": 1, "clientId": client, "mutations": mutations}


class ProtocolTest(unittest.TestCase):
    """Helpers over one user (TOKEN) and one run's collection."""

    def setUp(self):
        if not URL or not TOKEN:
            self.skipTest("set FERRY_CONFORMANCE_URL and FERRY_CONFORMANCE_TOKEN")
        if self._testMethodName in SKIP:
            self.skipTest("listed in FERRY_CONFORMANCE_SKIP")
        self.collection = new_id("conf")
        self.client = new_id("c")
        # Where each user's log stood before this check wrote anything.
        self.start = {token: self.head_cursor(token) for token in (TOKEN, OTHER_TOKEN) if token}

    def push(self, mutations, client=None, token=None, expect=200):
        client = client or self.client
        answer = request("POST", "/v1/push", token or TOKEN, push_body(client, mutations))
        self.assertEqual(answer.status, expect, answer)
        if expect != 200:
            return answer
        results = answer.json()["results"]
        self.assertEqual([r["seq"] for r in results], [m["seq"] for m in mutations],
                         "one result per mutation, in order, same seq")
        return results

    def put(self, seq, key, value, base=0, client=None, token=None, **extra):
        client = client or self.client
        m = mutation(client, seq, key, "put", value, base, self.collection, **extra)
        return self.push([m], client=client, token=token)[0]

    def m(self, seq, key, op="put", value=None, base=0, client=None, **extra):
        return mutation(client or self.client, seq, key, op, value, base, self.collection, **extra)

    def pull(self, cursor=None, limit=None, token=None, expect=200):
        query = {}
        if cursor is not None:
            query["cursor"] = cursor
        if limit is not None:
            query["limit"] = str(limit)
        target = "/v1/pull" + ("?" + urllib.parse.urlencode(query, safe="") if query else "")
        answer = request("GET", target, token or TOKEN)
        self.assertEqual(answer.status, expect, answer)
        return answer.json() if expect == 200 else answer

    def head_cursor(self, token=None):
        """The cursor at the head of the user's change log (pulled to it)."""
        token = token or TOKEN
        cursor = HEADS.get(token)
        for _ in range(100000):
            page = self.pull(cursor, token=token)
            self.assertRegex(page["cursor"], CURSOR)
            cursor = page["cursor"]
            if not page["hasMore"]:
                HEADS[token] = cursor
                return cursor
        self.fail("the change log never ended")

    def pull_all(self, cursor, token=None, limit=None):
        """Every change after `cursor`, in order, and the last cursor."""
        changes = []
        for _ in range(100000):
            page = self.pull(cursor, limit=limit, token=token)
            changes += page["changes"]
            cursor = page["cursor"]
            if not page["hasMore"]:
                return changes, cursor
        self.fail("the change log never ended")

    def mine(self, changes):
        return [c for c in changes if c["collection"] == self.collection]

    def document(self, key, token=None):
        """The document as a pull shows it (None if not written by this check)."""
        changes, _ = self.pull_all(self.start[token or TOKEN], token=token)
        found = [c for c in self.mine(changes) if c["key"] == key]
        self.assertLessEqual(len(found), 1, "a document appears at most once in a pull")
        return found[0] if found else None

    def assertError(self, answer, status, code=None):
        self.assertEqual(answer.status, status, answer)
        error = answer.json().get("error")
        self.assertIsInstance(error, dict, answer)
        self.assertIsInstance(error.get("message"), str, answer)
        if code is not None:
            self.assertEqual(error.get("code"), code, answer)

    def assertApplied(self, result, previous=None):
        self.assertEqual(result["status"], "applied", result)
        self.assertIsInstance(result["version"], int)
        self.assertIsInstance(result["previousVersion"], int)
        self.assertGreater(result["version"], result["previousVersion"])
        if previous is not None:
            self.assertEqual(result["previousVersion"], previous, result)

    def assertRejected(self, result, why=None):
        self.assertEqual(result["status"], "rejected", result)
        self.assertIsInstance(result["error"], str)
        self.assertTrue(result["error"], "a rejection says why")
        self.assertNotIn("version", result)

    def assertCurrent(self, result, key, version=None, value=None, deleted=False):
        current = result.get("current")
        self.assertIsInstance(current, dict, result)
        self.assertEqual((current["collection"], current["key"]), (self.collection, key))
        self.assertEqual(current["deleted"], deleted, result)
        if version is not None:
            self.assertEqual(current["version"], version, result)
        if deleted:
            self.assertNotIn("value", current)
        elif value is not None:
            self.assertEqual(current["value"], value, result)


class Authentication(ProtocolTest):
    def test_health_and_ready_need_no_token(self):
        health = request("GET", "/v1/health")
        self.assertEqual(health.status, 200, health)
        self.assertEqual(health.json(), {"status": "ok"})
        ready = request("GET", "/v1/ready")
        self.assertEqual(ready.status, 200, ready)
        self.assertEqual(ready.json(), {"status": "ready"})

    def test_a_missing_or_unknown_token_is_401_whatever_else_is_wrong(self):
        unknown = "not-a-token-" + secrets.token_hex(8)
        for token in (None, unknown):
            for method, endpoint, body in (("POST", "/v1/push", push_body(self.client, [])),
                                           ("POST", "/v1/push", "{not json"),
                                           ("GET", "/v1/pull", None),
                                           ("GET", "/v1/pull?cursor=%21%21", None),
                                           ("GET", "/v1/stats", None),
                                           ("GET", "/v1/live", None)):
                answer = request(method, endpoint, token, body)
                self.assertError(answer, 401, "unauthenticated")
                self.assertEqual(answer.headers.getheader("WWW-Authenticate", "").split(" ")[0],
                                 "Bearer", answer)

    def test_an_unknown_endpoint_is_404(self):
        self.assertError(request("GET", "/v1/nothing-here", TOKEN), 404, "not_found")


class Push(ProtocolTest):
    def test_a_new_document_is_applied_and_pulled(self):
        cursor = self.head_cursor()
        result = self.put(1, "a", {"title": "Milk"})
        self.assertApplied(result, previous=0)
        changes, _ = self.pull_all(cursor)
        self.assertEqual(self.mine(changes), [
            dict(collection=self.collection, key="a", version=result["version"], deleted=False,
                 value={"title": "Milk"}, **({"hlc": changes[-1]["hlc"]} if "hlc" in changes[-1] else {}))])

    def test_the_example_of_the_document(self):
        """docs/PROTOCOL.md's push example, replayed: 41 and 42 applied, 43 a conflict."""
        other = new_id("z")
        n9 = self.put(1, "n9", {"title": "Eggs"}, client=other)
        self.assertApplied(n9)
        results = self.push([
            self.m(41, "n1", "put", {"title": "Milk"}, 0),
            self.m(42, "n1", "patch", {"done": True}, 0),
            self.m(43, "n9", "delete", None, 0)])
        self.assertApplied(results[0], previous=0)
        self.assertApplied(results[1], previous=results[0]["version"])
        self.assertEqual(results[2]["status"], "conflict", results[2])
        self.assertCurrent(results[2], "n9", n9["version"], {"title": "Eggs"})
        self.assertEqual(self.document("n1")["value"], {"title": "Milk", "done": True})

    def test_rule3_a_client_queues_several_writes_on_one_base(self):
        """Rule 3: R is the version before the run's first write, and B <= V."""
        results = self.push([self.m(1, "q", "put", {"n": 1}, 0),
                             self.m(2, "q", "patch", {"m": 2}, 0),
                             self.m(3, "q", "put", {"n": 3}, 0)])
        for i, result in enumerate(results):
            self.assertApplied(result, previous=0 if i == 0 else results[i - 1]["version"])
        first, last = results[0]["version"], results[-1]["version"]
        # A later push, still on the run's base or on a version within it.
        later = self.push([self.m(4, "q", "patch", {"o": 4}, 0),
                           self.m(5, "q", "patch", {"p": 5}, first)])
        self.assertApplied(later[0], previous=last)
        self.assertApplied(later[1], previous=later[0]["version"])
        head = later[1]["version"]
        # A base the document never had (above V) conflicts, even in the run.
        beyond = self.push([self.m(6, "q", "put", {"n": 6}, head + 1)])[0]
        self.assertEqual(beyond["status"], "conflict", beyond)
        self.assertCurrent(beyond, "q", head, {"n": 3, "o": 4, "p": 5})

    def test_rule3_the_worked_table_of_the_document(self):
        """docs/PROTOCOL.md rule 3's table, row by row, with this server's versions."""
        a, b = self.client, new_id("b")
        row1 = self.put(1, "t", {"row": 1}, base=0, client=a)
        self.assertApplied(row1, previous=0)
        row2 = self.put(2, "t", {"row": 2}, base=0, client=a)
        self.assertApplied(row2, previous=row1["version"])
        row3 = self.put(3, "t", {"row": 3}, base=row1["version"], client=a)
        self.assertApplied(row3, previous=row2["version"])
        v = row3["version"]
        self.assertEqual(self.put(4, "t", {"row": 4}, base=v + 1, client=a)["status"], "conflict")
        self.assertEqual(self.put(1, "t", {"row": 5}, base=row2["version"], client=b)["status"], "conflict")
        row6 = self.put(2, "t", {"row": 6}, base=v, client=b)
        self.assertApplied(row6, previous=v)
        row7 = self.put(5, "t", {"row": 7}, base=v, client=a)
        self.assertEqual(row7["status"], "conflict", row7)
        self.assertCurrent(row7, "t", row6["version"], {"row": 6})

    def test_rule3_another_clients_write_starts_a_new_run(self):
        a = self.put(1, "r", {"by": "a"})
        other = new_id("b")
        stale = self.put(1, "r", {"by": "b"}, base=0, client=other)
        self.assertEqual(stale["status"], "conflict", stale)
        self.assertCurrent(stale, "r", a["version"], {"by": "a"})
        b = self.put(2, "r", {"by": "b"}, base=a["version"], client=other)
        self.assertApplied(b, previous=a["version"])
        # a's writes based before b's conflict, its base 0 and its own version alike.
        for seq, base in ((2, 0), (3, a["version"])):
            result = self.put(seq, "r", {"by": "a", "again": seq}, base=base)
            self.assertEqual(result["status"], "conflict", result)
            self.assertCurrent(result, "r", b["version"], {"by": "b"})
        self.assertApplied(self.put(4, "r", {"by": "a"}, base=b["version"]), previous=b["version"])

    def test_a_delete_leaves_a_tombstone_and_keeps_its_version(self):
        cursor = self.head_cursor()
        put = self.put(1, "d", {"x": 1})
        gone = self.push([self.m(2, "d", "delete", None, put["version"])])[0]
        self.assertApplied(gone, previous=put["version"])
        changes, _ = self.pull_all(cursor)
        self.assertEqual(len(self.mine(changes)), 1, "a document appears once, in its latest state")
        tombstone = self.mine(changes)[0]
        self.assertEqual((tombstone["deleted"], tombstone["version"]), (True, gone["version"]))
        self.assertNotIn("value", tombstone)
        conflict = self.put(3, "d", {"x": 2}, base=0, client=new_id("b"))
        self.assertEqual(conflict["status"], "conflict")
        self.assertCurrent(conflict, "d", gone["version"], deleted=True)

    def test_versions_are_the_users_next_positions(self):
        results = self.push([self.m(1, "v1", "put", 1), self.m(2, "v2", "put", 2),
                             self.m(3, "v1", "put", 3, base=9999999), self.m(4, "v3", "put", 4)])
        self.assertEqual(results[2]["status"], "conflict")
        versions = [results[i]["version"] for i in (0, 1, 3)]
        self.assertEqual(versions, [versions[0], versions[0] + 1, versions[0] + 2],
                         "conflicts take no version; applied mutations take head + 1")

    def test_an_empty_push_is_answered_with_no_results(self):
        self.assertEqual(self.push([]), [])


class Repeats(ProtocolTest):
    def test_an_applied_mutation_repeated_is_a_duplicate_with_the_document(self):
        body = [self.m(1, "a", "put", {"v": 1}), self.m(2, "b", "put", {"v": 2})]
        first = self.push(body)
        self.assertApplied(first[0])
        again = self.push(body)
        for result, original in zip(again, first):
            self.assertEqual(result["status"], "duplicate", result)
            if "current" in result:
                self.assertEqual(result["current"]["version"], original["version"])
        self.assertCurrent(again[0], "a", first[0]["version"], {"v": 1})
        changes, _ = self.pull_all(self.start[TOKEN])
        self.assertEqual(len([c for c in self.mine(changes) if c["key"] == "a"]), 1)

    def test_a_seq_at_or_below_the_last_is_never_applied(self):
        self.assertApplied(self.put(10, "a", 1))
        self.assertEqual(self.put(7, "never", 2)["status"], "duplicate")
        self.assertIsNone(self.document("never"))

    def test_a_conflict_or_rejection_repeated_gets_its_outcome_again(self):
        self.assertApplied(self.put(1, "c", {"v": 0}, client=new_id("b")))
        body = [self.m(5, "c", "put", {"v": 1}, 0), self.m(6, "x", "put", None)]
        first = self.push(body)
        self.assertEqual(first[0]["status"], "conflict")
        self.assertRejected(first[1])
        again = self.push(body)
        self.assertEqual(again[0]["status"], "conflict", again[0])
        self.assertCurrent(again[0], "c", value={"v": 0})
        self.assertEqual(again[1], first[1], "a rejection repeats with the same error")

    def test_outcomes_below_a_pushs_first_seq_are_forgotten(self):
        self.assertApplied(self.put(1, "f", {"v": 0}, client=new_id("b")))
        conflict = self.push([self.m(5, "f", "put", {"v": 1}, 0)])[0]
        self.assertEqual(conflict["status"], "conflict")
        self.assertApplied(self.put(6, "g", 1))  # settles everything below 6
        forgotten = self.push([self.m(5, "f", "put", {"v": 1}, 0)])[0]
        self.assertEqual(forgotten["status"], "duplicate", forgotten)
        self.assertCurrent(forgotten, "f", value={"v": 0})

    def test_statistics_count_each_result_once_and_repeats_as_duplicates(self):
        def stats():
            answer = request("GET", "/v1/stats", TOKEN)
            self.assertEqual(answer.status, 200, answer)
            counters = answer.json()
            return [counters[name] for name in ("mutationsApplied", "mutationsDuplicate",
                                                "mutationsConflict", "mutationsRejected")]

        self.assertApplied(self.put(1, "s", 0, client=new_id("b")))
        before = stats()
        body = [self.m(1, "t", "put", 1), self.m(2, "s", "put", 1, 0), self.m(3, "u", "put", None)]
        self.push(body)
        self.push(body)  # applied, conflict and rejected again: three duplicates
        after = stats()
        self.assertEqual([a - b for a, b in zip(after, before)], [1, 3, 1, 1])

    def test_each_document_goes_with_one_result_of_an_answer(self):
        """Rule 7: `current` at most once per document per answer."""
        self.assertApplied(self.put(1, "big", {"v": 0}, client=new_id("b")))
        results = self.push([self.m(seq, "big", "delete", None, 0) for seq in (1, 2, 3)])
        self.assertEqual([r["status"] for r in results], ["conflict"] * 3)
        self.assertCurrent(results[0], "big", value={"v": 0})
        self.assertNotIn("current", results[1])
        self.assertNotIn("current", results[2])


class Validation(ProtocolTest):
    """Rule 4: 400 for the push's shape, `rejected` for a mutation's content."""

    def check_rejected_alone(self, bad):
        """`bad` is rejected, seq consumed; the mutations around it are applied."""
        cursor = self.head_cursor()
        client = new_id("v")  # seqs of its own
        bad = dict(bad, seq=2)
        body = [self.m(1, "before", "put", 1, client=client), bad,
                self.m(3, "after", "put", 3, client=client)]
        results = self.push(body, client=client)
        self.assertApplied(results[0])
        self.assertRejected(results[1])
        self.assertApplied(results[2])
        again = self.push([bad], client=client)[0]
        self.assertEqual(again, results[1], "the seq was processed; its outcome repeats")
        changes, _ = self.pull_all(cursor)
        self.assertEqual(sorted(c["key"] for c in self.mine(changes)), ["after", "before"])
        return results[1]

    def test_a_put_of_null_or_without_a_value_is_rejected(self):
        self.check_rejected_alone(self.m(0, "k", "put", None))
        self.setUp()
        m = self.m(0, "k", "put", 1)
        del m["value"]
        self.check_rejected_alone(m)

    def test_a_patch_that_is_not_an_object_is_rejected(self):
        self.check_rejected_alone(self.m(0, "k", "patch", [1, 2]))

    def test_a_delete_carrying_a_value_is_rejected(self):
        self.check_rejected_alone(self.m(0, "k", "delete", {"x": 1}))

    def test_a_delete_with_a_null_value_is_a_delete(self):
        self.assertApplied(self.push([self.m(1, "k", "delete", None) | {"value": None}])[0])

    def test_a_bad_collection_or_key_is_rejected(self):
        for collection, key in (("", "k"), ("c", ""), ("c" * 257, "k"), ("c", "k" * 1025),
                                ("c", "nul\u0000inside")):
            self.setUp()
            m = self.m(0, key)
            m["collection"] = collection
            self.check_rejected_alone(m)

    def test_an_unknown_op_is_rejected(self):
        self.check_rejected_alone(self.m(0, "k", "upsert", 1))

    def test_a_malformed_hlc_string_is_rejected(self):
        for hlc in ("yesterday", "1700000000000-000000-" + self.client,
                    "%016d-00000g-%s" % (now_ms(), self.client), "%016d-000000-bad node" % now_ms(),
                    "%016d-000000-" % now_ms()):
            self.setUp()
            self.check_rejected_alone(self.m(0, "k", "put", 1, hlc=hlc))

    def test_a_stamp_more_than_an_hour_ahead_is_rejected(self):
        self.check_rejected_alone(self.m(0, "k", "put", 1, hlc=stamp(self.client, now_ms() + 2 * 3600 * 1000)))
        # Well within the hour ahead is accepted.
        self.assertApplied(self.put(9, "soon", 1, hlc=stamp(self.client, now_ms() + 10 * 60 * 1000)))

    def test_value_limits_size(self):
        # 1 MiB of compact JSON exactly is accepted; one byte more is not.
        fits = "x" * (MAX_VALUE_BYTES - 2)
        self.assertApplied(self.put(1, "fits", fits))
        self.check_rejected_alone(self.m(0, "k", "put", fits + "x"))

    def test_value_limits_count_compact_json(self):
        # Whitespace in the request is not the value's size: {"a": [...]} compact.
        value = {"a": "y" * (MAX_VALUE_BYTES - 10)}  # {"a":"..."} is 8 bytes more
        self.assertEqual(len(json.dumps(value, separators=(",", ":"))), MAX_VALUE_BYTES - 2)
        body = json.dumps(push_body(self.client, [self.m(1, "spaced", "put", value)]), indent=4)
        answer = request("POST", "/v1/push", TOKEN, body)
        self.assertEqual(answer.status, 200, answer)
        self.assertApplied(answer.json()["results"][0])

    def test_value_limits_depth(self):
        def nested(depth):
            value = 1
            for level in range(depth):
                value = [value] if level % 2 else {"n": value}
            return value

        self.assertApplied(self.put(1, "deep", nested(MAX_VALUE_DEPTH)))
        self.check_rejected_alone(self.m(0, "k", "put", nested(MAX_VALUE_DEPTH + 1)))

    def test_a_patch_whose_result_is_over_the_limit_is_rejected(self):
        put = self.put(1, "grow", {"a": "x" * 700_000})
        self.assertApplied(put)
        grow = self.push([self.m(2, "grow", "patch", {"b": "y" * 400_000}, put["version"])])[0]
        self.assertRejected(grow)
        self.assertEqual(len(self.document("grow")["value"]["a"]), 700_000)
        small = self.push([self.m(3, "grow", "patch", {"a": None, "b": "z"}, put["version"])])[0]
        self.assertApplied(small, previous=put["version"])

    def check_whole_push_refused(self, body, code="protocol", status=400):
        """A 400 processes nothing: the valid mutation's seq is still free."""
        answer = request("POST", "/v1/push", TOKEN, body)
        self.assertError(answer, status, code)
        self.assertApplied(self.push([self.m(1, "free", "put", 1)])[0])
        self.setUp()

    def test_the_push_shape_is_refused_whole(self):
        good = lambda: self.m(1, "free", "put", 1)
        mutated = []
        for name, value in (("seq", 0), ("seq", -1), ("seq", 1.5), ("seq", "1"),
                            ("seq", 18446744073709551616), ("baseVersion", -1),
                            ("baseVersion", 0.5), ("baseVersion", "0"), ("collection", 7),
                            ("key", None), ("op", 1), ("hlc", 1700000000000)):
            mutated.append((name, value))
        for name, value in mutated:
            bad = dict(self.m(2, "k", "put", 1), **{name: value})
            with self.subTest(field=name, value=value):
                self.check_whole_push_refused(push_body(self.client, [good(), bad]))
        for name in ("seq", "collection", "key", "op", "baseVersion", "hlc"):
            bad = self.m(2, "k", "put", 1)
            del bad[name]
            with self.subTest(missing=name):
                self.check_whole_push_refused(push_body(self.client, [good(), bad]))

    def test_seqs_out_of_order_refuse_the_push(self):
        for seqs in ((1, 3, 2), (1, 1)):
            with self.subTest(seqs=seqs):
                body = [self.m(seq, "k%d" % i, "put", 1) for i, seq in enumerate(seqs)]
                self.check_whole_push_refused(push_body(self.client, body))

    def test_a_broken_envelope_refuses_the_push(self):
        good = [self.m(1, "free", "put", 1)]
        bodies = ["", "{", "[]", "null", json.dumps({"clientId": self.client, "mutations": good}),
                  json.dumps({"protocol": 1, "mutations": good}),
                  json.dumps({"protocol": 1, "clientId": "has space", "mutations": good}),
                  json.dumps({"protocol": 1, "clientId": "x" * 65, "mutations": good}),
                  json.dumps({"protocol": 1, "clientId": self.client, "mutations": {}}),
                  json.dumps({"protocol": 1, "clientId": self.client, "mutations": [good[0], 5]})]
        for body in bodies:
            with self.subTest(body=body[:60]):
                self.check_whole_push_refused(body)
        self.check_whole_push_refused(json.dumps({"protocol": 2, "clientId": self.client, "mutations": good}),
                                      code="unsupported_version")

    def test_a_body_nesting_deeper_than_40_is_413(self):
        m = self.m(1, "free", "put", 1)
        m["extra"] = json.loads("[" * 38 + "]" * 38)  # an unknown member, too deep
        self.check_whole_push_refused(push_body(self.client, [m]), "too_large", 413)
        self.check_whole_push_refused("[" * 100 + "]" * 100, "too_large", 413)
        m = dict(self.m(1, "deep", "put", 1), extra=json.loads("[" * 37 + "]" * 37))
        self.assertApplied(self.push([m])[0])  # 40 levels with the envelope

    def test_unknown_members_are_ignored(self):
        m = dict(self.m(1, "k", "put", 1), future={"field": True})
        body = dict(push_body(self.client, [m]), alsoFuture=[1])
        answer = request("POST", "/v1/push", TOKEN, body)
        self.assertEqual(answer.status, 200, answer)
        self.assertApplied(answer.json()["results"][0])

    def test_a_base_above_every_version_is_a_conflict_not_an_error(self):
        result = self.put(1, "nothing", 1, base=18446744073709551615)
        self.assertEqual(result["status"], "conflict", result)
        current = result.get("current")
        self.assertIsInstance(current, dict, result)
        self.assertEqual((current["version"], current["deleted"]), (0, True))


class Limits(ProtocolTest):
    def test_a_body_over_the_limit_is_413(self):
        value = "x" * (MAX_BODY + 1)
        answer = request("POST", "/v1/push", TOKEN, push_body(self.client, [self.m(1, "k", "put", value)]))
        self.assertError(answer, 413, "too_large")

    def test_a_batch_over_the_limit_is_413(self):
        body = [self.m(seq, "k%d" % seq, "delete") for seq in range(1, MAX_BATCH + 2)]
        self.assertError(request("POST", "/v1/push", TOKEN, push_body(self.client, body)), 413, "too_large")
        self.assertEqual(len(self.push(body[:MAX_BATCH])), MAX_BATCH)

    def test_gzip_push_bodies_are_accepted(self):
        body = json.dumps(push_body(self.client, [self.m(1, "zipped", "put", {"z": "z" * 5000})])).encode()
        answer = request("POST", "/v1/push", TOKEN, gzip.compress(body), {"Content-Encoding": "gzip"})
        self.assertEqual(answer.status, 200, answer)
        self.assertApplied(answer.json()["results"][0])

    def test_gzip_bodies_are_limited_after_decoding(self):
        body = json.dumps(push_body(self.client, [self.m(1, "k", "put", "x" * (MAX_BODY + 1))])).encode()
        answer = request("POST", "/v1/push", TOKEN, gzip.compress(body), {"Content-Encoding": "gzip"})
        self.assertError(answer, 413, "too_large")

    def test_another_media_type_is_415(self):
        body = json.dumps(push_body(self.client, [self.m(1, "k", "put", 1)]))
        answer = request("POST", "/v1/push", TOKEN, body, {"Content-Type": "multipart/form-data; boundary=b"})
        self.assertEqual(answer.status, 415, answer)


class Pull(ProtocolTest):
    def test_pages_follow_the_limit_and_hold_each_document_once(self):
        cursor = self.head_cursor()
        written = {}
        for seq in range(1, 8):
            key = "p%d" % (seq % 5)
            result = self.push([self.m(seq, key, "put", {"seq": seq}, written.get(key, (0,))[0])])[0]
            self.assertApplied(result)
            written[key] = (result["version"], seq)
        pages = []
        for _ in range(20):
            page = self.pull(cursor, limit=2)
            self.assertLessEqual(len(page["changes"]), 2)
            self.assertRegex(page["cursor"], CURSOR)
            pages.append(page)
            cursor = page["cursor"]
            if not page["hasMore"]:
                break
        self.assertFalse(pages[-1]["hasMore"])
        changes = [c for page in pages for c in page["changes"]]
        mine = self.mine(changes)
        self.assertEqual([c["version"] for c in changes], sorted(c["version"] for c in changes))
        self.assertEqual({c["key"]: (c["version"], c["value"]["seq"]) for c in mine}, written)
        self.assertEqual(len(mine), len(written), "each document at most once")
        for change in mine:
            self.assertRegex(change.get("hlc", stamp("x")), r"^\d{16}-[0-9a-f]{6}-[A-Za-z0-9_-]{1,64}$")
        # At the head: nothing more, the cursor still good.
        again = self.pull(cursor)
        self.assertEqual(self.mine(again["changes"]), [])
        self.assertFalse(again["hasMore"])

    def test_a_limit_that_is_not_a_positive_integer_is_400(self):
        for limit in ("0", "-1", "ten", "1.5"):
            with self.subTest(limit=limit):
                self.assertError(request("GET", "/v1/pull?limit=" + limit, TOKEN), 400, "protocol")

    def test_a_pull_without_limit_or_with_a_huge_one_is_answered(self):
        for limit in (None, 10 ** 9):
            page = self.pull(limit=limit)
            self.assertLessEqual(len(page["changes"]), 5000)


class Cursors(ProtocolTest):
    def expired(self, cursor):
        answer = request("GET", "/v1/pull?cursor=" + urllib.parse.quote(cursor, safe=""), TOKEN)
        self.assertError(answer, 410, "cursor_expired")

    def test_a_cursor_the_server_never_issued_is_410(self):
        # Strings no server issues (a cursor is opaque: a server whose cursors
        # are plain numbers may well have issued "5").
        for cursor in ("nonsense", "x.y", "-", "not-issued.42", "c" * 256):
            with self.subTest(cursor=cursor):
                self.expired(cursor)

    def test_a_cursor_outside_the_alphabet_or_too_long_is_410(self):
        for cursor in ("<script>", "a b", "ep%1", "c" * 257):
            with self.subTest(cursor=cursor):
                self.expired(cursor)

    def test_a_cursor_ahead_of_the_change_log_is_410(self):
        cursor = self.head_cursor()
        self.expired(cursor + "999999999999")

    def test_a_cursor_issued_for_the_log_stays_good(self):
        cursor = self.head_cursor()
        result = self.put(1, "after", 1)
        changes, cursor = self.pull_all(cursor)
        self.assertEqual([(c["key"], c["version"]) for c in self.mine(changes)], [("after", result["version"])])
        self.assertEqual(self.pull(cursor)["changes"], [])


class Isolation(ProtocolTest):
    def setUp(self):
        super().setUp()
        if not OTHER_TOKEN:
            self.skipTest("set FERRY_CONFORMANCE_OTHER_TOKEN")

    def test_users_never_see_or_change_each_others_documents(self):
        mine = self.put(1, "shared", {"who": "one"})
        self.assertApplied(mine)
        # The same client id, collection, key and seq for the other user:
        # a document, seq and change log of their own.
        theirs = self.put(1, "shared", {"who": "other"}, base=0, token=OTHER_TOKEN)
        self.assertApplied(theirs, previous=0)
        self.assertEqual(self.document("shared")["value"], {"who": "one"})
        self.assertEqual(self.document("shared", token=OTHER_TOKEN)["value"], {"who": "other"})
        self.assertEqual(self.put(2, "only-mine", 1)["status"], "applied")
        self.assertIsNone(self.document("only-mine", token=OTHER_TOKEN))

    def test_statistics_are_the_callers_own(self):
        before = request("GET", "/v1/stats", OTHER_TOKEN).json()
        self.assertApplied(self.put(1, "counted", 1))
        after = request("GET", "/v1/stats", OTHER_TOKEN).json()
        for name in ("mutationsApplied", "mutationsDuplicate", "mutationsConflict", "mutationsRejected"):
            self.assertEqual(after[name], before[name], name)


class LiveStream:
    """A /v1/live stream read event by event."""

    def __init__(self, token, timeout=10):
        self.connection = connect(timeout)
        self.connection.request("GET", path("/v1/live"),
                                headers={"Authorization": "Bearer " + token, "Accept": "text/event-stream"})
        self.response = self.connection.getresponse()

    def event(self):
        """The next event as (name, data), skipping comments; None at the end."""
        name, data = None, []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if name is not None or data:
                    return name, "\n".join(data)
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)

    def close(self):
        self.connection.close()


class Live(ProtocolTest):
    def test_a_stream_says_hello_then_pokes_after_a_push(self):
        stream = LiveStream(TOKEN)
        try:
            self.assertEqual(stream.response.status, 200)
            self.assertEqual(stream.response.getheader("Content-Type", "").split(";")[0], "text/event-stream")
            name, data = stream.event()
            self.assertEqual(name, "hello")
            self.assertIsInstance(json.loads(data), dict)
            for seq in (1, 2, 3):  # pokes may coalesce: at least one comes
                self.assertApplied(self.put(seq, "live%d" % seq, seq))
            name, data = stream.event()
            self.assertEqual((name, json.loads(data)), ("poke", {}))
        finally:
            stream.close()

    def test_pokes_never_reach_another_users_streams(self):
        if not OTHER_TOKEN:
            self.skipTest("set FERRY_CONFORMANCE_OTHER_TOKEN")
        stream = LiveStream(OTHER_TOKEN, timeout=3)
        try:
            self.assertEqual(stream.event()[0], "hello")
            self.assertApplied(self.put(1, "not-for-them", 1))
            with self.assertRaises((socket.timeout, TimeoutError)):
                stream.event()
        finally:
            stream.close()


if __name__ == "__main__":
    unittest.main()
