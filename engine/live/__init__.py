"""Live sources: upper-level stations relayed (relay.py) and a live voice (voice.py), as real-time PCM
feeds that an airing plays like synthesized speech (feed.py is the contract between them)."""
