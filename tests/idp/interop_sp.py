"""The python3-saml service provider the interop tests register with the built-in IdP."""

INTEROP_SP = {"entity_id": "http://sp.interop.test/metadata", "acs": "http://sp.interop.test/acs"}
