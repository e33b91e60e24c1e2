"""The notebook side of jupyter-flows: magics, widgets and the Jupyter server extension."""
