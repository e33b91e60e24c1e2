"""Runs a flow: states, the task runner that executes one task, the flow runner that plans a run."""
