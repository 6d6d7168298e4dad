"""SRTP/SRTCP with AES-GCM: published test vectors, then the behaviour a speaker relies on."""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming.provisioning import dump_provisioning, load_provisioning, parse_provisioning
from streaming.srtp import (
    MKI_LEN,
    AuthenticationError,
    MalformedPacketError,
    MasterKey,
    NoKeyError,
    ReplayError,
    SrtpError,
    SrtpSession,
    UnknownKeyError,
    derive_session_keys,
    kdf,
    open_rtcp,
    open_rtp,
    seal_rtcp,
    seal_rtp,
)

# RFC 7714 §16.1 / §17.1: session key and salt given directly (no key derivation).
V_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
V_SALT = bytes.fromhex("517569642070726f2071756f")
V_RTP = bytes.fromhex(
    "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573"
)
V_SRTP = bytes.fromhex(
    "8040f17b8041f8d35501a0b2"
    "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833"
    "899d7f27beb16a9152cf765ee4390cce"
)
V_RTCP = bytes.fromhex(
    "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
)
V_SRTCP = bytes.fromhex(
    "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda"
    "4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4"
)
V_SRTCP_AUTH_ONLY = V_RTCP + bytes.fromhex("841dd9683dd78ec92ae58790125f62b3000005d4")


def test_rfc7714_srtp_vector() -> None:
    aead = AESGCM(V_KEY)
    assert seal_rtp(aead, V_SALT, V_RTP, roc=0) == V_SRTP
    assert open_rtp(aead, V_SALT, V_SRTP, roc=0) == V_RTP


def test_rfc7714_srtcp_vectors_encrypted_and_authenticated_only() -> None:
    aead = AESGCM(V_KEY)
    assert seal_rtcp(aead, V_SALT, V_RTCP, index=0x5D4) == V_SRTCP
    assert open_rtcp(aead, V_SALT, V_SRTCP) == (V_RTCP, 0x5D4)
    assert open_rtcp(aead, V_SALT, V_SRTCP_AUTH_ONLY) == (V_RTCP, 0x5D4)


def test_rfc3711_b3_key_derivation() -> None:
    master = bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139")
    salt = bytes.fromhex("0EC675AD498AFEEBB6960B3AABE6")
    assert kdf(master, salt, 0x00, 16).hex().upper() == "C61E7A93744F39EE10734AFE3FF7A087"
    assert kdf(master, salt, 0x02, 14).hex().upper() == "30CBBC08863D8C85D49DB34A9AE1"
    assert kdf(master, salt, 0x01, 94).hex().upper() == (
        "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
        "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
        "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"
    )


def test_srtp_and_srtcp_keys_differ_and_are_12_byte_salts() -> None:
    rtp, rtcp = derive_session_keys(MasterKey.generate(1))
    assert rtp.key != rtcp.key and rtp.salt != rtcp.salt
    assert len(rtp.salt) == len(rtcp.salt) == 12


