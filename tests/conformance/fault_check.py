#!/usr/bin/env python3
"""Shows that every check of the conformance suite can fail.

  fault_check.py --server build/native-debug/server/ferry-server

Starts ferry-server (SQLite) and, in front of it, a proxy that gives one
deliberately wrong answer of a kind a server written from the document
might give (a 410 turned 400, a rejection turned applied, rule 3 read the
losing way, pokes dropped, ...). The suite runs once through the proxy
with no fault, where every check must pass, then once per fault. It prints
which checks each fault failed and exits 1 if a fault failed no check or a
check failed under no fault: such a check could not tell a wrong server
from a right one. Python's standard library only, like the suite.
"""

import argparse
import copy
import gzip
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_reference  # noqa: E402  (start_server)

TOKEN, OTHER_TOKEN = "conformance-one", "conformance-two"
HUGE = 18446744073709551615


class ProxyState:
    """What the faults that emulate server state need to know."""

    def __init__(self):
        self.lock = threading.Lock()
        self.docs = {}  # (token, collection, key) -> {"version", "writer", "run_first"}
        self.outcomes = {}  # (token, client, seq) -> status first answered
        self.applied_total = 0


def push_results(answer):
    try:
        return answer["json"]["results"]
    except (TypeError, KeyError):
        return None


def sse_filter(drop):
    def response(handler, request, answer):
        answer["drop_events"] = drop
    return response


def rewrite_status(old, new, body=None):
    def response(handler, request, answer):
        if answer["status"] == old:
            answer["status"] = new
            if body is not None:
                answer["json"] = copy.deepcopy(body)
    return response


FAULTS = {
    # Authentication and endpoints.
    "token_ignored": {"request": lambda h, r: r["headers"].__setitem__("Authorization", "Bearer " + TOKEN)},
    "health_down": {"response": lambda h, r, a: a.update(status=503) if r["path"].startswith("/v1/health") else None},
    "unknown_path_200": {"response": rewrite_status(404, 200, {})},
    "users_merged": {"request": lambda h, r: r["headers"].__setitem__("Authorization", "Bearer " + TOKEN)
                     if r["headers"].get("Authorization") == "Bearer " + OTHER_TOKEN else None},
    # Push answers.
    "rule3_strict": {"response": "rule3_strict"},
    "rule3_unbounded": {"response": "rule3_unbounded"},
    "rejected_as_applied": {"response": "rejected_as_applied"},
    "duplicate_as_applied": {"response": "duplicate_as_applied"},
    "outcomes_never_forgotten": {"response": "outcomes_never_forgotten"},
    "outcomes_not_remembered": {"response": "outcomes_not_remembered"},
    "current_on_every_result": {"response": "current_on_every_result"},
    "versions_skip": {"response": "versions_skip"},
    "shape_errors_accepted": {"response": rewrite_status(400, 200, {"results": []})},
    "too_large_as_400": {"response": rewrite_status(413, 400, {"error": {"code": "protocol", "message": "x"}})},
    "media_type_ignored": {"request": lambda h, r: r["headers"].__setitem__("Content-Type", "application/json")},
    "gzip_refused": {"request": "gzip_refused"},
    "unknown_members_refused": {"request": "unknown_members_refused"},
    "empty_push_refused": {"request": "empty_push_refused"},
    "null_delete_value_refused": {"request": "null_delete_value_refused"},
    "base_above_refused": {"request": "base_above_refused"},
    "stats_swapped": {"response": "stats_swapped"},
    "stats_of_everyone": {"response": "stats_of_everyone"},
    # Pulls and cursors.
    "limit_ignored": {"request": "limit_ignored"},
    "huge_limit_refused": {"request": "huge_limit_refused"},
    "has_more_false": {"response": "has_more_false"},
    "documents_twice": {"response": "documents_twice"},
    "last_change_dropped": {"response": "last_change_dropped"},
    "tombstone_with_value": {"response": "tombstone_with_value"},
    "hlc_malformed": {"response": "hlc_malformed"},
    "cursor_410_as_400": {"response": rewrite_status(410, 400, {"error": {"code": "protocol", "message": "x"}})},
    "cursor_410_as_empty_page": {"response": rewrite_status(410, 200, {"changes": [], "cursor": "x.0", "hasMore": False})},
    "cursors_forgotten": {"request": "cursors_forgotten"},
    # The live stream.
    "no_pokes": {"response": sse_filter("poke")},
    "no_hello": {"response": sse_filter("hello")},
    "live_as_text": {"response": lambda h, r, a: a["headers"].__setitem__("Content-Type", "text/plain")
                     if r["path"].startswith("/v1/live") else None},
    "pokes_to_everyone": {"request": "pokes_to_everyone"},
}


