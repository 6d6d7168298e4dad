"""Loa through an MQTT 5 broker: for speaker clusters behind carrier NAT (3G/4G), which get no multicast.

The broker carries the same SRTP-protected RTP/RTCP datagrams as the multicast group, so it can neither
read nor forge audio. Wire formats (topics, bundles, messages) and both ends of the link live here;
the broker's configuration is the server's business (engine/broker/). See docs/BROKER.md.
"""
