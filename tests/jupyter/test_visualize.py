"""flow.visualize(): Graphviz when dot is installed, a layered SVG of our own when it is not."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import graphviz
import pytest

from jupyter_flows import Flow, Parameter, task
from jupyter_flows.exceptions import ConfigurationError
from jupyter_flows.jupyter.visualize import FlowGraphSVG

SVG = "{http://www.w3.org/2000/svg}"


@task
def say_hello(name):
    return f"Hello, {name}!"


@task
def shout(greetings):
    if len(greetings) > 2:
        raise ValueError("too loud")
    return [g.upper() for g in greetings]


@task
def both(a, b):
    return [a, b]


@pytest.fixture
def flow():
    with Flow("hello-flow") as flow:
        people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
        shout(greetings=say_hello.map(people))
    return flow


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which Graphviz's dot cannot be found (the python executable stays reachable)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed "
                               "(apt-get install graphviz)")


@needs_dot
def test_with_dot_the_graph_is_a_graphviz_digraph_with_every_task_and_edge(flow):
    graph = flow.visualize()
    assert isinstance(graph, graphviz.Digraph)
    source = graph.source
    for slug in ("people", "say_hello-1", "shout-1"):
        assert f"\t{slug} [" in source or f'\t"{slug}" [' in source
    assert "people -> \"say_hello-1\"" in source and "style=dashed" in source
    assert "peripheries=2" in source
    svg = graph.pipe(format="svg").decode()
    assert "<svg" in svg and "say_hello" in svg


@needs_dot
def test_with_a_finished_state_tasks_are_coloured_by_their_state(flow):
    state = flow.run()
    assert state.is_failed()
    source = flow.visualize(flow_state=state).source
    assert 'fillcolor="#dc3545"' in source  # shout failed
    assert "Mapped 3" in source and 'fillcolor="#97c8a1"' in source  # say_hello's three children succeeded
    assert 'tooltip="ValueError: too loud"' in source


@needs_dot
def test_visualize_writes_the_file_named(flow, tmp_path):
    target = tmp_path / "hello.svg"
    flow.visualize(filename=str(target))
    assert target.read_text().lstrip().startswith("<?xml") and "<svg" in target.read_text()
    png = tmp_path / "hello.png"
    flow.visualize(filename=str(png))
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_without_dot_a_layered_svg_puts_every_task_below_its_upstream_tasks(flow, no_dot):
    graph = flow.visualize()
    assert isinstance(graph, FlowGraphSVG)
    root = ET.fromstring(graph._repr_svg_())
    slugs = [g.get("data-slug") for g in root.iter(f"{SVG}g")]
    assert slugs == ["people", "say_hello-1", "shout-1"]
    y = {flow.slugs[t]: graph.positions[t][1] for t in flow.tasks}
    assert y["people"] < y["say_hello-1"] < y["shout-1"]
    lines = list(root.iter(f"{SVG}line"))
    assert len(lines) == len(flow.edges) == 2
    assert sum(1 for line in lines if line.get("stroke-dasharray")) == 1  # the mapped edge


def test_without_dot_a_finished_state_colours_the_nodes(flow, no_dot):
    state = flow.run()
    svg = flow.visualize(flow_state=state)._repr_svg_()
    assert 'fill="#dc3545"' in svg and "Mapped 3" in svg and "<title>ValueError: too loud</title>" in svg


def test_without_dot_parallel_tasks_sit_side_by_side(no_dot):
    with Flow("fan") as flow:
        people = Parameter("people", default=["Arthur"])
        both(say_hello(people), say_hello(people))
    graph = flow.visualize()
    rows = {}
    for t, (x, y, width) in graph.positions.items():
        rows.setdefault(y, []).append((x, width))
    assert sorted(len(r) for r in rows.values()) == [1, 1, 2]
    pair = sorted(next(r for r in rows.values() if len(r) == 2))
    assert pair[0][0] + pair[0][1] < pair[1][0]  # no overlap


def test_without_dot_the_graph_saves_as_svg_or_html_and_explains_other_formats(flow, no_dot, tmp_path):
    flow.visualize(filename=str(tmp_path / "g.svg"))
    assert (tmp_path / "g.svg").read_text().startswith("<svg")
    flow.visualize(filename=str(tmp_path / "g.html"))
    assert "<svg" in (tmp_path / "g.html").read_text()
    with pytest.raises(ConfigurationError, match="as .svg or .html, not .*g.png"):
        flow.visualize(filename=str(tmp_path / "g.png"))


def test_a_state_that_is_not_a_flow_runs_state_is_refused(flow):
    from jupyter_flows.engine.state import Success

    with pytest.raises(ConfigurationError, match="needs the final state of a flow run"):
        flow.visualize(flow_state=Success(result=42))
