"""Pick a flow's executor: LocalExecutor, a LocalDaskExecutor pool, or a DaskExecutor cluster."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ...exceptions import ExecutorError
from ...executors import DaskExecutor, Executor, LocalDaskExecutor, LocalExecutor

KINDS = [
    ("LocalExecutor: one task at a time, in the kernel", "LocalExecutor"),
    ("LocalDaskExecutor: a local pool of threads or processes", "LocalDaskExecutor"),
    ("DaskExecutor: a dask.distributed cluster", "DaskExecutor"),
]
KIND_NAMES = {name for _, name in KINDS}
TEMPORARY, CONNECT = "temporary cluster", "connect to a scheduler"


class ExecutorPicker(widgets.VBox):
    """A form for one executor; ``executor()`` builds it, ``error`` shows why it cannot.

    Options of a ``DaskExecutor`` the form does not show (``cluster_class``,
    other ``cluster_kwargs``, ``adapt_kwargs``, ``client_kwargs``) are kept.
    """

    def __init__(self, executor: Executor | None = None, **kwargs):
        style = {"description_width": "8em"}
        self.kind = widgets.Dropdown(options=KINDS, value="LocalExecutor", description="Executor", style=style,
                                     layout=widgets.Layout(width="40em"))
        self.scheduler = widgets.ToggleButtons(options=["threads", "processes", "synchronous"], value="threads",
                                               description="Pool of", style=style)
        self.num_workers = widgets.BoundedIntText(value=0, min=0, max=1024, description="Workers",
                                                  style=style, layout=widgets.Layout(width="14em"))
        self.num_workers_hint = widgets.HTML("<small>0 = one per CPU core</small>")
        self.dask_mode = widgets.RadioButtons(options=[TEMPORARY, CONNECT], value=TEMPORARY,
                                              description="Cluster", style=style)
        self.address = widgets.Text(value="", placeholder="tcp://127.0.0.1:8786", description="Address",
                                    style=style)
        self.n_workers = widgets.BoundedIntText(value=0, min=0, max=1024, description="n_workers",
                                                style=style, layout=widgets.Layout(width="14em"))
        self.n_workers_hint = widgets.HTML("<small>0 = dask's default</small>")
        self.error = widgets.HTML()
        self.kind.add_class("jupyter-flows-executor-kind")
        self.scheduler.add_class("jupyter-flows-scheduler")
        self.local_dask_box = widgets.VBox([self.scheduler,
                                            widgets.HBox([self.num_workers, self.num_workers_hint])])
        self.dask_box = widgets.VBox([self.dask_mode, self.address,
                                      widgets.HBox([self.n_workers, self.n_workers_hint])])
        self._kept = DaskExecutor()
        super().__init__([self.kind, self.local_dask_box, self.dask_box, self.error], **kwargs)
        self.set_executor(executor)
        for control in (self.kind, self.dask_mode):
            control.observe(lambda change: self._show(), "value")
        self._show()

    def set_executor(self, executor: Executor | None) -> None:
        """Show ``executor`` in the form (``None`` shows LocalExecutor)."""
        executor = executor or LocalExecutor()
        name = type(executor).__name__
        self.kind.value = name if name in KIND_NAMES else "LocalExecutor"
        if isinstance(executor, LocalDaskExecutor):
            self.scheduler.value = executor.scheduler
            self.num_workers.value = executor.num_workers or 0
        if isinstance(executor, DaskExecutor):
            self._kept = executor
            self.dask_mode.value = CONNECT if executor.address else TEMPORARY
            self.address.value = executor.address or ""
            self.n_workers.value = int(executor.cluster_kwargs.get("n_workers") or 0)

    def _show(self) -> None:
        self.local_dask_box.layout.display = None if self.kind.value == "LocalDaskExecutor" else "none"
        self.dask_box.layout.display = None if self.kind.value == "DaskExecutor" else "none"
        connect = self.dask_mode.value == CONNECT
        self.address.layout.display = None if connect else "none"
        self.n_workers.layout.display = "none" if connect else None
        self.n_workers_hint.layout.display = "none" if connect else None

    def executor(self) -> Executor:
        """The executor the form describes; raises :class:`ExecutorError` (also shown) if it can't."""
        try:
            executor = self._build()
        except ExecutorError as exc:
            self.error.value = f'<span style="color:#dc3545">{html.escape(str(exc), quote=False)}</span>'
            raise
        self.error.value = ""
        return executor

    def _build(self) -> Executor:
        kind = self.kind.value
        if kind == "LocalExecutor":
            return LocalExecutor()
        if kind == "LocalDaskExecutor":
            return LocalDaskExecutor(scheduler=self.scheduler.value, num_workers=self.num_workers.value or None)
        if self.dask_mode.value == CONNECT:
            address = self.address.value.strip()
            if not address:
                raise ExecutorError("give the address of the dask scheduler to connect to, e.g. tcp://127.0.0.1:8786")
            return DaskExecutor(address=address, client_kwargs=self._kept.client_kwargs)
        cluster_kwargs = {k: v for k, v in self._kept.cluster_kwargs.items() if k != "n_workers"}
        if self.n_workers.value:
            cluster_kwargs["n_workers"] = self.n_workers.value
        return DaskExecutor(cluster_class=self._kept.cluster_class, cluster_kwargs=cluster_kwargs,
                            adapt_kwargs=self._kept.adapt_kwargs, client_kwargs=self._kept.client_kwargs,
                            debug=self._kept.debug)

    def on_change(self, callback) -> None:
        """Call ``callback()`` whenever any control of the form changes."""
        for control in (self.kind, self.scheduler, self.num_workers, self.dask_mode, self.address, self.n_workers):
            control.observe(lambda change: callback(), "value")
