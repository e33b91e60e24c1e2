"""``GET agents`` gives the Lab what it needs to say "last seen 3 s ago": the server's clock beside each agent's
last beat, so a browser on another machine with another clock still reads the age right."""

from __future__ import annotations

import time

import pytest
from server_helpers import wait_for

pytestmark = pytest.mark.slow


async def test_the_agents_answer_carries_the_server_clock_to_read_ages_against(api):
    before = time.time()
    status, body = await api("GET", "agents")

    assert status == 200 and before <= body["now"] <= time.time()


async def test_a_live_agent_was_last_seen_within_its_stale_threshold_of_the_server_clock(api, agent):
    async def live_agents():
        _, body = await api("GET", "agents")
        return [(a, body["now"]) for a in body["agents"] if a["live"]]

    [(listed, now)] = await wait_for(live_agents, what="the agent to register")

    from jupyter_flows.backend.agents import stale_after_s

    assert 0 <= now - listed["last_seen"] <= stale_after_s()


async def test_an_agent_that_stopped_is_still_listed_as_gone_with_its_last_beat(api, agent):
    async def agent_id():
        _, body = await api("GET", "agents")
        return next((a["id"] for a in body["agents"] if a["live"]), None)

    registered = await wait_for(agent_id, what="the agent to register")
    agent.send_signal(2)  # SIGINT, as Ctrl-C: the agent records that it stopped
    agent.wait(30)

    _, body = await api("GET", "agents")
    [gone] = [a for a in body["agents"] if a["id"] == registered]
    assert gone["live"] is False and gone["last_seen"] <= body["now"]
