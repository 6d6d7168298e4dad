"""The broadcast queue: plain data (model), request checks (validation), the durable SQLite store (store,
schema, serialize), the scheduling policy (policy) and the broadcast log export (log). The runner that drives
synthesis and streaming from these lives in runner.py.
"""
