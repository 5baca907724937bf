"""RemoteEngine's management client: patterns, lists, validators, templates, admin, health."""

from __future__ import annotations

import pytest

from tsz_otel import (
    FormatValidator,
    Pattern,
    RemoteAuthError,
    RemoteBadRequestError,
    RemoteNotFoundError,
    Template,
)
from tsz_otel.remote import RemoteEngine
from tsz_otel.testing.tsz_server import TszTestServer


def test_patterns_crud_changes_detection(remote: RemoteEngine) -> None:
    created = remote.create_pattern(
        Pattern(Name="TICKET", Regex=r"TICKET-\d{4}", Category="TOPIC", Description="tickets")
    )
    assert created.ID is not None and created.CreatedAt is not None
    assert "TICKET" in [p.Name for p in remote.list_patterns()]
    (ticket,) = remote.detect("see TICKET-1234").detections
    assert ticket.type == "TICKET" and ticket.confidence_score == 0.45
    remote.delete_pattern(created.ID)
    assert remote.detect("see TICKET-1234").detections == []
    with pytest.raises(RemoteNotFoundError):
        remote.delete_pattern(created.ID)


def test_an_invalid_regex_is_refused(remote: RemoteEngine) -> None:
    with pytest.raises(RemoteBadRequestError):
        remote.create_pattern({"name": "BAD", "regex": "(?=x)"})


def test_allowlist_and_blacklist(remote: RemoteEngine) -> None:
    item = remote.add_allowlist("support@company.com")
    assert item.ID is not None
    assert [i.value for i in remote.list_allowlist()] == ["support@company.com"]
    allowed = remote.detect("write to support@company.com or bob@company.com")
    assert [d.value for d in allowed.detections] == ["bob@company.com"]
    remote.delete_allowlist(item.ID)
    assert remote.list_allowlist() == []

    banned = remote.add_blacklist({"value": "project-orion", "description": "code name"})
    response = remote.detect("status of project-orion?")
    (hit,) = response.detections
    assert (hit.type, hit.placeholder, hit.action) == ("BLOCKLIST", "[BLOCKED]", "BLOCK")
    assert response.blocked and response.redacted_text == "status of [BLOCKED]?"
    assert banned.ID is not None
    remote.delete_blacklist(banned.ID)
    assert not remote.detect("status of project-orion?").blocked


def test_validators_crud(remote: RemoteEngine) -> None:
    names = [v.name for v in remote.list_validators()]
    assert names == ["JSON", "XML"]
    created = remote.create_validator(
        FormatValidator(name="NUMERIC", type="REGEX", rule=r"^[0-9]+$")
    )
    assert created.ID is not None
    assert not remote.detect("12345", guardrails=["NUMERIC"]).blocked
    assert remote.detect("12a45", guardrails=["NUMERIC"]).blocked
    remote.delete_validator(created.ID)
    gone = remote.detect("12345", guardrails=["NUMERIC"])
    assert gone.blocked and "validator not found" in (gone.message or "")


def test_template_import_applies_patterns_and_validators(remote: RemoteEngine) -> None:
    template = Template(
        name="Starter",
        patterns=[Pattern(Name="TEST_CODE", Regex=r"CODE-[0-9]{4}", Category="PII")],
        validators=[FormatValidator(name="HAS_CODE", type="REGEX", rule=r"CODE-")],
    )
    assert remote.import_template(template) == "Starter"
    response = remote.detect("use CODE-1234", guardrails=["HAS_CODE"])
    assert [d.type for d in response.detections] == ["TEST_CODE"]
    assert [v.passed for v in response.validator_results] == [True]


def test_template_import_is_all_or_nothing(remote: RemoteEngine) -> None:
    bad = {
        "name": "Broken",
        "patterns": [
            {"Name": "OK_ONE", "Regex": "ok-[0-9]+"},
            {"Name": "BAD_ONE", "Regex": "(?<=x)y"},
        ],
    }
    with pytest.raises(RemoteBadRequestError):
        remote.import_template(bad)
    assert "OK_ONE" not in [p.Name for p in remote.list_patterns()]


def test_health_and_readiness(tsz: TszTestServer, remote: RemoteEngine) -> None:
    assert remote.healthz() and remote.ready()
    tsz.ready = False
    assert remote.healthz() and not remote.ready()


def test_admin_endpoints_need_the_admin_key(tsz: TszTestServer, remote: RemoteEngine) -> None:
    remote.reload()
    assert tsz.reloads == 1
    assert tsz.requests[-1].headers["x-admin-key"] == "test-admin-key"
    with RemoteEngine(tsz.url, admin_key="wrong") as other, pytest.raises(RemoteAuthError):
        other.reload()
    with RemoteEngine(tsz.url) as anonymous:
        with pytest.raises(RemoteAuthError) as caught:
            anonymous.reload()
        assert caught.value.status_code == 401
        anonymous.detect("hello")
    assert "x-admin-key" not in tsz.requests[-1].headers  # never sent where not needed


def test_pattern_policy_moves_the_block_threshold(remote: RemoteEngine) -> None:
    email = next(p for p in remote.list_patterns() if p.Name == "EMAIL")
    assert email.ID is not None
    before = remote.detect("mail a@b.co")
    assert not before.blocked
    updated = remote.update_pattern_policy(email.ID, block_threshold=0.5, allow_threshold=0.2)
    assert updated["BlockThreshold"] == 0.5
    after = remote.detect("mail a@b.co")
    assert after.blocked
    assert after.message == "Blocked due to high confidence detection: EMAIL"
    with pytest.raises(RemoteNotFoundError):
        remote.update_pattern_policy(99999, block_threshold=0.5)
