"""Inside a namespace: `loa serve` (a real server process, broker on, LOA_AHEAD_LEAD_S=2) delivers a scheduled
bulletin ahead to a 4G cluster, whose link is then cut; at the start the cluster plays it from its cache
while a LAN speaker hears the server's live multicast. A second bulletin, cancelled once delivered, is
cleared from the cache and never played. Prints JSON; WAVs and sidecars go to DIR (test_server_ahead.py).

``python -m tests.broker.scenario_server_ahead DIR``. Everything goes through the API: CreateGroup,
CreateCluster (the bundle), GetGroupKeys (the LAN speaker's keys), CreateBroadcast, CancelBroadcast.
The 4G speaker (`loa speaker --provision BUNDLE --no-multicast --cache-dir DIR` on a RemoteHost: no
multicast route) reaches the broker only through a :class:`tests.tcp_relay.TcpRelay`, which is cut.
Both speakers take the system clock as true (the namespaces share it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from engine.api.client import Client
from engine.netns import HOST_GATEWAY, RemoteHost
from protos.loa.v1 import loa_pb2 as pb
from streaming.broker.ahead import AheadItem
from tests.broker.scenario_4g import remote_speaker
from tests.broker.scenario_broker import wait
from tests.streaming.harness import start_speakers, stop_speakers
from tests.tcp_relay import TcpRelay

LISTEN = "127.0.0.1:50071"
GROUP = ("239.7.0.3", 5004)
BROKER_PORT = 8883
RELAY_PORT = 8884
LEAD_S = 2.0
TEXT = "Xin chào bà con. Hôm nay trời đẹp, mời bà con ra đồng."


def _at(seconds_from_now: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int((time.time() + seconds_from_now) * 1e9))
    return ts


def _ssrc(item_file: Path) -> int:
    """The SSRC of a cached item's stream (clear in every SRTP header)."""
    item = AheadItem.parse(item_file.read_bytes())
    rtp = next(d.data for d in item.datagrams if not d.rtcp)
    return int.from_bytes(rtp[8:12], "big")


def main(out: Path) -> dict[str, Any]:
    remote = RemoteHost(2)  # first: its bridge holds the address the broker binds and clusters dial
    state = out / "state"
    env = dict(
        os.environ, LOA_STATE_DIR=str(state), LOA_LISTEN=LISTEN, LOA_METRICS_PORT="0",
        LOA_VOICES_DIR=str(out / "voices"), LOA_BROKER="1", LOA_BROKER_BIND=HOST_GATEWAY,
        LOA_BROKER_PUBLIC_HOST=HOST_GATEWAY, LOA_BROKER_PREFIX="test", LOA_AHEAD_LEAD_S=str(LEAD_S),
    )  # fmt: skip
    log = (out / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "engine", "serve"], env=env, stdout=log, stderr=log)
    relay = TcpRelay((HOST_GATEWAY, RELAY_PORT), (HOST_GATEWAY, BROKER_PORT)).start()
    speakers: list[subprocess.Popen[str]] = []
    r: dict[str, Any] = {}
    try:
        assert wait(lambda: (state / "admin-token").exists(), 30), "the server did not start"
        client = Client.connect(LISTEN, (state / "admin-token").read_text().strip())
        md = client.metadata
        group = pb.Group(id="village", name="Thôn 1", multicast_address=GROUP[0], port=GROUP[1])
        for _ in range(100):  # the token file comes before the port answers
            try:
                client.groups.CreateGroup(pb.CreateGroupRequest(group=group), metadata=md)
                break
            except Exception:
                time.sleep(0.1)
        made = client.clusters.CreateCluster(
            pb.CreateClusterRequest(cluster_id="c-4g", group_ids=["village"]), metadata=md
        )
        bundle = json.loads(made.provisioning_bundle)
        bundle["url"] = f"mqtts://{HOST_GATEWAY}:{RELAY_PORT}"  # the 4G path: through the relay
        bundle_file = out / "bundle.json"
        bundle_file.write_text(json.dumps(bundle))
        bundle_file.chmod(0o600)
        delay_ms = int(bundle["groups"]["village"].rsplit(":", 1)[1])  # raised to the broker's 1.5 s
        keys = client.groups.GetGroupKeys(pb.GetGroupKeysRequest(group_ids=["village"]), metadata=md)
        keys_file = out / "keys.json"
        keys_file.write_text(keys.provisioning_file)
        cache = out / "cache"
        speakers.append(
            remote_speaker(
                remote,
                out,
                "far",
                ["--provision", str(bundle_file), "--no-multicast", "--cache-dir", str(cache)],
            )
        )
        speakers += start_speakers(
            ["lan"], out, ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:{delay_ms}", "--keys", str(keys_file)]
        )
        cluster = pb.GetClusterRequest(cluster_id="c-4g")
        assert wait(lambda: client.clusters.GetCluster(cluster, metadata=md).online, 15), "c-4g not online"

        created = time.time()
        segment = pb.Segment(language="vi", text=TEXT)
        first = client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(segments=[segment], group_ids=["village"], start_time=_at(9.0)),
            metadata=md,
        )
        second = client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(segments=[segment], group_ids=["village"], start_time=_at(16.0)),
            metadata=md,
        )
        items = [cache / f"village.{b.id}.loah" for b in (first, second)]
        r["cached_both"] = wait(lambda: all(f.exists() for f in items), 7)
        r["cached_after_s"] = time.time() - created
        r["ssrc"], r["cancelled_ssrc"] = _ssrc(items[0]), _ssrc(items[1])
        r["item_bytes"] = items[0].stat().st_size
        client.broadcasts.CancelBroadcast(pb.CancelBroadcastRequest(broadcast_id=second.id), metadata=md)
        r["cancel_cleared"] = wait(lambda: not items[1].exists(), 5)
        time.sleep(0.3)
        relay.cut()  # from here to the end the cluster hears nothing from the broker
        start = first.start_time.ToNanoseconds() / 1e9
        r["cut_before_start_s"] = start - time.time()

        get = pb.GetBroadcastRequest(broadcast_id=first.id)
        r["finished"] = wait(
            lambda: client.broadcasts.GetBroadcast(get, metadata=md).state == pb.BROADCAST_STATE_FINISHED,
            max(5.0, start - time.time() + 15),
        )
        done = client.broadcasts.GetBroadcast(get, metadata=md)
        r["air_lateness_s"] = done.air_time.ToNanoseconds() / 1e9 - start
        r["sentence_count"] = done.progress.sentence_count
        r["cancelled_state"] = pb.BroadcastState.Name(
            client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=second.id), metadata=md).state
        )
        # past where the cancelled one would have played, with its playout delay
        second_start = second.start_time.ToNanoseconds() / 1e9
        time.sleep(max(0.0, second_start + delay_ms / 1000 + 1.0 - time.time()))
        r["first_item_cleared_on_server"] = not (state / "ahead.db").exists() or _no_items(state / "ahead.db")
        client.close()
        stop_speakers(speakers)
        speakers = []
        r["relay_connections"] = relay.accepted
        return r
    finally:
        for proc in speakers:
            proc.kill()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        relay.close()
        remote.close()


def _no_items(path: Path) -> bool:
    import sqlite3

    with sqlite3.connect(path) as db:
        items = db.execute("SELECT COUNT(*) FROM ahead_items").fetchone()[0]
        clears = db.execute("SELECT COUNT(*) FROM ahead_clears").fetchone()[0]
    return bool(items == 0 and clears == 0)


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
