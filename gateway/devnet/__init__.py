"""A whole consortium on one machine, for the demo, the tests and the benchmarks."""

from gateway._demo import DemoReport, run_demo
from gateway._localnet import LocalConsortium, create_local_consortium
from gateway._processes import start_gateways, stop_gateways

__all__ = [
    "DemoReport",
    "LocalConsortium",
    "create_local_consortium",
    "run_demo",
    "start_gateways",
    "stop_gateways",
]
