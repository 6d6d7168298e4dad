"""SRTP and SRTCP for group streams: AEAD_AES_128_GCM (RFC 7714) inside SRTP (RFC 3711).

Every packet a speaker plays must come from someone holding its group's master key: a rogue sender on the
same multicast group, or one replaying captured packets, is dropped here and counted. Keys rotate: each
master key carries a 4-byte MKI (RFC 3711 §3.1) that names it in every packet, so packets under the new key
and late packets under the previous one both decrypt across a rotation, and a key is refused once it has
expired or is no longer provisioned.

Layout (RFC 7714 §8 and §9; the MKI follows the tag, which is part of the AEAD output):

    SRTP:   RTP header (AAD) | encrypted payload | 16-byte tag | MKI
    SRTCP:  first 8 octets (AAD) | encrypted rest | 16-byte tag | E-flag + 31-bit index (AAD) | MKI

Session keys come from the master key with the AES-CM PRF of RFC 3711 §4.3 (key derivation rate 0); the
96-bit master salt is zero-padded on the right to 112 bits, as libsrtp does. The module is pure: bytes in,
bytes out, time from an injectable clock. It never imports engine/ (a speaker runs it alone).

Nonce safety: AES-GCM must never see the same (key, SSRC, index) twice. A sender picks a random SSRC for
every stream and never restarts a stream's sequence under the same key.
"""

from __future__ import annotations

import functools
import os
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_LEN = 16  # AEAD_AES_128_GCM
SALT_LEN = 12  # RFC 7714 §12: 96-bit master salt
TAG_LEN = 16
MKI_LEN = 4
RTP_HEADER_LEN = 12
RTCP_HEADER_LEN = 8
SRTCP_INDEX_LEN = 4
REPLAY_WINDOW = 128  # RFC 3711 §3.3.2 asks for at least 64
E_FLAG = 0x8000_0000
SRTCP_INDEX_MASK = 0x7FFF_FFFF

# RFC 3711 §4.3.2 labels
LABEL_RTP_ENCRYPTION = 0x00
LABEL_RTP_SALT = 0x02
LABEL_RTCP_ENCRYPTION = 0x03
LABEL_RTCP_SALT = 0x05


class SrtpError(ValueError):
    """A packet was refused. Receivers count and drop; they never crash on one."""


class MalformedPacketError(SrtpError):
    pass


class AuthenticationError(SrtpError):
    """The tag did not verify: wrong key, tampered packet, or a sender without the group key."""


class UnknownKeyError(AuthenticationError):
    """The packet's MKI names no usable key: never provisioned, revoked, or expired."""


class ReplayError(SrtpError):
    """The packet index was seen before, or lies behind the replay window."""


class NoKeyError(SrtpError):
    """A sender has no key whose not_before has passed (and that has not expired)."""


# ---------------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterKey:
    """One master key of a group. not_before: when senders switch to it; not_after: when receivers stop
    accepting it (None: until a newer key has been active for the session's rotation grace)."""

    mki: int
    key: bytes = field(repr=False)
    salt: bytes = field(repr=False)
    not_before: float = 0.0
    not_after: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.mki < 1 << (8 * MKI_LEN):
            raise ValueError(f"mki: {self.mki} does not fit in {MKI_LEN} bytes")
        if len(self.key) != KEY_LEN:
            raise ValueError(f"key: must be {KEY_LEN} bytes, got {len(self.key)}")
        if len(self.salt) != SALT_LEN:
            raise ValueError(f"salt: must be {SALT_LEN} bytes, got {len(self.salt)}")
        if self.not_after is not None and self.not_after <= self.not_before:
            raise ValueError("not_after: must be later than not_before")

    @classmethod
    def generate(cls, mki: int, not_before: float = 0.0, not_after: float | None = None) -> MasterKey:
        return cls(mki, os.urandom(KEY_LEN), os.urandom(SALT_LEN), not_before, not_after)


@dataclass(frozen=True)
class SessionKeys:
    """The per-direction keys one AES-GCM operation needs (RFC 7714's test vectors give these directly)."""

    key: bytes = field(repr=False)
    salt: bytes = field(repr=False)


