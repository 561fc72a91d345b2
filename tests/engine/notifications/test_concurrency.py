"""``alerts.concurrency``: a slow receiver holds up only its own deliveries.

Two real HTTP receivers: ``slow`` keeps its request open until the test lets it answer,
``fast`` answers at once. The slow one's event is first in line. The assertions are
about order (the fast delivery is recorded while the slow request is still open), not
about how long anything took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.delivery.dispatcher import DispatchReport
from engine.delivery.notifications import build_notifier
from engine.models import DeliveryStatus
from tests.engine.notifications.conftest import (
    Receiver,
    Reply,
    Request,
    Sessions,
    add_event,
    alert_settings,
    deliveries,
    serving,
)
from tests.support.network import free_port

pytestmark = pytest.mark.postgres

PATIENCE = 30.0
"""Longest wait for something that happens at once when the notifier works (seconds)."""


@pytest.fixture
def slow() -> Iterator[Receiver]:
    with serving(Receiver(free_port())) as endpoint:
        yield endpoint


def _eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _statuses(sessions: Sessions) -> dict[str, DeliveryStatus]:
    return {d.target: d.status for d in deliveries(sessions)}


def test_a_fast_receiver_is_served_while_a_slow_one_still_holds_its_request(
    postgres_url: str, sessions: Sessions, receiver: Receiver, slow: Receiver, tmp_path: Path
) -> None:
    fast = receiver
    gate = threading.Event()
    slow.answer(Reply(gate=gate))
    settings = alert_settings(
        postgres_url,
        tmp_path / "home",
        webhooks={"slow": {"url": slow.url, "timeout": "60s"}, "fast": {"url": fast.url}},
        alerts={"concurrency": 2},
    )
    add_event(sessions, notify=("slow",))  # first in line
    add_event(sessions, notify=("fast",))
    notifier = build_notifier(settings, sessions)
    reports: list[DispatchReport] = []
    passing = threading.Thread(target=lambda: reports.append(notifier.run_once()))
    passing.start()
    try:
        assert _eventually(lambda: len(slow.requests) == 1)
        assert _eventually(lambda: _statuses(sessions).get("fast") is DeliveryStatus.DELIVERED)
        assert not gate.is_set()  # the slow receiver has not answered yet
        assert _statuses(sessions)["slow"] is DeliveryStatus.PENDING
        assert len(fast.requests) == 1
    finally:
        gate.set()
        passing.join(PATIENCE)
    assert not passing.is_alive()
    assert _statuses(sessions) == {
        "slow": DeliveryStatus.DELIVERED,
        "fast": DeliveryStatus.DELIVERED,
    }
    (report,) = reports
    assert (report.events, report.delivered) == (2, 2)


def test_one_target_gets_one_delivery_at_a_time_in_order(
    postgres_url: str, sessions: Sessions, receiver: Receiver, tmp_path: Path
) -> None:
    gate = threading.Event()
    receiver.answer(Reply(gate=gate))
    opened: list[bool] = []  # per request, in order: had the first been let go when it came?

    class Noting(list[Request]):
        def append(self, request: Request) -> None:
            opened.append(gate.is_set())
            super().append(request)

    receiver.requests = Noting()
    settings = alert_settings(
        postgres_url,
        tmp_path / "home",
        webhooks={"ops": {"url": receiver.url, "timeout": "60s"}},
        alerts={"concurrency": 4},
    )
    first = add_event(sessions, notify=("ops",))
    second = add_event(sessions, notify=("ops",))
    notifier = build_notifier(settings, sessions)
    passing = threading.Thread(target=notifier.run_once)
    passing.start()
    try:
        assert _eventually(lambda: len(receiver.requests) == 1)
    finally:
        gate.set()
        passing.join(PATIENCE)
    assert receiver.event_ids() == [first, second]
    # Free threads are no reason to open a second request to a receiver that is busy:
    # the second came only after the first had been let go.
    assert opened == [False, True]
    assert {d.status for d in deliveries(sessions)} == {DeliveryStatus.DELIVERED}
