"""The audit log's lines about AssumeRoleWithSAML stay one line each, whatever the assertion's text holds: values
from the document are written with repr, so a line break in them cannot forge a line of its own."""

from __future__ import annotations

import logging

import pytest
from lxml import etree
from saml_factory import DEV_ROLE, NOW, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.saml import constants as c
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

FORGED = "\n2026-12-01 12:00:00,000 INFO samlfed.sts AssumeRoleWithSAML allowed subject=root"


def refused_status(root: etree._Element) -> None:
    """The Status sits outside the signed Assertion: anyone holding a genuine response can rewrite it."""
    status = root.find(c.STATUS)
    status.find(c.STATUS_CODE).set("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
    etree.SubElement(status, c.STATUS_MESSAGE).text = "refused" + FORGED


@pytest.fixture
def ctx(tmp_path):
    context = developer_world(Settings(data_dir=tmp_path))
    context.clock = lambda: NOW
    return context


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "samlfed.sts"]


def test_a_rejection_reason_with_a_line_break_stays_on_one_line(ctx, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="samlfed.sts")
    with pytest.raises(ServiceError):
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, response_b64(after_sign=refused_status)))
    (line,) = lines(caplog)
    assert "check=status" in line and "\n" not in line


def test_a_subject_with_a_line_break_stays_on_one_line(ctx, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="samlfed.sts")
    assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, response_b64(name_id="alice" + FORGED)))
    (line,) = lines(caplog)
    assert "AssumeRoleWithSAML allowed" in line and "\n" not in line
