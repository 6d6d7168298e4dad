"""What the server receives from clusters through the broker: presence, play reports, time requests.

The cluster is known from the topic alone (the broker's ACL lets a cluster write only under its own name).
Time requests are answered at once on the cluster's ``time/resp`` topic over the same authenticated
connection. A payload that does not parse is counted and dropped: a cluster's bug must not reach the
server's state.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from streaming.broker.messages import PlayReport, Status, TimeReply, TimeRequest
from streaming.broker.publisher import Publishes
from streaming.broker.topics import Kind, Topics

SUBSCRIPTIONS = (Kind.STATUS, Kind.REPORT, Kind.TIME_REQUEST)
_KIND_LABELS = {Kind.STATUS: "status", Kind.REPORT: "report", Kind.TIME_REQUEST: "time_request"}


@dataclass
class InboxCounters:
    statuses: int = 0
    reports: int = 0
    time_requests: int = 0
    malformed: int = 0
    unexpected: int = 0  # topics outside the layout or not for the server
    # "kind:outcome" -> messages, for /metrics: kind status|report|time_request|other,
    # outcome ok|malformed|unexpected
    by_kind: Counter[str] = field(default_factory=Counter)


class Inbox:
    def __init__(
        self,
        topics: Topics,
        replies: Publishes,
        *,
        on_status: Callable[[str, Status], None] | None = None,
        on_report: Callable[[str, PlayReport], None] | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.topics = topics
        self._replies = replies
        self._on_status = on_status
        self._on_report = on_report
        self._wall = wall
        self.statuses: dict[str, Status] = {}  # the last of each cluster: who is online
        self.counters = InboxCounters()

    def filters(self) -> list[str]:
        """The server's subscriptions (QoS 1: status and reports must not be lost on the way in)."""
        return [self.topics.all_clusters(k) for k in SUBSCRIPTIONS]

    def handle(self, topic: str, payload: bytes) -> None:
        t2 = self._wall()
        try:
            parsed = self.topics.parse(topic)
        except ValueError:
            self.counters.unexpected += 1
            self.counters.by_kind["other:unexpected"] += 1
            return
        kind = _KIND_LABELS.get(parsed.kind, "other")
        try:
            if parsed.kind is Kind.STATUS:
                status = Status.parse(payload)
                self.counters.statuses += 1
                self.statuses[parsed.id] = status
                if self._on_status is not None:
                    self._on_status(parsed.id, status)
            elif parsed.kind is Kind.REPORT:
                report = PlayReport.parse(payload)
                self.counters.reports += 1
                if self._on_report is not None:
                    self._on_report(parsed.id, report)
            elif parsed.kind is Kind.TIME_REQUEST:
                request = TimeRequest.parse(payload)
                self.counters.time_requests += 1
                reply = TimeReply(request.nonce, request.t1, t2, self._wall())
                self._replies.publish(self.topics.time_reply(parsed.id), reply.serialize(), 0, False)
            else:
                self.counters.unexpected += 1
                self.counters.by_kind[f"{kind}:unexpected"] += 1
                return
        except ValueError:
            self.counters.malformed += 1
            self.counters.by_kind[f"{kind}:malformed"] += 1
            return
        self.counters.by_kind[f"{kind}:ok"] += 1
