"""Import paths Prefect 1 users know (``prefect.utilities.edges``, ``prefect.utilities.tasks``).

The names live in :mod:`jupyter_flows.core`; these modules only point at them.
"""
