"""Inside a private network namespace: a LoaServer with the embedded broker on, cluster accounts made over
gRPC, clusters connecting with nothing but their bundles, presence, play reports, the per-cluster log,
isolation, garbage, and revocation. Prints JSON; test_server_broker.py judges it.

``python -m tests.broker.scenario_server DIR``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from prometheus_client import generate_latest

from engine import cli
from engine.api.client import Client
from engine.api.server import LoaServer
from engine.config import Config
from protos.loa.v1 import loa_pb2 as pb
from streaming.broker.bundle import Bundle, Datagram, Kind
from streaming.broker.client import BrokerClient
from streaming.broker.messages import PlayReport, State, Status, StopReason
from streaming.broker.provision import BrokerProvision
from streaming.broker.subscriber import BrokerSource

PREFIX = "test"
KILLED_CHILD = """
import sys, time
from streaming.broker.messages import State, Status
from streaming.broker.provision import BrokerProvision
from streaming.broker.subscriber import BrokerSource
p = BrokerProvision.load(sys.argv[1])
src = BrokerSource(p.settings(), p.topics(), list(p.groups), lambda *a: None,
                   status=lambda: Status(State.ONLINE, "0.9.0", 5.0, "4g", "", 38.0))
src.start()
src.client.connected.wait(10)
print("up", flush=True)
time.sleep(60)
"""


def wait(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def status_of(call: Callable[[], Any]) -> list[str]:
    try:
        call()
    except grpc.RpcError as exc:
        return [exc.code().name, exc.details() or ""]
    return ["OK", ""]


class Cluster:
    """A cluster made from its bundle alone, recording what reaches it."""

    def __init__(self, bundle: Path) -> None:
        self.provision = BrokerProvision.load(bundle)
        self.datagrams: list[tuple[str, str]] = []
        self.source = BrokerSource(
            self.provision.settings(),
            self.provision.topics(),
            list(self.provision.groups),
            lambda group, data, rtcp, at: self.datagrams.append((group, data.hex())),
            status=lambda: Status(State.ONLINE, "0.9.0", 3.0, "4g", ""),
        )
        self.source.start()


def main(directory: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    config = Config(
        listen="127.0.0.1:0", state_dir=directory / "state", voices_dir=directory / "voices", metrics_port=0,
        broker=True, broker_bind="127.0.0.1", broker_public_host="localhost", broker_prefix=PREFIX,
    )  # fmt: skip
    server = LoaServer(config).start()
    address = f"127.0.0.1:{server.port}"
    assert server.bootstrap_token and server.broker is not None
    token = server.bootstrap_token
    client = Client.connect(address, token)
    md = client.metadata
    try:
        for gid, addr, delay in (("ga", "239.9.1.1", 0.0), ("gb", "239.9.1.2", 0.8)):
            group = pb.Group(id=gid, name=gid, multicast_address=addr, port=5004)
            if delay:
                group.playout_delay.FromNanoseconds(int(delay * 1e9))
            client.groups.CreateGroup(pb.CreateGroupRequest(group=group), metadata=md)
        create = client.clusters.CreateCluster

        def attempt(cluster_id: str, groups: list[str], metadata: Any = md) -> list[str]:
            request = pb.CreateClusterRequest(cluster_id=cluster_id, group_ids=groups)
            return status_of(lambda: create(request, metadata=metadata))

        out["errors"] = {
            "bad_id": attempt("C/1", ["ga"]),
            "unknown_group": attempt("c-x", ["ga", "gz"]),
            "no_group": attempt("c-x", []),
            "no_token": attempt("c-x", ["ga"], ()),
        }
        ra = create(pb.CreateClusterRequest(cluster_id="c-a", group_ids=["ga"]), metadata=md)
        rb = create(pb.CreateClusterRequest(cluster_id="c-b", group_ids=["gb"]), metadata=md)
        rk = create(pb.CreateClusterRequest(cluster_id="c-k", group_ids=["ga", "gb"]), metadata=md)
        out["errors"]["duplicate"] = attempt("c-a", ["gb"])
        out["raised"] = [list(r.raised_delay_group_ids) for r in (ra, rb, rk)]
        bundles = {}
        for name, reply in (("a", ra), ("b", rb), ("k", rk)):
            bundles[name] = directory / f"{name}.json"
            bundles[name].write_text(reply.provisioning_bundle)
        raw = json.loads(ra.provisioning_bundle)
        out["bundle_a"] = {
            "url": raw["url"],
            "groups": raw["groups"],
            "prefix": raw["prefix"],
            "ca_pem_is_the_brokers": raw["ca_pem"] == server.broker.ca_pem(),
            "key_groups": [g["group"] for g in raw["keys"]["groups"]],
            "password_len": len(raw["password"]),
        }
        out["bundle_k_groups"] = json.loads(rk.provisioning_bundle)["groups"]

        # two clusters from their bundles, and one in a process we kill
        a, b = Cluster(bundles["a"]), Cluster(bundles["b"])
        killed = subprocess.Popen(
            [sys.executable, "-c", KILLED_CHILD, str(bundles["k"])], stdout=subprocess.PIPE, text=True
        )
        assert killed.stdout is not None and killed.stdout.readline().strip() == "up"

        def get(cid: str) -> pb.Cluster:
            return client.clusters.GetCluster(pb.GetClusterRequest(cluster_id=cid), metadata=md)

        out["online_within_s"] = wait(lambda: all(get(c).online for c in ("c-a", "c-b", "c-k")))
        out["k_online"] = json_format.MessageToDict(get("c-k"))
        listed = client.clusters.ListClusters(pb.ListClustersRequest(group_id="gb"), metadata=md)
        out["listed_gb"] = [(c.id, c.online) for c in listed.clusters]
        speakers = client.groups.ListSpeakers(pb.ListSpeakersRequest(group_id="ga"), metadata=md)
        out["speakers_ga"] = [(s.cname, s.cluster_id, s.online) for s in speakers.speakers]

        t0 = time.monotonic()
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        wait(lambda: not get("c-k").online)
        out["k_offline_after_s"] = time.monotonic() - t0
        out["k_offline"] = json_format.MessageToDict(get("c-k"))

        # a play report, delivered twice (QoS 1 may): stored once, in the log and in the CSV
        start = time.time() - 20
        report = PlayReport("0123456789abcdef", 0, start, start + 12, 600, 2, 1, StopReason.END)
        b.source.publish_report(report)
        b.source.publish_report(report)
        log_request = pb.ListPlayReportsRequest(cluster_id="c-b")
        wait(lambda: len(client.clusters.ListPlayReports(log_request, metadata=md).reports) >= 1)
        time.sleep(0.3)
        log = client.clusters.ListPlayReports(log_request, metadata=md)
        out["log_b"] = [json_format.MessageToDict(r) for r in log.reports]
        csv_path = directory / "log.csv"
        remote = ["--server", address, "--token", token]
        out["csv_rc"] = cli.main(
            ["speakers", "log", "--cluster", "c-b", "--csv", "-o", str(csv_path), *remote]
        )
        out["csv"] = csv_path.read_bytes().decode("utf-8")
        listing = io.StringIO()
        with contextlib.redirect_stdout(listing):
            out["list_rc"] = cli.main(["speakers", "list", *remote])
        out["list_text"] = listing.getvalue()

        # isolation: c-b's credentials cannot read ga's media, nor publish media or time replies
        b.source.stop()
        wait(lambda: not get("c-b").online, 5)
        out["b_after_stop"] = json_format.MessageToDict(get("c-b"))
        topics = server.broker.topics
        spy_got: list[tuple[str, str]] = []
        spy = BrokerClient(b.provision.settings(), lambda t, p: spy_got.append((t, p.hex())))
        for f in (topics.media("ga"), f"loa/v1/{PREFIX}/g/+/media", "loa/#", topics.time_reply("c-a")):
            spy.subscribe(f, 0)
        spy.start()
        assert spy.connected.wait(10)
        time.sleep(0.3)
        genuine = Bundle((Datagram(Kind.RTP, b"genuine"),)).serialize()
        forged = Bundle((Datagram(Kind.RTP, b"forged"),)).serialize()
        server.broker.publish(topics.media("ga"), genuine)
        spy.publish(topics.media("ga"), forged)
        spy.publish(topics.media("gb"), forged)
        spy.publish(topics.time_reply("c-a"), b'{"v":1,"nonce":"' + b"0" * 32 + b'","t1":1,"t2":2,"t3":3}')
        # garbage on every topic the server reads, from an authenticated cluster
        for payload in (b"{", b"\xff" * 10, b'{"v":1,"state":"asleep"}', b"x" * 5000):
            for topic in (topics.status("c-b"), topics.report("c-b"), topics.time_request("c-b")):
                spy.publish(topic, payload, 1)
        time.sleep(1.0)
        out["a_datagrams"] = a.datagrams
        out["a_source"] = dict(vars(a.source.counters))
        out["spy_got"] = spy_got
        spy.stop()

        # revocation: at once, and refused after
        drops: list[float] = []
        t0 = time.monotonic()
        client.clusters.RevokeCluster(pb.RevokeClusterRequest(cluster_id="c-a"), metadata=md)
        wait(lambda: not a.source.client.connected.is_set(), 5)
        drops.append(time.monotonic() - t0)
        time.sleep(2.5)  # its reconnects (backoff from 1 s) must all be refused
        out["revoked"] = {
            "dropped_after_s": drops[0],
            "connected": a.source.client.connected.is_set(),
            "refusals": a.source.client.refusals,
            "reason": a.source.client.refusal_reason,
            "cluster": json_format.MessageToDict(get("c-a")),
            "listed": [
                c.id for c in client.clusters.ListClusters(pb.ListClustersRequest(), metadata=md).clusters
            ],
        }
        a.source.stop()

        # new groups and a new password for c-b: a new bundle; the old password is refused at once
        update = client.clusters.UpdateCluster
        moved = update(
            pb.UpdateClusterRequest(cluster_id="c-b", group_ids=["gb", "ga"], new_password=True), metadata=md
        )
        new_bundle = json.loads(moved.provisioning_bundle)
        old = BrokerClient(b.provision.settings(), lambda t, p: None)
        old.start()
        out["old_password_connects"] = old.connected.wait(2)
        out["old_password_reason"] = old.refusal_reason
        old.stop()
        (directory / "b2.json").write_text(moved.provisioning_bundle)
        b2 = Cluster(directory / "b2.json")
        out["new_password_connects"] = b2.source.client.connected.wait(5)
        time.sleep(0.3)
        server.broker.publish(topics.media("ga"), genuine)
        wait(lambda: bool(b2.datagrams), 3)
        out["moved"] = {
            "groups": list(moved.cluster.group_ids),
            "bundle_groups": sorted(new_bundle["groups"]),
            "key_groups": sorted(g["group"] for g in new_bundle["keys"]["groups"]),
            "gets_ga_media": list(b2.datagrams),
        }
        # a broadcast on ga through the server's own pacer: its SRTP datagrams reach the 4G cluster
        before = len(b2.datagrams)
        segment = pb.Segment(language="vi", text="Xin chào bà con.")
        client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(segments=[segment], group_ids=["ga"]), metadata=md
        )
        wait(lambda: len(b2.datagrams) - before >= 50, 30)
        out["broadcast_datagrams"] = len(b2.datagrams) - before
        out["broadcast_srtp_version_bits"] = sorted({int(d[:2], 16) >> 6 for _, d in b2.datagrams[before:]})
        b2.source.stop()
        out["update_revoked"] = status_of(
            lambda: update(pb.UpdateClusterRequest(cluster_id="c-a", group_ids=["ga"]), metadata=md)
        )
        cli_bundle = directory / "cli.json"
        out["cli_add_rc"] = cli.main(
            ["speakers", "add", "c-cli", "--group", "gb", "--out", str(cli_bundle), *remote]
        )
        out["cli_bundle_mode"] = oct(cli_bundle.stat().st_mode & 0o777)
        out["cli_bundle_cluster"] = BrokerProvision.load(cli_bundle).cluster
        out["metrics"] = [
            line
            for line in generate_latest(server.metrics.registry).decode().splitlines()
            if line.startswith(("loa_clusters_", "loa_cluster_", "loa_broker_inbox"))
        ]
        out["server_still_serves"] = get("c-b").id == "c-b" and server.broker.client.connected.is_set()
    finally:
        client.close()
        server.stop(1.0)
    out["mosquitto_stopped"] = not server.broker.mosquitto.running
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
