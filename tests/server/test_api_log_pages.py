"""The logs endpoint answers in pages: a run with many lines is never read into one answer."""

from __future__ import annotations

import pytest

from server_helpers import register_hello_flow

pytestmark = pytest.mark.slow


@pytest.fixture
def chatty_run(backend):
    """A run with 2,500 log lines, written as an agent's recorder writes them."""
    run = backend.create_flow_run(register_hello_flow())
    backend.write_logs(run["id"], [{"message": f"line {i}", "level": "INFO"} for i in range(2500)])
    return run


async def test_logs_come_in_pages_of_1000_by_default_with_has_more(api, chatty_run):
    _, page = await api("GET", "flow-runs", chatty_run["id"], "logs")

    assert len(page["logs"]) == 1000 and page["has_more"] is True
    assert page["logs"][0]["message"] == "line 0" and page["last_id"] == page["logs"][-1]["id"]


async def test_following_last_id_until_has_more_is_false_reads_every_line_once(api, chatty_run):
    messages, after, pages = [], None, 0
    while True:
        _, page = await api("GET", "flow-runs", chatty_run["id"], "logs", params={"after": after or ""})
        messages += [line["message"] for line in page["logs"]]
        after, pages = page["last_id"], pages + 1
        if not page["has_more"]:
            break

    assert pages == 3
    assert messages == [f"line {i}" for i in range(2500)]


async def test_a_page_may_be_asked_up_to_10000_lines(api, chatty_run):
    _, small = await api("GET", "flow-runs", chatty_run["id"], "logs", params={"limit": "10"})
    _, large = await api("GET", "flow-runs", chatty_run["id"], "logs", params={"limit": "10000"})

    assert len(small["logs"]) == 10 and small["has_more"] is True
    assert len(large["logs"]) == 2500 and large["has_more"] is False