# --- sessions ---------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rtp(seq: int, payload: bytes = b"opus-frame", ssrc: int = 0x1234ABCD, ts: int | None = None) -> bytes:
    ts = seq * 960 if ts is None else ts
    return struct.pack("!BBHII", 0x80, 96, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def rtcp_sr(ssrc: int = 0x1234ABCD) -> bytes:
    return struct.pack("!BBHI", 0x80, 200, 6, ssrc) + bytes(20)


def pair(*keys: MasterKey, clock: Clock | None = None, **kw: float) -> tuple[SrtpSession, SrtpSession]:
    clock = clock or Clock()
    return SrtpSession(keys, clock=clock, **kw), SrtpSession(keys, clock=clock, **kw)  # type: ignore[arg-type]


KEY1 = MasterKey.generate(1)


def test_round_trip_rtp_with_csrc_and_extension_and_rtcp() -> None:
    sender, receiver = pair(KEY1)
    header = struct.pack("!BBHII", 0x91, 96, 7, 6720, 99) + struct.pack("!I", 5)  # CC=1, X=1
    packet = header + struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\0\0" + b"payload"
    protected = sender.protect(packet)
    assert protected[:24] == packet[:24]  # the header stays clear
    assert b"payload" not in protected
    assert protected[-MKI_LEN:] == b"\0\0\0\1"
    assert receiver.unprotect(protected) == packet
    assert receiver.unprotect_rtcp(sender.protect_rtcp(rtcp_sr())) == rtcp_sr()
    assert receiver.stats.unprotected == 2 and receiver.stats.dropped == 0


def test_every_tampered_byte_is_rejected() -> None:
    sender, _ = pair(KEY1)
    protected = sender.protect(rtp(10, b"x" * 40))
    for i in range(len(protected)):
        _, receiver = pair(KEY1)
        bad = bytearray(protected)
        bad[i] ^= 0x01
        with pytest.raises(SrtpError):
            receiver.unprotect(bytes(bad))
        assert receiver.stats.dropped == 1
    for i in range(len(protected) - MKI_LEN):  # every byte but the version bits is authenticated
        if i == 0:
            continue
        _, receiver = pair(KEY1)
        bad = bytearray(protected)
        bad[i] ^= 0x80
        with pytest.raises(AuthenticationError):
            receiver.unprotect(bytes(bad))


def test_wrong_key_with_same_mki_is_rejected_and_counted() -> None:
    rogue = SrtpSession([MasterKey.generate(1)])
    _, receiver = pair(KEY1)
    for seq in range(5):
        with pytest.raises(AuthenticationError):
            receiver.unprotect(rogue.protect(rtp(seq)))
        with pytest.raises(AuthenticationError):
            receiver.unprotect_rtcp(rogue.protect_rtcp(rtcp_sr()))
    assert receiver.stats.authentication_failures == 10 and receiver.stats.unprotected == 0


def test_unknown_and_revoked_mki_rejected() -> None:
    old, new = MasterKey.generate(1), MasterKey.generate(2)
    sender_old = SrtpSession([old])
    receiver = SrtpSession([old, new])
    assert receiver.unprotect(sender_old.protect(rtp(1)))
    receiver.set_keys([new])  # re-provisioned: key 1 revoked
    with pytest.raises(UnknownKeyError, match="MKI 1"):
        receiver.unprotect(sender_old.protect(rtp(2)))
    with pytest.raises(UnknownKeyError):
        receiver.unprotect_rtcp(sender_old.protect_rtcp(rtcp_sr()))
    assert receiver.stats.unknown_key == 2


def test_expired_key_rejected_even_when_still_provisioned() -> None:
    clock = Clock(1000)
    stolen = MasterKey.generate(1, not_before=0, not_after=2000)
    current = MasterKey.generate(2, not_before=1500)
    attacker = SrtpSession([stolen], clock=Clock(1000))
    _, receiver = pair(stolen, current, clock=clock)
    assert receiver.unprotect(attacker.protect(rtp(1))) == rtp(1)
    clock.now = 2000
    with pytest.raises(UnknownKeyError, match="expired"):
        receiver.unprotect(attacker.protect(rtp(2)))


def test_replay_rejected_reordering_within_window_accepted() -> None:
    sender, receiver = pair(KEY1)
    packets = [sender.protect(rtp(seq)) for seq in range(200)]
    for seq in [*range(99, -1, -1), *range(199, 99, -1)]:  # every packet up to 99 places late
        assert receiver.unprotect(packets[seq]) == rtp(seq)
    assert receiver.stats.unprotected == 200
    for seq in range(199, 71, -1):  # second copies within the window (128 packets)
        with pytest.raises(ReplayError, match="already received"):
            receiver.unprotect(packets[seq])
    with pytest.raises(ReplayError, match="behind the replay window"):
        receiver.unprotect(packets[71])
    assert receiver.stats.replayed == 129 and receiver.stats.unprotected == 200


def test_rtcp_replay_rejected() -> None:
    sender, receiver = pair(KEY1)
    reports = [sender.protect_rtcp(rtcp_sr()) for _ in range(3)]
    for report in reversed(reports):
        receiver.unprotect_rtcp(report)
    with pytest.raises(ReplayError):
        receiver.unprotect_rtcp(reports[1])
    assert receiver.stats.replayed == 1


def test_sequence_wrap_advances_roc_and_late_packets_across_wrap_decrypt() -> None:
    sender, receiver = pair(KEY1)
    seqs = [*range(65500, 65536), *range(64)]
    packets = {s: sender.protect(rtp(s)) for s in seqs}
    # seq 0 after the wrap is ROC 1: a different nonce than seq 0 of a fresh stream (ROC 0)
    assert packets[0][12:] != SrtpSession([KEY1]).protect(rtp(0))[12:]
    order = [*range(65500, 65534), 0, 1, 65534, 2, 65535, *range(3, 64)]
    for s in order:
        assert receiver.unprotect(packets[s]) == rtp(s)
    assert receiver.stats.unprotected == 100 and receiver.stats.dropped == 0
    with pytest.raises(ReplayError):
        receiver.unprotect(packets[65535])


def test_speaker_joining_after_several_wraps_finds_the_roc() -> None:
    sender = SrtpSession([KEY1])
    for _lap in range(3):
        for s in range(0, 65536, 16384):
            sender.protect(rtp(s))
    late_packet = sender.protect(rtp(100))  # ROC 3
    receiver = SrtpSession([KEY1])
    assert receiver.unprotect(late_packet) == rtp(100)
    assert receiver.unprotect(sender.protect(rtp(101))) == rtp(101)
    too_far = SrtpSession([KEY1], roc_search=3)
    with pytest.raises(AuthenticationError):
        too_far.unprotect(late_packet)


def test_roc_search_is_rate_limited_under_a_flood_of_forged_streams() -> None:
    sender = SrtpSession([KEY1])
    for _lap in range(2):
        for s in range(0, 65536, 16384):
            sender.protect(rtp(s))
    late_joiner_packet = sender.protect(rtp(100))  # ROC 2
    rogue = SrtpSession([MasterKey.generate(1)])
    clock = Clock()
    receiver = SrtpSession([KEY1], clock=clock, roc_search_rate=50)
    for ssrc in range(50):  # each forged new SSRC spends one search
        with pytest.raises(AuthenticationError):
            receiver.unprotect(rogue.protect(rtp(1, ssrc=ssrc)))
    with pytest.raises(AuthenticationError):  # budget spent: only ROC 0 is tried
        receiver.unprotect(late_joiner_packet)
    clock.now += 0.1  # refills 5 searches
    assert receiver.unprotect(late_joiner_packet) == rtp(100)
    assert receiver.stats.authentication_failures == 51


def test_rotation_mid_stream_has_no_gap() -> None:
    clock = Clock(1000)
    k1 = MasterKey.generate(1, not_before=0)
    k2 = MasterKey.generate(2, not_before=1010)
    sender = SrtpSession([k1, k2], clock=clock)
    receiver = SrtpSession([k1], clock=clock, rotation_grace=5)
    receiver.set_keys([k1, k2])  # provisioned before the switch, as the key server does
    sent = []
    for seq in range(1000):  # 20 s of 20 ms packets across the switch at t=1010
        clock.now = 1000 + seq * 0.02
        sent.append(sender.protect(rtp(seq)))
    mkis = [struct.unpack("!I", p[-4:])[0] for p in sent]
    assert mkis[:500] == [1] * 500 and mkis[500:] == [2] * 500
    # the receiver gets them 2 packets late and with the last old-key packet after 20 new-key ones
    clock.now = 1000
    order = [*range(0, 499), *range(500, 520), 499, *range(520, 1000)]
    played = []
    for seq in order:
        clock.now = 1000 + seq * 0.02 + 0.04
        played.append(struct.unpack("!H", receiver.unprotect(sent[seq])[2:4])[0])
    assert sorted(played) == list(range(1000)) and receiver.stats.dropped == 0
    # the previous key stops working once the grace after the switch is over
    straggler = SrtpSession([k1], clock=Clock(1000), window=128).protect(rtp(7, ssrc=77))
    clock.now = 1010 + 5
    with pytest.raises(UnknownKeyError, match="expired"):
        receiver.unprotect(straggler)


def test_sender_refuses_to_reuse_a_sequence_number() -> None:
    sender = SrtpSession([KEY1])
    sender.protect(rtp(5))
    with pytest.raises(SrtpError, match="already sent"):
        sender.protect(rtp(5, b"different"))


def test_sender_without_active_key() -> None:
    session = SrtpSession([MasterKey.generate(1, not_before=5000)], clock=Clock(1000))
    with pytest.raises(NoKeyError):
        session.protect(rtp(1))


def test_malformed_packets_are_counted() -> None:
    _, receiver = pair(KEY1)
    for bad in [b"", b"\x80", b"\x40" + bytes(40), rtp(1)[:12] + bytes(10)]:
        with pytest.raises(SrtpError):
            receiver.unprotect(bad)
    assert receiver.stats.malformed + receiver.stats.authentication_failures == 4
    with pytest.raises(MalformedPacketError):
        receiver.unprotect(b"\x80")


# --- provisioning ----------------------------------------------------------------------------------


def test_provisioning_round_trip(tmp_path: Path) -> None:
    keys = {
        "ap-phu-hoa": [
            MasterKey.generate(1, 1_764_000_000),
            MasterKey.generate(2, 1_764_086_400, 1_800_000_000),
        ],
        "emergency": [MasterKey.generate(7)],
    }
    path = tmp_path / "keys.json"
    path.write_text(dump_provisioning(keys))
    assert load_provisioning(path) == keys
    doc = json.loads(path.read_text())
    assert doc["groups"][0]["keys"][0]["not_before"] == "2025-11-24T16:00:00Z"


def _doc(**key: object) -> str:
    item = {"mki": 1, "key": "00" * 16, "salt": "00" * 12, **key}
    return json.dumps({"version": 1, "groups": [{"group": "g", "keys": [item]}]})


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("not json", "provisioning: not JSON"),
        ('{"version": 2, "groups": []}', "version"),
        ('{"version": 1, "groups": [{"keys": []}]}', r"groups\[0\].group"),
        ('{"version": 1, "groups": [{"group": "g", "keys": []}]}', r"groups\[0\].keys"),
        (_doc(key="zz"), r"groups\[0\].keys\[0\].key: expected 32 hex digits"),
        (_doc(salt="00"), r"groups\[0\].keys\[0\].salt: expected 24 hex digits"),
        (_doc(not_before="yesterday"), r"groups\[0\].keys\[0\].not_before"),
        (_doc(not_before="2026-01-01T00:00:00"), r"not_before: .* has no time zone"),
        (_doc(mki=4294967296), r"groups\[0\].keys\[0\].mki"),
        (_doc(mki="1"), r"groups\[0\].keys\[0\].mki: expected an integer"),
        (_doc(not_before=100, not_after=50), r"groups\[0\].keys\[0\].not_after"),
    ],
)
def test_provisioning_errors_name_the_field(doc: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_provisioning(doc)


def test_key_material_is_not_in_repr() -> None:
    assert KEY1.key.hex() not in repr(KEY1) and KEY1.salt.hex() not in repr(KEY1)


# --- fuzz ------------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_only_raise_srtp_errors(data: bytes) -> None:
    session = SrtpSession([KEY1], roc_search=2)
    for unprotect in (session.unprotect, session.unprotect_rtcp):
        with contextlib.suppress(SrtpError):  # anything else fails the test
            unprotect(data)
    assert session.stats.unprotected == 0
    assert not session._rx and not session._rx_rtcp  # refused packets leave no state behind


_VALID = SrtpSession([KEY1]).protect(rtp(3, b"\x01" * 30))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(1, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_packets_never_decrypt(flips: list[tuple[int, int]]) -> None:
    bad = bytearray(_VALID)
    for pos, mask in flips:
        bad[pos] ^= mask
    session = SrtpSession([KEY1], roc_search=2)
    if bytes(bad) == _VALID:
        return
    with pytest.raises(ValueError):
        session.unprotect(bytes(bad))
