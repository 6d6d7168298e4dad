"""The live-source URL policy: what a publisher may point the server at."""

from __future__ import annotations

import pytest

from engine.live.urls import Resolver, UrlPolicy, check_sdp, check_url, parse_url

NONE = UrlPolicy()


def fake_dns(table: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://stream.example.com:8000/vov1.mp3",
        "https://stream.example.com/hls/vov1.m3u8",
        "rtsp://cam.example.com/live",
        "http://93.184.216.34/station.sdp",
    ],
)
def test_public_sources_of_each_accepted_scheme_pass(url: str) -> None:
    dns = fake_dns({"stream.example.com": ["93.184.216.34"], "cam.example.com": ["2606:2800:220:1::1"]})
    assert check_url(url, NONE, resolve=dns).url == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("file:///etc/passwd", "scheme 'file:'"),
        ("/etc/passwd", "local path"),
        ("data:audio/mp3;base64,AAAA", "scheme 'data:'"),
        ("concat:http://a|http://b", "scheme 'concat:'"),
        ("udp://239.1.1.1:5004", "scheme 'udp:'"),
        ("http://", "no host"),
        ("http://a b/", "spaces"),
        ("http://host:99999/", "port"),
        ("http://127.0.0.1:8000/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://192.168.1.10/", "private"),
        ("http://100.64.0.1/", "not a global"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://239.1.2.3/", "multicast"),
        ("http://localhost:8000/", "loopback"),
    ],
)
def test_local_files_and_internal_addresses_are_refused_naming_the_field(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=f"^live.backup_urls\\[0\\]: .*{says}"):
        check_url(url, NONE, name="live.backup_urls[0]", resolve=None)


def test_a_public_name_for_an_internal_address_is_refused_after_resolution() -> None:
    dns = fake_dns({"evil.example.com": ["93.184.216.34", "10.1.2.3"]})
    check_url("http://evil.example.com/", NONE, resolve=None)  # the form alone is fine
    with pytest.raises(ValueError, match=r"live.url: evil.example.com \(10.1.2.3\) is a private"):
        check_url("http://evil.example.com/", NONE, resolve=dns)


def test_the_allow_list_admits_named_hosts_and_networks() -> None:
    policy = UrlPolicy.parse(["encoder.lan", "10.20.0.0/16", "127.0.0.1"])
    dns = fake_dns({"encoder.lan": ["10.99.0.5"], "studio.lan": ["10.20.3.4"], "other.lan": ["10.30.0.1"]})
    check_url("http://encoder.lan:8000/a.mp3", policy, resolve=dns)
    check_url("http://studio.lan/a.mp3", policy, resolve=dns)
    check_url("http://127.0.0.1:8000/a.mp3", policy, resolve=dns)
    with pytest.raises(ValueError, match=r"other\.lan"):
        check_url("http://other.lan/a.mp3", policy, resolve=dns)


def test_a_bad_allow_list_entry_names_its_index() -> None:
    with pytest.raises(ValueError, match=r"live_allowed_hosts\[1\]"):
        UrlPolicy.parse(["ok.example", "not a host/"])


def test_parse_url_gives_default_ports() -> None:
    assert parse_url("rtsp://cam.example.com/x").port == 554
    assert parse_url("HTTPS://Stream.Example.com./x").host == "stream.example.com"


SDP = "v=0\r\no=- 0 0 IN IP4 {origin}\r\ns=x\r\nc=IN IP4 {conn}\r\nt=0 0\r\nm=audio 5004 RTP/AVP 96\r\n"


def test_an_sdp_may_name_a_multicast_group_or_a_public_sender() -> None:
    check_sdp(SDP.format(origin="1.2.3.4", conn="239.10.0.1/32"), NONE)
    check_sdp(SDP.format(origin="1.2.3.4", conn="93.184.216.34"), NONE)


@pytest.mark.parametrize(
    ("sdp", "says"),
    [
        (SDP.format(origin="x", conn="127.0.0.1"), "loopback"),
        (SDP.format(origin="x", conn="192.168.0.9"), "private"),
        (SDP.format(origin="x", conn="224.0.0.251"), "multicast"),
        (SDP.format(origin="x", conn="host.example"), "not an IP address"),
        ("v=0\r\ns=x\r\n", "no connection address"),
        ("<html>", "not an SDP"),
    ],
)
def test_an_sdp_pointing_inside_is_refused(sdp: str, says: str) -> None:
    with pytest.raises(ValueError, match=f"live.url: .*{says}"):
        check_sdp(sdp, NONE)


def test_an_allowed_network_admits_an_internal_sdp_address() -> None:
    check_sdp(SDP.format(origin="x", conn="127.0.0.1"), UrlPolicy.parse(["127.0.0.0/8"]))
