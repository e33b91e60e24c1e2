"""ipywidgets for flows: the configuration form, the live run view and the tables of the magics."""
