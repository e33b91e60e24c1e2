"""``flow.visualize()``: draw a flow's graph, coloured by task state after a run.

With Graphviz's ``dot`` program installed the graph is a ``graphviz.Digraph``
(rendered to SVG by the notebook, or to ``filename`` in the format its
extension names). Without it, a simple layered layout is drawn here as SVG:
each task one row below its lowest upstream task, rows ordered to keep
edges short.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

from ..core.parameter import Parameter
from ..engine.state import Mapped, State
from ..exceptions import ConfigurationError

NODE_HEIGHT = 36
H_GAP = 28
V_GAP = 64
MARGIN = 16
CHAR_WIDTH = 7.4


def has_dot() -> bool:
    """True when Graphviz's ``dot`` program is on the PATH (the ``graphviz`` package needs it to render)."""
    return shutil.which("dot") is not None


def task_states(flow_state: State | None) -> dict:
    """``{task: state}`` from a finished flow state (its ``result``); empty without one."""
    if flow_state is None:
        return {}
    result = flow_state.result
    if not isinstance(result, dict):
        raise ConfigurationError(
            f"visualize(flow_state=...) needs the final state of a flow run (its result maps tasks to states), "
            f"got {flow_state!r}"
        )
    return result


def _node_state(state: State | None) -> tuple[str | None, str | None]:
    """The colour and the text a node shows for its task's state (a map shows its failures)."""
    if state is None:
        return None, None
    if isinstance(state, Mapped):
        failed = sum(1 for s in state.map_states if s.is_failed())
        total = len(state.map_states)
        if failed:
            return "#dc3545", f"Mapped {total} ({failed} failed)"
        return state.color, f"Mapped {total}"
    return state.color, state.name


def _is_mapped(flow, task) -> bool:
    return any(e.mapped for e in flow.upstream_edges()[task])


def _edge_label(edge) -> str:
    label = edge.key or ""
    if edge.flattened:
        label = f"{label} (flattened)".strip()
    return label


def visualize(flow, flow_state: State | None = None, filename: str | None = None):
    """Draw ``flow``; colour its tasks by ``flow_state`` (a finished run's state); save to ``filename``.

    Returns a ``graphviz.Digraph`` when ``dot`` is installed, else a
    :class:`FlowGraphSVG`; both display as SVG in a notebook.
    """
    states = task_states(flow_state)
    if has_dot():
        graph = graphviz_graph(flow, states)
        if filename is not None:
            suffix = Path(filename).suffix.lstrip(".") or "svg"
            graph.render(outfile=str(filename), format=suffix, cleanup=True)
        return graph
    graph = FlowGraphSVG(flow, states)
    if filename is not None:
        graph.save(filename)
    return graph


def graphviz_graph(flow, states: dict | None = None):
    """The flow as a ``graphviz.Digraph``: parameters as boxes, mapped tasks with a double border."""
    import graphviz

    states = states or {}
    graph = graphviz.Digraph(name=flow.name, graph_attr={"rankdir": "TB", "fontname": "sans-serif"},
                             node_attr={"fontname": "sans-serif", "fontsize": "11"},
                             edge_attr={"fontname": "sans-serif", "fontsize": "9"})
    for task in flow.sorted_tasks():
        color, state_text = _node_state(states.get(task))
        label = task.name if state_text is None else f"{task.name}\n{state_text}"
        attrs = {"shape": "box" if isinstance(task, Parameter) else "ellipse"}
        if _is_mapped(flow, task):
            attrs["peripheries"] = "2"
        if color:
            attrs.update(style="filled", fillcolor=color)
        state = states.get(task)
        if state is not None and state.message:
            attrs["tooltip"] = state.message
        graph.node(flow.slugs[task], label=label, **attrs)
    for edge in sorted(flow.edges, key=lambda e: (e.upstream_task._id, e.downstream_task._id, e.key or "")):
        attrs = {"style": "dashed"} if edge.mapped else {}
        graph.edge(flow.slugs[edge.upstream_task], flow.slugs[edge.downstream_task], label=_edge_label(edge),
                   **attrs)
    return graph


