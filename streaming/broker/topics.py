"""The topic layout, as pure functions: what each side publishes and subscribes to.

    {root}/g/{group}/media          server -> clusters   QoS 0   bundles of SRTP/SRTCP datagrams
    {root}/c/{cluster}/status       cluster -> server    QoS 1   retained; the last will says offline
    {root}/c/{cluster}/report       cluster -> server    QoS 1   one play report per bulletin played
    {root}/c/{cluster}/time/req     cluster -> server    QoS 0   time request (a nonce)
    {root}/c/{cluster}/time/resp    server -> cluster    QoS 0   time reply for that nonce
    {root}/g/{group}/ahead/{bulletin}  server -> clusters  QoS 1   retained; a bulletin delivered ahead
                                                                 (broker/ahead.py); empty clears it

``root`` is ``loa/v1``, or ``loa/v1/{prefix}`` when a deployment names one (a province), so that
bridged or clustered brokers can carry several deployments without their topics meeting.

Media is per group, not per cluster: one message reaches every cluster of the group, and a province
peak (~4,000 clusters x 50 frames/s) becomes one publish per group per bundle. Everything a cluster
writes lies under its own ``c/{cluster}/``, so the broker's ACL can say "write only under your name"
with one pattern (``%u``), and the server knows who sent a message from its topic alone: messages
carry no cluster id of their own to forge.

Ids (groups, clusters, prefix) follow the group id rule ``[a-z0-9-]{1,63}``: no ``/``, ``+``, ``#``
or ``$``, so an id can never widen a topic or an ACL pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

ID_RE = re.compile(r"[a-z0-9-]{1,63}")
BULLETIN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a bulletin (broadcast) id: no / + # $ either
VERSION_ROOT = "loa/v1"


class Kind(Enum):
    MEDIA = "media"
    STATUS = "status"
    REPORT = "report"
    TIME_REQUEST = "time/req"
    TIME_REPLY = "time/resp"


CLUSTER_KINDS = (Kind.STATUS, Kind.REPORT, Kind.TIME_REQUEST, Kind.TIME_REPLY)


def check_id(value: str, what: str = "id") -> str:
    if not isinstance(value, str) or ID_RE.fullmatch(value) is None:
        raise ValueError(f"{what} {value!r} is not of the form [a-z0-9-]{{1,63}}")
    return value


@dataclass(frozen=True)
class Parsed:
    kind: Kind
    id: str  # the group for MEDIA, else the cluster


@dataclass(frozen=True)
class Topics:
    prefix: str = ""

    def __post_init__(self) -> None:
        if self.prefix:
            check_id(self.prefix, "prefix")

    @property
    def root(self) -> str:
        return f"{VERSION_ROOT}/{self.prefix}" if self.prefix else VERSION_ROOT

    def media(self, group: str) -> str:
        return f"{self.root}/g/{check_id(group, 'group')}/media"

    def ahead(self, group: str, bulletin: str) -> str:
        if not isinstance(bulletin, str) or BULLETIN_RE.fullmatch(bulletin) is None:
            raise ValueError(f"bulletin {bulletin!r} is not of the form [A-Za-z0-9_-]{{1,64}}")
        return f"{self.root}/g/{check_id(group, 'group')}/ahead/{bulletin}"

    def ahead_filter(self, group: str | None = None) -> str:
        """A cluster's subscription to one group's items delivered ahead (the server's: every group)."""
        return f"{self.root}/g/{'+' if group is None else check_id(group, 'group')}/ahead/+"

    def parse_ahead(self, topic: str) -> tuple[str, str]:
        """(group, bulletin) of a delivered-ahead topic, or ValueError."""
        head = self.root + "/g/"
        parts = topic[len(head) :].split("/") if topic.startswith(head) else []
        if len(parts) != 3 or parts[1] != "ahead" or BULLETIN_RE.fullmatch(parts[2]) is None:
            raise ValueError(f"topic {topic!r} is not a delivered-ahead topic")
        return check_id(parts[0], "group"), parts[2]

    def cluster(self, kind: Kind, cluster: str) -> str:
        if kind is Kind.MEDIA:
            raise ValueError("media topics are per group")
        return f"{self.root}/c/{check_id(cluster, 'cluster')}/{kind.value}"

    def status(self, cluster: str) -> str:
        return self.cluster(Kind.STATUS, cluster)

    def report(self, cluster: str) -> str:
        return self.cluster(Kind.REPORT, cluster)

    def time_request(self, cluster: str) -> str:
        return self.cluster(Kind.TIME_REQUEST, cluster)

    def time_reply(self, cluster: str) -> str:
        return self.cluster(Kind.TIME_REPLY, cluster)

    def all_clusters(self, kind: Kind) -> str:
        """The server's subscription filter for one kind of cluster message, e.g. ``loa/v1/c/+/status``."""
        if kind is Kind.MEDIA:
            return f"{self.root}/g/+/media"
        return f"{self.root}/c/+/{kind.value}"

    def acl_pattern(self, kind: Kind) -> str:
        """Mosquitto's ``pattern`` form (``%u`` is the username, which is the cluster id)."""
        if kind is Kind.MEDIA:
            raise ValueError("media topics are per group")
        return f"{self.root}/c/%u/{kind.value}"

    def parse(self, topic: str) -> Parsed:
        """Which message and whose, or ValueError for a topic outside this layout."""
        head = self.root + "/"
        if not topic.startswith(head):
            raise ValueError(f"topic {topic!r} is not under {self.root}")
        parts = topic[len(head) :].split("/")
        if len(parts) == 3 and parts[0] == "g" and parts[2] == "media":
            return Parsed(Kind.MEDIA, check_id(parts[1], "group"))
        if len(parts) >= 3 and parts[0] == "c":
            rest = "/".join(parts[2:])
            for kind in CLUSTER_KINDS:
                if rest == kind.value:
                    return Parsed(kind, check_id(parts[1], "cluster"))
        raise ValueError(f"topic {topic!r} is not a Loa topic")
