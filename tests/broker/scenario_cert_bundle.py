"""Inside a private network namespace: `loa serve`'s broker asks clusters for a certificate
(broker_client_certs); a cluster connects with its bundle alone, the same bundle without its certificate
is refused, and a revoked cluster's certificate opens nothing. Prints JSON; test_cert_bundle.py judges it.

``python -m tests.broker.scenario_cert_bundle DIR``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from engine.api.client import Client
from engine.api.server import LoaServer
from engine.config import Config
from protos.loa.v1 import loa_pb2 as pb
from streaming.broker.client import BrokerClient
from streaming.broker.provision import BrokerProvision
from tests.broker.scenario_broker import connected


def main(directory: Path) -> dict[str, Any]:
    config = Config(
        listen="127.0.0.1:0", state_dir=directory / "state", voices_dir=directory / "voices", metrics_port=0,
        broker=True, broker_bind="127.0.0.1", broker_public_host="localhost", broker_client_certs=True,
    )  # fmt: skip
    server = LoaServer(config).start()
    client = Client.connect(f"127.0.0.1:{server.port}", server.bootstrap_token or "")
    md = client.metadata
    out: dict[str, Any] = {}
    try:
        group = pb.Group(id="ga", name="ga", multicast_address="239.9.2.1", port=5004)
        client.groups.CreateGroup(pb.CreateGroupRequest(group=group), metadata=md)
        reply = client.clusters.CreateCluster(
            pb.CreateClusterRequest(cluster_id="c-a", group_ids=["ga"]), metadata=md
        )
        path = directory / "c-a.json"
        path.write_text(reply.provisioning_bundle)
        bundle = BrokerProvision.load(path)
        out["bundle_has_cert"] = bool(bundle.cert_pem and bundle.key_pem)
        settings = bundle.settings()
        files = [f for f in (settings.cert_file, settings.key_file) if f is not None]
        out["cert_files_modes"] = [oct(f.stat().st_mode & 0o777) for f in files]
        stripped = dataclasses.replace(bundle, cert_pem="", key_pem="", origin=None)
        for label, provision in (("bundle", bundle), ("bundle_without_cert", stripped)):
            c = BrokerClient(provision.settings(), lambda t, p: None)
            c.start()
            out[label] = connected(c, 3.0)
            c.stop()
        client.clusters.RevokeCluster(pb.RevokeClusterRequest(cluster_id="c-a"), metadata=md)
        c = BrokerClient(bundle.settings(), lambda t, p: None)
        c.start()
        out["revoked"] = connected(c, 1.5)
        c.stop()
    finally:
        client.close()
        server.stop()
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
