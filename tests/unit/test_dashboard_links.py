"""Dashboard links of alerts and receivers: which URLs name a Grafana dashboard uid, and
which cannot be checked (a templated uid, a link read from an annotation at notification
time, a Google Doc that happens to have `/d/` in its path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsgate.config import AlertRule
from obsgate.dashboards.links import dashboard_uid, dashboard_uids, receiver_links, rule_links


def rule(name: str, **annotations: str) -> AlertRule:
    return AlertRule("g", None, name, "up == 0", 0.0, {}, annotations, Path("rules.yaml"), 3)


@pytest.mark.parametrize(
    ("url", "uid"),
    [
        ("https://grafana.example.org/d/services/services?orgId=1", "services"),
        ("https://grafana.example.org/d/abc-12_x", "abc-12_x"),
        ("https://example.org/grafana/d/abc/slug#panel", "abc"),  # Grafana under a sub-path
        ("https://grafana.example.org/d-solo/abc/slug?panelId=2", "abc"),
        ("https://grafana.example.org/d/{{ $labels.dashboard }}/x", None),
        ("https://grafana.example.org/d/abc{{ $labels.suffix }}", None),
        ("https://grafana.example.org/dashboards/f/folder", None),
        ("https://grafana.example.org/goto/Zx1", None),
    ],
)
def test_dashboard_uid_is_read_only_where_it_is_literal(url: str, uid: str | None) -> None:
    assert dashboard_uid(url) == uid


def test_rule_links_by_annotation_name_and_by_grafana_host() -> None:
    rules = [
        rule("A", dashboard_url="https://grafana.example.org/d/abc/x?var-svc={{ $labels.svc }}"),
        rule("B", description="see https://grafana.example.org/d/def/y for the graph"),
        rule("C", runbook_url="https://docs.google.com/document/d/1AbCdE/edit"),
        rule("D", grafana_panel="https://other.example.org/d-solo/ghi?panelId=1"),
    ]
    assert sorted(link.evidence for link in rule_links(rules)) == [
        "A: dashboard_url uid abc",
        "B: description uid def",
        "D: grafana_panel uid ghi",
    ]
    assert rule_links(rules)[0].place == "rules.yaml:3"


def test_no_dashboard_annotation_no_link() -> None:
    """Without a dashboard annotation no host is known to be Grafana: `/d/` alone is not
    enough (it is also how Google Docs paths read)."""
    assert rule_links([rule("B", description="https://grafana.example.org/d/def")]) == []


def test_receiver_links_are_the_literal_ones_on_a_grafana_host() -> None:
    config = {
        "receivers": [
            {
                "name": "slack",
                "slack_configs": [
                    {
                        "title_link": "https://grafana.example.org/d/abc",
                        "actions": [
                            {"url": "{{ (index .Alerts 0).Annotations.dashboard_url }}"},
                            {"url": "https://runbooks.example.org/d/xyz"},
                        ],
                    }
                ],
            },
            {"name": "pd", "pagerduty_configs": [{"links": [{"dashboard": "https://x/d/q"}]}]},
        ]
    }
    links = receiver_links(config, {"grafana.example.org"}, "alertmanager.yaml")
    assert sorted(link.evidence for link in links) == [
        "receiver pd: pagerduty_configs[0].links[0].dashboard uid q",
        "receiver slack: slack_configs[0].title_link uid abc",
    ]


def test_dashboard_uids_skip_dashboards_without_one() -> None:
    assert dashboard_uids([{"uid": "a"}, {"uid": ""}, {"title": "no uid"}, {"uid": 7}]) == {
        "a",
        "7",
    }
