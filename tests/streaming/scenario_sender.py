"""Run inside a private network namespace: one PacedSender, two groups, raw sockets that record packets.

Prints one JSON object describing what arrived, for tests/streaming/test_sender.py to judge.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time

import numpy as np
from prometheus_client import CollectorRegistry

from streaming import rtcp
from streaming.clock import ntp_from_wall, wall_from_ntp
from streaming.opus import encode_pcm
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.priority import Priority
from streaming.rtp import RtpPacket

GROUPS = (("239.2.0.1", 5004), ("239.2.0.2", 5006))


def listen(address: str, port: int, out: list[tuple[float, bytes]], stop: threading.Event) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(address) + bytes(4))
    sock.settimeout(0.1)
    while not stop.is_set():
        try:
            data, _ = sock.recvfrom(2048)
        except TimeoutError:
            continue
        out.append((time.time(), data))


def main() -> None:
    stop = threading.Event()
    captured: dict[str, list[tuple[float, bytes]]] = {}
    threads = []
    for address, port in GROUPS:
        for p in (port, port + 1):
            captured[f"{address}:{p}"] = []
            threads.append(
                threading.Thread(target=listen, args=(address, p, captured[f"{address}:{p}"], stop))
            )
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    registry = CollectorRegistry()
    info: dict[str, object] = {}
    with PacedSender(registry=registry, feedback_bind=("127.0.0.1", 0), record_lateness=True) as sender:
        stream = sender.open_stream([Destination(a, p, ttl=4) for a, p in GROUPS], priority=Priority.HIGH)
        feedback = sender.feedback_address
        assert feedback is not None
        t0 = time.time()
        pcm = (0.2 * np.sin(2 * np.pi * 300 * np.arange(48_000 * 2.5) / 48_000)).astype(np.float32)
        for i in range(0, len(pcm), 4_410):  # uneven chunks, as a synthesizer would hand them over
            stream.feed(pcm[i : i + 4_410])
        stream.finish()
        finished = stream.wait(6)
        # time sync: the feedback port answers a LOAT request with (t1, t2, t3)
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.settimeout(1)
        t1 = ntp_from_wall(time.time())
        probe.sendto(rtcp.serialize(rtcp.time_request(5, t1)), feedback)
        reply = rtcp.parse_compound(probe.recv(2048))[0]
        times = rtcp.parse_time(reply)  # type: ignore[arg-type]
        # a receiver report reaches the speaker table
        report = rtcp.serialize_compound(
            [
                rtcp.ReceiverReport(77, [rtcp.ReportBlock(stream.ssrc, 64, 5, 1000, 480)]),
                rtcp.SourceDescription([(77, {rtcp.SDES_CNAME: b"speaker-7"})]),
                rtcp.SpeakerStatus(77, stream.ssrc, 1500, 2, 3, 2).to_app(),
            ]
        )
        probe.sendto(report, feedback)
        time.sleep(0.3)
        speakers = [dataclasses.asdict(s) for s in sender.speakers()]
        metrics = {
            s.name + suffix: value
            for m in registry.collect()
            for s in m.samples
            for suffix, value in [("" if not s.labels else str(sorted(s.labels.items())), s.value)]
        }
        lateness = sorted(sender.lateness or [])
        info |= {
            "t0": t0,
            "finished": finished,
            "ssrc": stream.ssrc,
            "first_packet_delay": (stream.first_packet_time or 0) - t0,
            "samples_fed": stream.samples_fed,
            "samples_sent": stream.samples_sent,
            "start_time": stream.start_time,
            "time_reply": [times[0] == t1, wall_from_ntp(times[1]), wall_from_ntp(times[2])],
            "speakers": speakers,
            "metrics": metrics,
            "lateness_p50": lateness[len(lateness) // 2],
            "encoded_once": len(encode_pcm(pcm)),
        }
    time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join()
    packets: dict[str, list[list[object]]] = {}
    for key, items in captured.items():
        packets[key] = []
        for t, data in items:
            if key.endswith(("5004", "5006")):
                rtp = RtpPacket.parse(data)
                packets[key].append([t, rtp.sequence, rtp.timestamp, rtp.marker, rtp.payload.hex()])
            else:
                compound = rtcp.parse_compound(data)
                sr = next(p for p in compound if isinstance(p, rtcp.SenderReport))
                names = [type(p).__name__ for p in compound]
                packets[key].append([t, names, wall_from_ntp(sr.ntp_timestamp), sr.rtp_timestamp])
    info["packets"] = packets
    print(json.dumps(info))


if __name__ == "__main__":
    main()
