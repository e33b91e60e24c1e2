"""What the notebook-layer tests share: the hello-flow cells and running a cell that must succeed."""

from __future__ import annotations


HELLO_TASK = '''
import os
from jupyter_flows import task, Parameter, context

@task
def say_hello(name):
    greeting = os.environ.get("GREETING", "Hello")
    context.get("logger").info(f"{greeting}, {name}!")
    return f"{greeting}, {name}!"
'''

HELLO_FLOW_CELL = '''%%flow hello-flow
people = Parameter("people", default=["Arthur", "Ford", "Marvin"])
say_hello.map(people)
'''


def run(shell, code: str):
    """Run a cell and fail the test with the cell's own error if it raised."""
    result = shell.run_cell(code)
    if not result.success:
        raise result.error_in_exec or result.error_before_exec
    return result.result
