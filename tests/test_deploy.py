"""What operators install next to Prometheus and Grafana (deploy/): checked and unit-tested by the real
promtool, the dashboard parsed. That every metric they name exists on a real server's /metrics page is
tested in tests/api/test_metrics.py, which runs one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "loa.rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "loa-dashboard.json"

# the metric names Loa and its process collectors export, and Prometheus' own `up`
_METRIC = re.compile(r"\b(?:loa|process|python)_[a-z0-9_]+\b|\bup\b(?=\s*\{)")
# variables the dashboard defines, and Grafana's built-ins it uses
_VARIABLES = {"datasource", "job", "speaker_job", "instance", "__rate_interval"}

promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (Debian package `prometheus`, in the Makefile's APT_PACKAGES)",
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (Loa's, the process collectors', ``up``)."""
    return set(_METRIC.findall(expr))


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in _panels(dashboard["panels"]) for t in p.get("targets", [])]


def rule_exprs() -> list[str]:
    """The `expr:` values of the rules file, block scalars included (no YAML library needed)."""
    exprs, current = [], None
    for line in RULES.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("expr:"):
            rest = stripped.removeprefix("expr:").strip()
            current = [] if rest == "|" else None
            if rest != "|":
                exprs.append(rest)
            elif current is not None:
                exprs.append("")
        elif current is not None:
            if stripped.startswith("#") or not stripped:
                continue
            if re.match(r"^(for|labels|annotations|- alert):?", stripped):
                current = None
                continue
            exprs[-1] += " " + stripped
    return exprs


@promtool
def test_promtool_accepts_the_rules_and_the_example_config() -> None:
    for argv in (["check", "rules", "loa.rules.yml"], ["check", "config", "prometheus.yml"]):
        out = subprocess.run(["promtool", *argv], cwd=PROMETHEUS, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


@promtool
def test_every_alert_fires_and_stays_quiet_as_its_unit_tests_say() -> None:
    out = subprocess.run(
        ["promtool", "test", "rules", "loa.rules.test.yml"], cwd=PROMETHEUS, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    tested = set(re.findall(r"alertname: (\w+)", (PROMETHEUS / "loa.rules.test.yml").read_text()))
    defined = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    assert defined == tested  # each alert has at least one test


def test_the_dashboard_is_grafana_json_with_unique_panels_and_known_variables() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    panels = list(_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel["type"] != "row":
            assert panel["targets"] and panel["gridPos"]["w"] <= 24, panel["title"]
    defined = {v["name"] for v in dashboard["templating"]["list"]}
    for expr in dashboard_exprs():
        assert metric_names(expr), expr
        used = set(re.findall(r"\$(\w+)", expr))
        assert used <= _VARIABLES and used - {"__rate_interval"} <= defined, expr


def test_rule_expressions_are_all_read() -> None:
    exprs = rule_exprs()
    assert len(exprs) == RULES.read_text().count("- alert:")
    assert all(metric_names(e) for e in exprs)
