"""The jupyter_server extension: a JSON REST API over the backend under ``/jupyter-flows/api/``.

The JupyterLab extension (labextension/) is its client. Enabled by the
``jupyter_server_config.d/jupyter_flows.json`` switch the wheel installs, or
by ``jupyter server extension enable jupyter_flows``. The extension is an
``ExtensionApp`` (``app.JupyterFlows``), configured as ``c.JupyterFlows.*``.
"""

