"""Suite-wide rules.

With ``CI=true`` nothing may be skipped: a test whose service is missing must fail, so
a skip is turned into a failure here. Tests that need a service (PostgreSQL, MariaDB,
etcd, Chromium) should fail loudly when it is absent rather than skip in the first place.
"""

from __future__ import annotations

import os
from collections.abc import Generator

# gRPC core reads its TLS 1.2 cipher list when grpc is first imported; several packages
# import grpc (the etcd client, the gateway), in whatever order pytest collects them, so
# the gateway's TLS-1.3-only pin (gateway/_tls.py) is applied here before any of them.
from gateway._tls import pin_tls13_environment

pin_tls13_environment()

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Hypothesis' per-example deadline is a time assertion: on a busy machine (CI beside two
# CPU hogs) a 200 ms example is no bug, nor is slow data generation. Correctness is what
# the properties check.
settings.register_profile("riskshare", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("riskshare")

_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if _CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which is not allowed: {report.longrepr}"
