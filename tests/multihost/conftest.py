"""The multi-host lab (see hosts.py): two namespaced hosts, PostgreSQL and git daemon on a private bridge."""

from __future__ import annotations

import os
import shutil

import pytest

from hosts import Lab


@pytest.fixture
def lab():
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("the multi-host lab needs root, iproute2 (ip) and unshare")
    lab = Lab(n_hosts=2)
    try:
        yield lab
    finally:
        lab.close()