class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a relayed live stream ends only at its next keep-alive

    def __init__(self, upstream, fault):
        super().__init__(("127.0.0.1", 0), Handler)
        self.upstream = urllib.parse.urlsplit(upstream)
        self.fault = fault
        self.state = ProxyState()
        self.live = []  # (token, handler) of open streams, for pokes_to_everyone


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.relay("GET")

    def do_POST(self):
        self.relay("POST")

    def upstream(self, method, path, headers, body):
        connection = http.client.HTTPConnection(self.server.upstream.hostname, self.server.upstream.port,
                                                timeout=60)
        connection.request(method, path, body=body, headers=headers)
        return connection, connection.getresponse()

    def relay(self, method):
        fault = FAULTS.get(self.server.fault, {})
        length = int(self.headers.get("Content-Length") or 0)
        request = {"method": method, "path": self.path, "body": self.rfile.read(length) if length else None,
                   "headers": {k: v for k, v in self.headers.items() if k.lower() not in ("host", "accept-encoding")}}
        step = fault.get("request")
        if callable(step):
            step(self, request)
        elif step:
            getattr(self, "request_" + step)(request)
        if request.get("answer"):
            return self.send(request, request["answer"])
        if request["path"].startswith("/v1/live"):
            return self.stream(request, fault)
        answer = self.forward(request)
        step = fault.get("response")
        if callable(step):
            step(self, request, answer)
        elif step:
            getattr(self, "response_" + step)(request, answer)
        self.track(request, answer)
        self.send(request, answer)

    def forward(self, request):
        headers = dict(request["headers"])
        if request["body"] is not None:
            headers["Content-Length"] = str(len(request["body"]))
        connection, response = self.upstream(request["method"], request["path"], headers, request["body"])
        data = response.read()
        connection.close()
        answer = {"status": response.status,
                  "headers": {k: v for k, v in response.getheaders()
                              if k.lower() not in ("content-length", "connection", "transfer-encoding")},
                  "raw": data}
        try:
            answer["json"] = json.loads(data)
        except ValueError:
            pass
        return answer

    def send(self, request, answer):
        body = json.dumps(answer["json"]).encode() if "json" in answer else answer.get("raw", b"")
        self.send_response(answer["status"])
        for name, value in answer.get("headers", {}).items():
            if name.lower() != "content-encoding":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # --- the live stream -------------------------------------------------

    def stream(self, request, fault):
        connection, response = self.upstream("GET", request["path"], request["headers"], None)
        if response.status != 200:  # a refusal: an answer like any other
            data = response.read()
            connection.close()
            return self.send(request, {"status": response.status, "raw": data, "headers": {
                k: v for k, v in response.getheaders()
                if k.lower() not in ("content-length", "connection", "transfer-encoding")}})
        answer = {"status": response.status, "headers": dict(response.getheaders())}
        step = fault.get("response")
        if callable(step):
            step(self, request, answer)
        self.send_response(answer["status"])
        self.send_header("Content-Type", answer["headers"].get("Content-Type", ""))
        if "Retry-After" in answer["headers"]:
            self.send_header("Retry-After", answer["headers"]["Retry-After"])
        if "WWW-Authenticate" in answer["headers"]:
            self.send_header("WWW-Authenticate", answer["headers"]["WWW-Authenticate"])
        self.end_headers()
        token = request["headers"].get("Authorization")
        with self.server.state.lock:
            self.server.live.append((token, self))
        drop = answer.get("drop_events")
        event = []
        try:
            while True:
                line = response.readline()
                if not line:
                    break
                event.append(line)
                if line.strip() == b"":
                    text = b"".join(event)
                    event = []
                    if drop and (b"event: " + drop.encode()) in text:
                        continue
                    self.write_event(text)
        except OSError:
            pass
        finally:
            with self.server.state.lock:
                self.server.live = [entry for entry in self.server.live if entry[1] is not self]
            connection.close()

    def write_event(self, text):
        with self.server.state.lock:
            self.wfile.write(text)
            self.wfile.flush()

    # --- request faults ---------------------------------------------------

    def push_json(self, request):
        if request["path"].startswith("/v1/push") and request["body"]:
            body = request["body"]
            if request["headers"].get("Content-Encoding") == "gzip":
                return None
            try:
                push = json.loads(body)
            except ValueError:
                return None
            return push if isinstance(push, dict) else None
        return None

    def set_push_json(self, request, push):
        request["body"] = json.dumps(push).encode()

    def request_gzip_refused(self, request):
        if request["headers"].get("Content-Encoding") == "gzip":
            request["answer"] = {"status": 415, "json": {"error": {"code": "invalid_argument", "message": "x"}}}

    def request_unknown_members_refused(self, request):
        push = self.push_json(request)
        known = {"seq", "collection", "key", "op", "value", "baseVersion", "hlc"}
        if isinstance(push, dict) and (set(push) - {"protocol", "clientId", "mutations"} or any(
                isinstance(m, dict) and set(m) - known for m in push.get("mutations") or [])):
            request["answer"] = {"status": 400, "json": {"error": {"code": "protocol", "message": "x"}}}

    def request_empty_push_refused(self, request):
        push = self.push_json(request)
        if isinstance(push, dict) and push.get("mutations") == []:
            request["answer"] = {"status": 400, "json": {"error": {"code": "protocol", "message": "x"}}}

    def request_null_delete_value_refused(self, request):
        push = self.push_json(request)
        if isinstance(push, dict) and isinstance(push.get("mutations"), list):
            for m in push["mutations"]:
                if isinstance(m, dict) and m.get("op") == "delete" and "value" in m and m["value"] is None:
                    m["value"] = {}
            self.set_push_json(request, push)

    def request_base_above_refused(self, request):
        push = self.push_json(request)
        if isinstance(push, dict) and any(isinstance(m, dict) and m.get("baseVersion") == HUGE
                                          for m in push.get("mutations") or []):
            request["answer"] = {"status": 400, "json": {"error": {"code": "protocol", "message": "x"}}}

    def request_limit_ignored(self, request):
        if request["path"].startswith("/v1/pull"):
            parts = urllib.parse.urlsplit(request["path"])
            query = [p for p in parts.query.split("&") if p and not p.startswith("limit=")]
            request["path"] = parts.path + ("?" + "&".join(query) if query else "")

    def request_huge_limit_refused(self, request):
        match = re.search(r"[?&]limit=(\d+)", request["path"])
        if request["path"].startswith("/v1/pull") and match and int(match.group(1)) > 5000:
            request["answer"] = {"status": 400, "json": {"error": {"code": "protocol", "message": "x"}}}

    def request_cursors_forgotten(self, request):
        if request["path"].startswith("/v1/pull") and "cursor=" in request["path"]:
            request["answer"] = {"status": 410, "json": {"error": {"code": "cursor_expired", "message": "x"}}}

    def request_pokes_to_everyone(self, request):
        if request["path"].startswith("/v1/push"):
            request["poke_all"] = True

    # --- response faults --------------------------------------------------

    def mutations_of(self, request):
        push = self.push_json(request)
        return push.get("mutations") if isinstance(push, dict) else None

    def response_rejected_as_applied(self, request, answer):
        for result in push_results(answer) or []:
            if result.get("status") == "rejected":
                result.pop("error")
                result.update(status="applied", version=999999, previousVersion=0)

    def response_duplicate_as_applied(self, request, answer):
        for result in push_results(answer) or []:
            if result.get("status") == "duplicate":
                result.pop("current", None)
                result.update(status="applied", version=999999, previousVersion=0)

    def response_outcomes_never_forgotten(self, request, answer):
        token = request["headers"].get("Authorization")
        push = self.push_json(request) or {}
        for result in push_results(answer) or []:
            first = self.server.state.outcomes.get((token, push.get("clientId"), result.get("seq")))
            if result.get("status") == "duplicate" and first == "conflict":
                result["status"] = "conflict"

    def response_outcomes_not_remembered(self, request, answer):
        token = request["headers"].get("Authorization")
        push = self.push_json(request) or {}
        for result in push_results(answer) or []:
            first = self.server.state.outcomes.get((token, push.get("clientId"), result.get("seq")))
            if first in ("conflict", "rejected") and result.get("status") in ("conflict", "rejected"):
                seq, current = result.get("seq"), result.get("current")
                result.clear()
                result.update(seq=seq, status="duplicate")
                if current:
                    result["current"] = current

    def response_current_on_every_result(self, request, answer):
        seen = {}
        for result, m in zip(push_results(answer) or [], self.mutations_of(request) or []):
            key = (m.get("collection"), m.get("key"))
            if "current" in result:
                seen[key] = result["current"]
            elif result.get("status") in ("conflict", "duplicate") and key in seen:
                result["current"] = seen[key]

    def response_versions_skip(self, request, answer):
        applied = [r for r in push_results(answer) or [] if r.get("status") == "applied"]
        for extra, result in enumerate(applied[1:], 1):
            result["version"] += extra
            result["previousVersion"] += extra - 1 if result["previousVersion"] else 0

    def rule3(self, request, answer, rewrite):
        """Walks the answer's results in order over the documents' tracked
        state; `rewrite(m, result, known)` may change a result."""
        token = request["headers"].get("Authorization")
        client = (self.push_json(request) or {}).get("clientId")
        docs = copy.deepcopy(self.server.state.docs)
        for m, result in zip(self.mutations_of(request) or [], push_results(answer) or []):
            if not isinstance(m, dict):
                continue
            key = (token, m.get("collection"), m.get("key"))
            known = docs.get(key)
            if known and known["writer"] == client and isinstance(m.get("baseVersion"), int):
                rewrite(m, result, known)
            if result.get("status") == "applied":
                if known is None or known["writer"] != client:
                    docs[key] = {"writer": client, "run_first": result["version"],
                                 "run_start": result["previousVersion"], "version": result["version"]}
                else:
                    known["version"] = result["version"]

    def response_rule3_strict(self, request, answer):
        """The losing reading: R is the version the run's first write produced."""
        def rewrite(m, result, known):
            base = m["baseVersion"]
            if result.get("status") == "applied" and base != known["version"] and base < known["run_first"]:
                seq = result["seq"]
                result.clear()
                result.update(seq=seq, status="conflict", current={
                    "collection": m["collection"], "key": m["key"], "version": known["version"],
                    "deleted": False, "value": {}})
        self.rule3(request, answer, rewrite)

    def response_rule3_unbounded(self, request, answer):
        """No B <= V: a base of the writer's run above the version applies."""
        def rewrite(m, result, known):
            if result.get("status") == "conflict" and m["baseVersion"] > known["version"]:
                seq = result["seq"]
                result.clear()
                result.update(seq=seq, status="applied", version=known["version"] + 1000,
                              previousVersion=known["version"])
        self.rule3(request, answer, rewrite)

    def response_stats_swapped(self, request, answer):
        stats = answer.get("json")
        if request["path"].startswith("/v1/stats") and isinstance(stats, dict):
            stats["mutationsDuplicate"], stats["mutationsConflict"] = (stats.get("mutationsConflict"),
                                                                       stats.get("mutationsDuplicate"))

    def response_stats_of_everyone(self, request, answer):
        stats = answer.get("json")
        if request["path"].startswith("/v1/stats") and isinstance(stats, dict):
            stats["mutationsApplied"] = self.server.state.applied_total

    def pull_page(self, request, answer):
        page = answer.get("json")
        return page if request["path"].startswith("/v1/pull") and isinstance(page, dict) and "changes" in page else None

    def response_has_more_false(self, request, answer):
        page = self.pull_page(request, answer)
        if page:
            page["hasMore"] = False

    def response_documents_twice(self, request, answer):
        page = self.pull_page(request, answer)
        if page and page["changes"]:
            page["changes"] = page["changes"] + [page["changes"][-1]]

    def response_last_change_dropped(self, request, answer):
        page = self.pull_page(request, answer)
        if page and page["changes"]:
            page["changes"].pop()

    def response_tombstone_with_value(self, request, answer):
        page = self.pull_page(request, answer)
        for change in (page or {}).get("changes", []):
            if change.get("deleted"):
                change["value"] = None
        for result in push_results(answer) or []:
            if result.get("current", {}).get("deleted"):
                result["current"]["value"] = None

    def response_hlc_malformed(self, request, answer):
        page = self.pull_page(request, answer)
        for change in (page or {}).get("changes", []):
            change["hlc"] = "yesterday"

    # --- state for the faults that need it --------------------------------

    def track(self, request, answer):
        mutations = self.mutations_of(request)
        results = push_results(answer)
        if not mutations or not results:
            return
        token = request["headers"].get("Authorization")
        client = (self.push_json(request) or {}).get("clientId")
        state = self.server.state
        with state.lock:
            for m, result in zip(mutations, results):
                state.outcomes.setdefault((token, client, m.get("seq")), result.get("status"))
                if result.get("status") == "applied":
                    state.applied_total += 1
                    doc = (token, m.get("collection"), m.get("key"))
                    known = state.docs.get(doc)
                    if known is None or known["writer"] != client:
                        state.docs[doc] = {"writer": client, "run_first": result["version"],
                                           "run_start": result["previousVersion"],
                                           "version": result["version"]}
                    else:
                        known["version"] = result["version"]
        if request.get("poke_all"):
            for token_seen, handler in list(self.server.live):
                if token_seen != token:
                    try:
                        handler.write_event(b"event: poke\ndata: {}\n\n")
                    except OSError:
                        pass


