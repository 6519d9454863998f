"""Local queries over the local view: a filter, an order, pages by cursor,
a count, and the refusals. No server: a query reads this store only."""

from __future__ import annotations

import queue

import pytest

import ferry

TASKS = {
    "t1": {"project": "p1", "due": 3, "title": "Re: plan"},
    "t2": {"project": "p1", "due": 1},
    "t3": {"project": "p2", "due": 2},
    "t4": {"project": "p1", "due": 2, "done": True},
}


@pytest.fixture
def client(open_client):
    client = open_client("a", endpoint="http://127.0.0.1:9")
    for key, value in TASKS.items():
        client.put("tasks", key, value)
    return client


def test_a_filtered_sorted_query_pages_to_the_end(client):
    where = {"path": "project", "eq": "p1"}
    page = client.query("tasks", where=where, order_by=["due"], limit=2)
    assert isinstance(page, ferry.QueryPage)
    assert [document.key for document in page.documents] == ["t2", "t4"]
    assert page.documents[1].value == TASKS["t4"]
    assert page.next is not None
    last = client.query("tasks", where=where, order_by=["due"], limit=2, after=page.next)
    assert ([document.key for document in last.documents], last.next) == (["t1"], None)
    descending = client.query("tasks", order_by=[{"path": "due", "desc": True}, "project"])
    assert [document.key for document in descending.documents] == ["t1", "t4", "t3", "t2"]


def test_filters_combine_and_count(client):
    open_or_replied = {"or": [{"path": "done", "exists": False}, {"path": "title", "prefix": "Re:"}]}
    assert client.count("tasks", {"and": [{"path": "project", "in": ["p1"]}, open_or_replied]}) == 2
    assert client.count("tasks") == 4
    client.remove("tasks", "t3")  # a pending delete counts too
    assert client.count("tasks", {"path": "due", "gte": 2}) == 2


def test_a_query_that_is_not_one_is_refused(client):
    with pytest.raises(ferry.InvalidArgumentError):
        client.query("tasks", where={"path": "due", "like": 1})
    with pytest.raises(ferry.InvalidArgumentError):
        client.query("tasks", after="not a cursor")
    with pytest.raises(TypeError):
        client.query(7)
    with pytest.raises(TypeError):
        client.count("tasks", where={"path": "due", "eq": {1, 2}})


def test_an_index_answers_in_order_and_follows_its_declaration(open_client):
    indexes = [{"collection": "tasks", "paths": ["project", "due"], "name": "by_due"}]
    client = open_client("indexed", endpoint="http://127.0.0.1:9", indexes=indexes)
    for key, value in TASKS.items():
        client.put("tasks", key, value)
    where = {"path": "project", "eq": "p1"}
    plan = client.explain("tasks", where=where, order_by=["due"], limit=2)
    assert (plan["index"], plan["equalities"], plan["ordered"]) == ("by_due", 1, True)
    page = client.query("tasks", where=where, order_by=["due"], limit=2)
    assert [document.key for document in page.documents] == ["t2", "t4"]
    assert client.explain("tasks", where={"path": "title", "eq": "x"})["index"] is None


def test_malformed_index_declarations_are_refused(open_client):
    with pytest.raises(TypeError):
        open_client("bad-type", endpoint="http://127.0.0.1:9", indexes="tasks")
    with pytest.raises(ferry.InvalidArgumentError):
        open_client("bad-declaration", endpoint="http://127.0.0.1:9", indexes=[{"collection": "tasks"}])


def test_a_live_query_delivers_pages_as_writes_change_it(client):
    pages: queue.Queue[ferry.LiveQueryPage] = queue.Queue()
    end = client.subscribe_query("tasks", pages.put, where={"path": "project", "eq": "p1"}, order_by=["due"], limit=2)
    first = pages.get(timeout=10)
    assert isinstance(first, ferry.LiveQueryPage)
    assert ([document.key for document in first.documents], first.added) == (["t2", "t4"], ["t2", "t4"])
    assert first.next is not None

    client.put("tasks", "t0", {"project": "p1", "due": 0})
    second = pages.get(timeout=10)
    assert [document.key for document in second.documents] == ["t0", "t2"]
    assert (second.added, second.removed, second.changed, second.moved) == (["t0"], ["t4"], [], [])

    # Another project's task cannot change the page: no page for it.
    client.put("tasks", "t9", {"project": "p2", "due": 0})
    client.put("tasks", "t2", {"project": "p1", "due": 9})
    third = pages.get(timeout=10)
    assert ([document.key for document in third.documents], third.added, third.removed) == (["t0", "t4"], ["t4"], ["t2"])

    end()
    end()  # twice is harmless
    client.put("tasks", "t1", {"project": "p1", "due": -1})
    with pytest.raises(queue.Empty):
        pages.get(timeout=0.3)


def test_a_live_query_that_is_not_one_is_refused(client):
    with pytest.raises(ferry.InvalidArgumentError):
        client.subscribe_query("tasks", print, after="not a cursor")
    with pytest.raises(TypeError):
        client.subscribe_query("tasks", "not callable")