class FlowGraphSVG:
    """A flow drawn as SVG without Graphviz: a layered layout from the topological order."""

    def __init__(self, flow, states: dict | None = None):
        self.flow = flow
        self.states = states or {}
        self.positions: dict[Any, tuple[float, float, float]] = {}  # task -> (x, y, width)
        self._layout()
        self.source = self._svg()

    def _layers(self) -> list[list]:
        upstream = self.flow.upstream_edges()
        depth: dict = {}
        for task in self.flow.sorted_tasks():
            depth[task] = 1 + max((depth[e.upstream_task] for e in upstream[task]), default=-1)
        layers: list[list] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for task in self.flow.sorted_tasks():
            layers[depth[task]].append(task)
        # One pass of the barycentre heuristic: a task sits under the mean position of its upstream tasks.
        order = {task: i for i, task in enumerate(layers[0])} if layers else {}
        for layer in layers[1:]:
            def centre(task):
                ups = [order[e.upstream_task] for e in upstream[task]]
                return sum(ups) / len(ups)
            layer.sort(key=centre)
            order.update({task: i for i, task in enumerate(layer)})
        return layers

    def _label(self, task) -> tuple[str, str | None]:
        return task.name, _node_state(self.states.get(task))[1]

    def _width(self, task) -> float:
        name, state_text = self._label(task)
        return max(80.0, CHAR_WIDTH * max(len(name), len(state_text or "")) + 24)

    def _layout(self) -> None:
        layers = self._layers()
        row_widths = [sum(self._width(t) for t in layer) + H_GAP * (len(layer) - 1) for layer in layers]
        self.width = max(row_widths, default=0) + 2 * MARGIN
        self.height = len(layers) * NODE_HEIGHT + max(len(layers) - 1, 0) * V_GAP + 2 * MARGIN
        for row, (layer, row_width) in enumerate(zip(layers, row_widths)):
            x = (self.width - row_width) / 2
            y = MARGIN + row * (NODE_HEIGHT + V_GAP)
            for task in layer:
                width = self._width(task)
                self.positions[task] = (x, y, width)
                x += width + H_GAP

    def _svg(self) -> str:
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}" height="{self.height:.0f}" '
            f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" font-family="sans-serif" font-size="11">',
            f"<title>{html.escape(self.flow.name)}</title>",
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        ]
        for edge in sorted(self.flow.edges, key=lambda e: (e.upstream_task._id, e.downstream_task._id, e.key or "")):
            parts.append(self._edge_svg(edge))
        for task in self.flow.sorted_tasks():
            parts.append(self._node_svg(task))
        parts.append("</svg>")
        return "\n".join(parts)

    def _edge_svg(self, edge) -> str:
        ux, uy, uw = self.positions[edge.upstream_task]
        dx, dy, dw = self.positions[edge.downstream_task]
        x1, y1, x2, y2 = ux + uw / 2, uy + NODE_HEIGHT, dx + dw / 2, dy
        dash = ' stroke-dasharray="5,4"' if edge.mapped else ""
        line = (f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555"'
                f'{dash} marker-end="url(#arrow)"/>')
        label = _edge_label(edge)
        if label:
            line += (f'<text x="{(x1 + x2) / 2 + 4:.1f}" y="{(y1 + y2) / 2:.1f}" fill="#333" font-size="9">'
                     f"{html.escape(label)}</text>")
        return line

    def _node_svg(self, task) -> str:
        x, y, width = self.positions[task]
        color, state_text = _node_state(self.states.get(task))
        fill = color or "#ffffff"
        text_color = "#ffffff" if color else "#222222"
        radius = 4 if isinstance(task, Parameter) else NODE_HEIGHT / 2
        slug = html.escape(self.flow.slugs[task])
        out = [f'<g class="task" data-slug="{slug}">']
        state = self.states.get(task)
        if state is not None and state.message:
            out.append(f"<title>{html.escape(state.message)}</title>")
        if _is_mapped(self.flow, task):
            out.append(f'<rect x="{x + 4:.1f}" y="{y + 4:.1f}" width="{width:.1f}" height="{NODE_HEIGHT}" '
                       f'rx="{radius}" fill="{fill}" stroke="#555"/>')
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{NODE_HEIGHT}" rx="{radius}" '
                   f'fill="{fill}" stroke="#555"/>')
        centre = x + width / 2
        if state_text:
            out.append(f'<text x="{centre:.1f}" y="{y + 15:.1f}" text-anchor="middle" fill="{text_color}">'
                       f"{html.escape(task.name)}</text>")
            out.append(f'<text x="{centre:.1f}" y="{y + 29:.1f}" text-anchor="middle" fill="{text_color}" '
                       f'font-size="9">{html.escape(state_text)}</text>')
        else:
            out.append(f'<text x="{centre:.1f}" y="{y + 22:.1f}" text-anchor="middle" fill="{text_color}">'
                       f"{html.escape(task.name)}</text>")
        out.append("</g>")
        return "".join(out)

    def _repr_svg_(self) -> str:
        return self.source

    def save(self, filename: str) -> None:
        """Write the drawing to ``filename`` (``.svg``, or ``.html`` for a page around it)."""
        path = Path(filename)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            path.write_text(self.source)
        elif suffix in (".html", ".htm"):
            path.write_text(f"<!doctype html><meta charset='utf-8'><title>{html.escape(self.flow.name)}</title>"
                            f"{self.source}")
        else:
            raise ConfigurationError(
                f"without Graphviz's dot program a flow graph can be saved as .svg or .html, not {filename!r}; "
                "install Graphviz (apt-get install graphviz) for other formats"
            )

    def __repr__(self) -> str:
        return f"<FlowGraphSVG {self.flow.name!r}: {len(self.positions)} tasks>"
