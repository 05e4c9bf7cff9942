"""The summary table joins rollback, pod and health results by service."""

from ansible_collections.easymo.rollback.plugins.filter.rollback_table import rollback_table


def test_table_joins_by_service_and_shows_before_after():
    rollbacks = [
        {"name": "agent-core", "changed": True, "images_from": {"c": "reg/agent-core:v2.0.0"}, "revision_from": 2,
         "images_to": {"c": "reg/agent-core:v1.9.4"}, "revision_to": 1, "revision_after": 3, "status": "rolled_out", "seconds": 4.56},
        {"name": "wallet", "changed": False, "images_from": {"c": "reg:5000/wallet:v1"}, "revision_from": 7,
         "images_to": {"c": "reg:5000/wallet:v1"}, "revision_to": 7, "status": "already_at_target", "seconds": 0.0},
    ]
    status = [{"name": "agent-core", "replicas": 4, "pods": {"ready": ["a", "b", "c"]}}]
    health = [{"name": "agent-core", "healthy": False, "verdict": "unhealthy", "reason": "HTTP 503"},
              {"name": "wallet", "healthy": True, "verdict": "healthy"}]
    lines = rollback_table(rollbacks, status, health)
    assert lines[0].split() == ["SERVICE", "FROM", "TO", "ROLLBACK", "SECONDS", "PODS", "HEALTH"]
    assert "v2.0.0 (rev 2)" in lines[1] and "v1.9.4 (rev 3)" in lines[1] and "4.6" in lines[1]
    assert "3/4" in lines[1] and "unhealthy (HTTP 503)" in lines[1]
    # A registry with a port is not mistaken for a tag; an unchanged service stays where it was.
    assert lines[2].count("v1 (rev 7)") == 2 and lines[2].rstrip().endswith("healthy")


def test_table_without_verification_results():
    lines = rollback_table([{"name": "x", "changed": True, "images_from": {}, "images_to": {}, "status": "would_roll_back"}])
    assert len(lines) == 2 and "would_roll_back" in lines[1] and lines[1].count(" - ") >= 1
