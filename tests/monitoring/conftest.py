"""A Pushgateway per test module: Debian's, started on 127.0.0.1 and stopped by PID
(tests/support/monitoring.py). The Kafka broker fixture is the session's one (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.monitoring import Server, binary, start
from tests.support.net import free_port


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Pushgateway of the test module's own (the groups pushed are what the module made)."""
    exe = binary("prometheus-pushgateway")
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path_factory.mktemp("pushgateway") / "pushgateway.log"
    # Debian's build persists to /var/lib/prometheus by default: keep each run's state its own
    server = start([exe, f"--web.listen-address={address}",
                    f"--persistence.file={log.parent / 'pushgateway.data'}"],
                   address, log, "/-/ready")
    yield server
    server.stop()