def kdf(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """RFC 3711 §4.3.1/§4.3.3 AES-CM PRF with key derivation rate 0 (so r = 0)."""
    salt = master_salt.ljust(14, b"\0")  # a 96-bit salt is padded on the right
    x = bytearray(salt)
    x[7] ^= label  # key_id = label || 48 zero bits, right-aligned against the 112-bit salt
    iv = bytes(x) + b"\0\0"
    encryptor = Cipher(algorithms.AES(master_key), modes.CTR(iv)).encryptor()
    return encryptor.update(b"\0" * length) + encryptor.finalize()


def derive_session_keys(master: MasterKey) -> tuple[SessionKeys, SessionKeys]:
    """(SRTP keys, SRTCP keys) of a master key."""
    rtp = SessionKeys(
        kdf(master.key, master.salt, LABEL_RTP_ENCRYPTION, KEY_LEN),
        kdf(master.key, master.salt, LABEL_RTP_SALT, SALT_LEN),
    )
    rtcp = SessionKeys(
        kdf(master.key, master.salt, LABEL_RTCP_ENCRYPTION, KEY_LEN),
        kdf(master.key, master.salt, LABEL_RTCP_SALT, SALT_LEN),
    )
    return rtp, rtcp


# ---------------------------------------------------------------------------------------------------
# Packet transforms (no state: the caller supplies ROC or index)
# ---------------------------------------------------------------------------------------------------


def rtp_header_length(packet: bytes) -> int:
    """Length of the RTP header (fixed part, CSRCs, extension) that SRTP leaves in the clear."""
    if len(packet) < RTP_HEADER_LEN:
        raise MalformedPacketError(f"rtp: {len(packet)} bytes, shorter than the 12-byte header")
    if packet[0] >> 6 != 2:
        raise MalformedPacketError(f"rtp: version {packet[0] >> 6}, expected 2")
    length = RTP_HEADER_LEN + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        if len(packet) < length + 4:
            raise MalformedPacketError("rtp: header extension cut short")
        length += 4 + 4 * struct.unpack_from("!H", packet, length + 2)[0]
    if len(packet) < length:
        raise MalformedPacketError("rtp: header longer than the packet")
    return length


def _xor(fields: bytes, salt: bytes) -> bytes:
    return (int.from_bytes(fields, "big") ^ int.from_bytes(salt, "big")).to_bytes(SALT_LEN, "big")


def _rtp_iv(salt: bytes, ssrc: int, roc: int, seq: int) -> bytes:
    """RFC 7714 §8.1: 00 00 | SSRC | ROC | SEQ, XOR the session salt."""
    return _xor(struct.pack("!HIIH", 0, ssrc, roc & 0xFFFF_FFFF, seq), salt)


def _rtcp_iv(salt: bytes, ssrc: int, index: int) -> bytes:
    """RFC 7714 §9.1: 00 00 | SSRC | 00 00 | 0 + 31-bit SRTCP index, XOR the session salt."""
    return _xor(struct.pack("!HIHI", 0, ssrc, 0, index & SRTCP_INDEX_MASK), salt)


def seal_rtp(aead: AESGCM, salt: bytes, packet: bytes, roc: int) -> bytes:
    """RFC 7714 §8: header as AAD, payload encrypted, tag appended (no MKI)."""
    n = rtp_header_length(packet)
    seq, _ts, ssrc = struct.unpack_from("!HII", packet, 2)
    header = packet[:n]
    return header + aead.encrypt(_rtp_iv(salt, ssrc, roc, seq), packet[n:], header)


def open_rtp(aead: AESGCM, salt: bytes, packet: bytes, roc: int) -> bytes:
    """Inverse of seal_rtp: the plain RTP packet, or AuthenticationError."""
    n = rtp_header_length(packet)
    if len(packet) < n + TAG_LEN:
        raise MalformedPacketError("srtp: too short for the authentication tag")
    seq, _ts, ssrc = struct.unpack_from("!HII", packet, 2)
    header = packet[:n]
    try:
        return header + aead.decrypt(_rtp_iv(salt, ssrc, roc, seq), packet[n:], header)
    except InvalidTag:
        raise AuthenticationError("srtp: authentication tag does not verify") from None


def seal_rtcp(aead: AESGCM, salt: bytes, packet: bytes, index: int) -> bytes:
    """RFC 7714 §9: encrypted SRTCP with the E-flag set; returns header | ciphertext+tag | E+index."""
    if len(packet) < RTCP_HEADER_LEN:
        raise MalformedPacketError(f"rtcp: {len(packet)} bytes, shorter than the 8-byte header")
    ssrc = struct.unpack_from("!I", packet, 4)[0]
    trailer = struct.pack("!I", E_FLAG | (index & SRTCP_INDEX_MASK))
    header = packet[:RTCP_HEADER_LEN]
    body = aead.encrypt(_rtcp_iv(salt, ssrc, index), packet[RTCP_HEADER_LEN:], header + trailer)
    return header + body + trailer


def open_rtcp(aead: AESGCM, salt: bytes, packet: bytes) -> tuple[bytes, int]:
    """Inverse of seal_rtcp (also accepts E=0, authenticated-only packets): (plain RTCP, SRTCP index)."""
    if len(packet) < RTCP_HEADER_LEN + TAG_LEN + SRTCP_INDEX_LEN:
        raise MalformedPacketError("srtcp: too short for header, tag and index")
    ssrc = struct.unpack_from("!I", packet, 4)[0]
    trailer = packet[-SRTCP_INDEX_LEN:]
    word = struct.unpack("!I", trailer)[0]
    index = word & SRTCP_INDEX_MASK
    iv = _rtcp_iv(salt, ssrc, index)
    try:
        if word & E_FLAG:
            header = packet[:RTCP_HEADER_LEN]
            body = aead.decrypt(iv, packet[RTCP_HEADER_LEN:-SRTCP_INDEX_LEN], header + trailer)
            return header + body, index
        plain = packet[: -SRTCP_INDEX_LEN - TAG_LEN]
        aead.decrypt(iv, packet[-SRTCP_INDEX_LEN - TAG_LEN : -SRTCP_INDEX_LEN], plain + trailer)
        return plain, index
    except InvalidTag:
        raise AuthenticationError("srtcp: authentication tag does not verify") from None


# ---------------------------------------------------------------------------------------------------
# Replay protection and packet index
# ---------------------------------------------------------------------------------------------------


class ReplayWindow:
    """RFC 3711 §3.3.2 sliding window over packet indices. check() before authentication, update()
    only after, so forged packets never move the window."""

    def __init__(self, size: int = REPLAY_WINDOW) -> None:
        if size < 64:
            raise ValueError("replay window: at least 64 packets (RFC 3711 §3.3.2)")
        self.size = size
        self.highest = -1
        self._seen = 0  # bit i: highest - i was received

    def check(self, index: int) -> None:
        if index > self.highest:
            return
        delta = self.highest - index
        if delta >= self.size:
            raise ReplayError(f"index {index} is behind the replay window (highest {self.highest})")
        if self._seen >> delta & 1:
            raise ReplayError(f"index {index} was already received")

    def update(self, index: int) -> None:
        if index > self.highest:
            shift = index - self.highest
            self._seen = ((self._seen << shift) | 1) & ((1 << self.size) - 1)
            self.highest = index
        else:
            self._seen |= 1 << (self.highest - index)


def estimate_roc(seq: int, highest_seq: int, roc: int) -> int:
    """RFC 3711 §3.3.1 / Appendix A: the ROC a sequence number most likely belongs to (may be -1)."""
    if highest_seq < 0x8000:
        return roc - 1 if seq - highest_seq > 0x8000 else roc
    return roc + 1 if highest_seq - 0x8000 > seq else roc


@dataclass
class _RtpStream:
    roc: int
    highest_seq: int
    window: ReplayWindow

    def accept(self, seq: int, roc: int) -> None:
        index = roc << 16 | seq
        if index > self.window.highest:
            self.roc, self.highest_seq = roc, seq
        self.window.update(index)


@dataclass
class SrtpStats:
    """Counters a speaker exports: packets passed, and packets dropped by reason."""

    protected: int = 0
    unprotected: int = 0
    authentication_failures: int = 0  # includes unknown_key
    unknown_key: int = 0
    replayed: int = 0
    malformed: int = 0

    @property
    def dropped(self) -> int:
        return self.authentication_failures + self.replayed + self.malformed


# ---------------------------------------------------------------------------------------------------
# Session
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Keyed:
    master: MasterKey
    rtp: AESGCM
    rtp_salt: bytes
    rtcp: AESGCM
    rtcp_salt: bytes
    rtp_salt_value: int = 0  # the salt as a number, for the sender's per-packet IV
    trailer: bytes = b""  # the MKI, as every packet under this key ends

    @classmethod
    def of(cls, master: MasterKey) -> _Keyed:
        rtp, rtcp = derive_session_keys(master)
        return cls(
            master,
            AESGCM(rtp.key),
            rtp.salt,
            AESGCM(rtcp.key),
            rtcp.salt,
            int.from_bytes(rtp.salt, "big"),
            struct.pack("!I", master.mki),
        )


@functools.lru_cache(maxsize=64)
def _keyed(master: MasterKey) -> _Keyed:
    """One set of session keys and AES-GCM contexts per master key, shared by every session that uses
    it: a sender's thousand streams to one group then encrypt with one hot context, not a thousand."""
    return _Keyed.of(master)


class SrtpSession:
    """One group's SRTP state, for a sender or a receiver (aiortc/pylibsrtp style: protect, unprotect,
    protect_rtcp, unprotect_rtcp). Not thread-safe: use one per sending or receiving task.

    rotation_grace: a key without not_after stays valid this long after a newer key's not_before, for
    late packets and for clocks that differ between sender and speaker. roc_search: a speaker joining a
    long stream does not know its rollover counter, so the first packet of an SSRC is tried with ROC
    0..roc_search-1 (authentication tells which is right; 16 covers 5.8 hours of 20 ms packets), at
    most roc_search_rate times a second; beyond that, only ROC 0.
    """

    def __init__(
        self,
        keys: Iterable[MasterKey],
        *,
        clock: Callable[[], float] = time.time,
        window: int = REPLAY_WINDOW,
        rotation_grace: float = 60.0,
        roc_search: int = 16,
        roc_search_rate: float = 50.0,
        max_streams: int = 1024,
    ) -> None:
        self._clock = clock
        self._window = window
        self._grace = rotation_grace
        self._roc_search = max(1, roc_search)
        self._search_rate = roc_search_rate
        self._search_budget = roc_search_rate
        self._search_time = clock()
        self._max_streams = max_streams
        self._keys: dict[int, _Keyed] = {}
        self._sending: tuple[_Keyed, float, float] | None = None  # current key, valid from, until
        self._tx: dict[int, _RtpStream] = {}
        self._rx: OrderedDict[int, _RtpStream] = OrderedDict()
        self._tx_rtcp: dict[int, int] = {}
        self._rx_rtcp: OrderedDict[int, ReplayWindow] = OrderedDict()
        self.stats = SrtpStats()
        self.set_keys(keys)
        ReplayWindow(window)  # validates the size up front

    def set_keys(self, keys: Iterable[MasterKey]) -> None:
        """Replaces the key ring (re-provisioning). A key no longer listed is refused from now on; stream
        state (ROC, replay windows) is kept, so a rotation causes no gap."""
        new: dict[int, _Keyed] = {}
        for master in keys:
            if master.mki in new:
                raise ValueError(f"keys: MKI {master.mki} appears twice")
            old = self._keys.get(master.mki)
            new[master.mki] = old if old is not None and old.master == master else _keyed(master)
        self._keys = new
        self._sending = None

    @property
    def keys(self) -> list[MasterKey]:
        return [k.master for k in self._keys.values()]

    def _expiry(self, master: MasterKey) -> float | None:
        if master.not_after is not None:
            return master.not_after
        newer = [k.master.not_before for k in self._keys.values() if k.master.not_before > master.not_before]
        return min(newer) + self._grace if newer else None

    def _usable(self, master: MasterKey, now: float) -> bool:
        expiry = self._expiry(master)
        return expiry is None or now < expiry

    def current_key(self) -> MasterKey:
        """The key a sender uses now: the newest whose not_before has passed."""
        now = self._clock()
        ready = [k.master for k in self._keys.values() if k.master.not_before <= now]
        ready = [m for m in ready if m.not_after is None or now < m.not_after]
        if not ready:
            raise NoKeyError("srtp: no key is active yet (every not_before is in the future)")
        return max(ready, key=lambda m: (m.not_before, m.mki))

    def _sending_key(self) -> _Keyed:
        """current_key(), remembered until the next instant it could change (a key's not_before or the
        current key's not_after): a sender asks for every packet."""
        now = self._clock()
        cached = self._sending
        if cached is not None and cached[1] <= now < cached[2]:
            return cached[0]
        master = self.current_key()
        changes = [k.master.not_before for k in self._keys.values() if k.master.not_before > now]
        if master.not_after is not None:
            changes.append(master.not_after)
        keyed = self._keys[master.mki]
        self._sending = (keyed, now, min(changes, default=float("inf")))
        return keyed

    def _receiving_key(self, packet: bytes, trailer: int) -> _Keyed:
        if len(packet) < MKI_LEN + trailer:
            raise MalformedPacketError("srtp: too short for the MKI")
        mki = struct.unpack_from("!I", packet, len(packet) - MKI_LEN)[0]
        keyed = self._keys.get(mki)
        if keyed is None:
            raise UnknownKeyError(f"srtp: MKI {mki} is not a provisioned key (revoked or never issued)")
        if not self._usable(keyed.master, self._clock()):
            raise UnknownKeyError(f"srtp: key MKI {mki} has expired")
        return keyed

    # --- SRTP -----------------------------------------------------------------------------------

    def protect(self, packet: bytes) -> bytes:
        """Plain RTP in, SRTP out (header | ciphertext | tag | MKI)."""
        keyed = self._sending_key()
        # a bare 12-byte header (version 2, no padding, extension or CSRC) is what senders here make
        n = (
            RTP_HEADER_LEN
            if packet[:1] == b"\x80" and len(packet) >= RTP_HEADER_LEN
            else rtp_header_length(packet)
        )
        seq, _ts, ssrc = struct.unpack_from("!HII", packet, 2)
        stream = self._tx.get(ssrc)
        if stream is None:
            stream = self._tx[ssrc] = _RtpStream(0, seq, ReplayWindow(self._window))
        roc = max(0, estimate_roc(seq, stream.highest_seq, stream.roc))
        try:
            stream.window.check(roc << 16 | seq)
        except ReplayError:
            raise SrtpError(
                f"srtp: SSRC {ssrc} sequence {seq} already sent: it would reuse a nonce"
            ) from None
        stream.accept(seq, roc)
        self.stats.protected += 1
        # seal_rtp, with the IV (RFC 7714 §8.1) from the salt as a number: this runs for every packet sent
        iv = (keyed.rtp_salt_value ^ (ssrc << 48 | (roc & 0xFFFF_FFFF) << 16 | seq)).to_bytes(SALT_LEN, "big")
        header = packet[:n]
        return header + keyed.rtp.encrypt(iv, packet[n:], header) + keyed.trailer

    def unprotect(self, packet: bytes) -> bytes:
        """SRTP in, plain RTP out; raises a SrtpError subclass (and counts it) for any packet refused."""
        return self._counted(self._unprotect, packet)

    def _unprotect(self, packet: bytes) -> bytes:
        keyed = self._receiving_key(packet, RTP_HEADER_LEN + TAG_LEN)
        body = packet[:-MKI_LEN]
        rtp_header_length(body)
        seq, _ts, ssrc = struct.unpack_from("!HII", body, 2)
        stream = self._rx.get(ssrc)
        if stream is None:
            return self._first_packet(keyed, body, ssrc, seq)
        roc = estimate_roc(seq, stream.highest_seq, stream.roc)
        if roc < 0:
            raise ReplayError(f"srtp: sequence {seq} precedes the start of the stream")
        stream.window.check(roc << 16 | seq)
        plain = open_rtp(keyed.rtp, keyed.rtp_salt, body, roc)
        stream.accept(seq, roc)
        self._rx.move_to_end(ssrc)
        return plain

    def _search_allowed(self) -> bool:
        """Token bucket over ROC searches: a flood of forged packets with new SSRCs costs one AES-GCM
        check each, not roc_search of them; a real late joiner still gets a search within seconds."""
        now = self._clock()
        self._search_budget = min(
            self._search_rate, self._search_budget + (now - self._search_time) * self._search_rate
        )
        self._search_time = now
        if self._search_budget < 1:
            return False
        self._search_budget -= 1
        return True

    def _first_packet(self, keyed: _Keyed, body: bytes, ssrc: int, seq: int) -> bytes:
        tries = self._roc_search if self._roc_search > 1 and self._search_allowed() else 1
        for roc in range(tries):
            try:
                plain = open_rtp(keyed.rtp, keyed.rtp_salt, body, roc)
            except AuthenticationError:
                continue
            stream = _RtpStream(roc, seq, ReplayWindow(self._window))
            stream.accept(seq, roc)
            self._rx[ssrc] = stream
            if len(self._rx) > self._max_streams:
                self._rx.popitem(last=False)
            return plain
        raise AuthenticationError("srtp: authentication tag does not verify")

    # --- SRTCP ----------------------------------------------------------------------------------

    def protect_rtcp(self, packet: bytes) -> bytes:
        """Plain (compound) RTCP in, SRTCP out; the index counts up per SSRC."""
        keyed = self._sending_key()
        if len(packet) < RTCP_HEADER_LEN:
            raise MalformedPacketError(f"rtcp: {len(packet)} bytes, shorter than the 8-byte header")
        ssrc = struct.unpack_from("!I", packet, 4)[0]
        index = self._tx_rtcp.get(ssrc, 0)
        self._tx_rtcp[ssrc] = (index + 1) & SRTCP_INDEX_MASK
        self.stats.protected += 1
        return seal_rtcp(keyed.rtcp, keyed.rtcp_salt, packet, index) + keyed.trailer

    def skip_rtcp_index(self, ssrc: int, index: int) -> None:
        """The next SRTCP index sent for ``ssrc`` is at least ``index``: for a packet that must not take
        an index a copy of the stream made in advance used for other bytes (streaming/ahead.py)."""
        self._tx_rtcp[ssrc] = max(self._tx_rtcp.get(ssrc, 0), index & SRTCP_INDEX_MASK)

    def unprotect_rtcp(self, packet: bytes) -> bytes:
        """SRTCP in, plain RTCP out; refused packets are counted and raised as for :meth:`unprotect`."""
        return self._counted(self._unprotect_rtcp, packet)

    def _unprotect_rtcp(self, packet: bytes) -> bytes:
        keyed = self._receiving_key(packet, RTCP_HEADER_LEN + TAG_LEN + SRTCP_INDEX_LEN)
        body = packet[:-MKI_LEN]  # _receiving_key checked it holds header, tag and index
        ssrc = struct.unpack_from("!I", body, 4)[0]
        index = struct.unpack_from("!I", body, len(body) - SRTCP_INDEX_LEN)[0] & SRTCP_INDEX_MASK
        window = self._rx_rtcp.get(ssrc)
        if window is not None:
            window.check(index)
        plain, _ = open_rtcp(keyed.rtcp, keyed.rtcp_salt, body)
        if window is None:
            window = self._rx_rtcp[ssrc] = ReplayWindow(self._window)
            if len(self._rx_rtcp) > self._max_streams:
                self._rx_rtcp.popitem(last=False)
        window.update(index)
        return plain

    def _counted(self, unprotect: Callable[[bytes], bytes], packet: bytes) -> bytes:
        try:
            plain = unprotect(packet)
        except SrtpError as exc:
            self._count(exc)
            raise
        self.stats.unprotected += 1
        return plain

    def _count(self, exc: SrtpError) -> None:
        if isinstance(exc, AuthenticationError):
            self.stats.authentication_failures += 1
            if isinstance(exc, UnknownKeyError):
                self.stats.unknown_key += 1
        elif isinstance(exc, ReplayError):
            self.stats.replayed += 1
        else:
            self.stats.malformed += 1