def run_suite(url, skip):
    env = dict(os.environ, FERRY_CONFORMANCE_URL=url, FERRY_CONFORMANCE_TOKEN=TOKEN,
               FERRY_CONFORMANCE_OTHER_TOKEN=OTHER_TOKEN, FERRY_CONFORMANCE_SKIP=",".join(skip))
    run = subprocess.run([sys.executable, "-m", "unittest", "-v", "conformance_test"], cwd=HERE, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    failed = set(re.findall(r"^(test_\w+) \(conformance_test\.\w+\.test_\w+\)(?: \(.*\))? \.\.\. (?:FAIL|ERROR)",
                            run.stdout, re.M))
    failed |= set(re.findall(r"^(?:FAIL|ERROR): (test_\w+)", run.stdout, re.M))
    everything = set(re.findall(r"^(test_\w+) \(conformance_test", run.stdout, re.M))
    everything -= set(re.findall(r"^(test_\w+) \(conformance_test.*\.\.\. skipped", run.stdout, re.M))
    return failed, everything, run.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--only", help="one fault, to look at its output")
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="ferry-fault-check-")
    server, url = run_reference.start_server(options.server, folder,
                                             ["--db", os.path.join(folder, "server.db")])
    skip = sorted(run_reference.KNOWN_DEVIATIONS)
    try:
        caught = {}
        faults = [options.only] if options.only else [None] + sorted(FAULTS)
        for fault in faults:
            proxy = Proxy(url, fault)
            thread = threading.Thread(target=proxy.serve_forever, daemon=True)
            thread.start()
            failed, everything, output = run_suite("http://127.0.0.1:%d" % proxy.server_address[1], skip)
            proxy.shutdown()
            proxy.server_close()
            if options.only:
                print(output)
            if fault is None:
                if failed:
                    print(output)
                    print("the suite fails through the proxy without a fault: %s" % sorted(failed))
                    return 1
                tests = everything
                continue
            caught[fault] = failed
            print("%-28s fails %2d: %s" % (fault, len(failed), " ".join(sorted(failed))), flush=True)
        if options.only:
            return 0
        missed_faults = [fault for fault, failed in caught.items() if not failed]
        never_failed = sorted(tests - set().union(*caught.values()))
        print()
        print("faults no check caught: %s" % (missed_faults or "none"))
        print("checks no fault failed: %s" % (never_failed or "none"))
        return 1 if missed_faults or never_failed else 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
