"""The tutorial's hello-flow: greet people in parallel, with the greeting from the environment.

This is the flow of the "Flow Configuration" tutorial: ``GREETING`` comes
from the run config's environment (``LocalRun``), and ``LocalDaskExecutor``
runs the mapped ``say_hello`` children at the same time, so three greetings of
``SLEEP_SECONDS`` each take about ``SLEEP_SECONDS`` in all. Running this file
registers the flow under the "tutorial" project::

    python -m jupyter_flows.examples.hello_flow
"""

import os
import time

import jupyter_flows
from jupyter_flows import Flow, Parameter, task
from jupyter_flows.executors import LocalDaskExecutor
from jupyter_flows.run_configs import LocalRun

#: How long each greeting pretends to work (the tutorial uses 10 s).
SLEEP_SECONDS = 1.0

PEOPLE = ["Arthur", "Ford", "Marvin"]


@task
def say_hello(name):
    # Add a sleep to simulate some long-running task
    time.sleep(SLEEP_SECONDS)
    # Load the greeting to use from an environment variable
    greeting = os.environ.get("GREETING")
    logger = jupyter_flows.context.get("logger")
    logger.info(f"{greeting}, {name}!")


with Flow("hello-flow") as flow:
    people = Parameter("people", default=PEOPLE)
    say_hello.map(people)

# Configure the `GREETING` environment variable for this flow
flow.run_config = LocalRun(env={"GREETING": "Hello"})

# Use a `LocalDaskExecutor` to run this flow
# This will run tasks in a thread pool, allowing for parallel execution
flow.executor = LocalDaskExecutor()

if __name__ == "__main__":
    # Register the flow under the "tutorial" project
    flow.register(project_name="tutorial")
