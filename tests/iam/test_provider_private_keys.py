"""Encrypted-assertion settings of SAML providers (AssertionEncryptionMode, AddPrivateKey, RemovePrivateKey;
contract §6.4) through boto3 over HTTP against a real server: every documented message with its code and status,
GetSAMLProvider's PrivateKeyList, the keys the sign-in trust decrypts with (and AssumeRoleWithSAML with them), and a
private key that shows nowhere (answers, errors, logs, the database file)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from provider_key_material import KEY_ID_PATTERN, der, pem_body, pkcs1, pkcs8, refused_keys, rsa_key, same_key
from saml_factory import ENTITY_ID, response_b64, signer
from servers import app_in_thread
from sqlalchemy import select

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_account
from samlfed.iam.provider_keys import private_key_id
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import JsonFormatter, build_context
from samlfed.store import provider_key_context, schema
from samlfed.sts.assume import provider_trust

ACCOUNT = "111111111111"
METADATA = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
REQUIRED_WITHOUT_KEY = "Unable to set assertion encryption mode to Required because no private key is provided."
KEY_NOT_FOUND = "Failed to remove private key because the Key ID does not match a private key."


class Server:
    def __init__(self, ctx: ServiceContext, url: str, admin) -> None:  # type: ignore[no-untyped-def]
        self.ctx, self.url, self.admin = ctx, url, admin
        self.iam = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id=admin.access_key_id, aws_secret_access_key=admin.secret_access_key,
        )
        self.raw = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=admin.access_key_id,
            aws_secret_access_key=admin.secret_access_key, config=Config(parameter_validation=False),
        )
        """No client-side validation: what the server must refuse itself."""


def serve(data_dir: Path, admin=None):  # type: ignore[no-untyped-def]
    ctx = build_context(Settings(data_dir=data_dir))
    admin = admin or create_account(ctx, ACCOUNT)
    return ctx, admin


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ctx, admin = serve(tmp_path_factory.mktemp("data"))
    with app_in_thread(build_app(ctx)) as url:
        yield Server(ctx, url, admin)


_names = iter(range(1_000_000))


def new_provider(server: Server, **params: str) -> str:
    return server.iam.create_saml_provider(SAMLMetadataDocument=METADATA, Name=f"Enc{next(_names)}", **params)["SAMLProviderArn"]


def error_of(call) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def key_id_of(key) -> str:  # type: ignore[no-untyped-def]
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b32encode(hashlib.sha256(spki).digest()).decode().rstrip("=")


def test_a_new_provider_allows_plaintext_and_holds_no_key(server: Server) -> None:
    got = server.iam.get_saml_provider(SAMLProviderArn=new_provider(server))
    assert (got["AssertionEncryptionMode"], got["PrivateKeyList"]) == ("Allowed", [])


def test_create_with_a_key_and_required_mode_lists_the_key(server: Server) -> None:
    arn = new_provider(server, AssertionEncryptionMode="Required", AddPrivateKey=pkcs8(rsa_key("a")))
    got = server.iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["AssertionEncryptionMode"] == "Required"
    [listed] = got["PrivateKeyList"]
    assert set(listed) == {"KeyId", "Timestamp"} and isinstance(listed["Timestamp"], datetime)
    assert re.fullmatch(KEY_ID_PATTERN, listed["KeyId"]) and listed["KeyId"] == key_id_of(rsa_key("a"))
    assert pem_body(pkcs8(rsa_key("a")))[1] not in json.dumps(got, default=str)


def test_required_without_a_key_is_refused_on_create_and_update(server: Server) -> None:
    before = len(server.iam.list_saml_providers()["SAMLProviderList"])
    create = lambda: new_provider(server, AssertionEncryptionMode="Required")  # noqa: E731
    assert error_of(create) == ("InvalidInput", REQUIRED_WITHOUT_KEY, 400)
    assert len(server.iam.list_saml_providers()["SAMLProviderList"]) == before
    arn = new_provider(server)
    assert error_of(lambda: server.iam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Required")) == ("InvalidInput", REQUIRED_WITHOUT_KEY, 400)
    assert server.iam.get_saml_provider(SAMLProviderArn=arn)["AssertionEncryptionMode"] == "Allowed"


def test_rotation_adds_then_removes_with_at_most_two_keys(server: Server) -> None:
    iam = server.iam
    arn = new_provider(server, AddPrivateKey=pkcs8(rsa_key("a")))
    iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pkcs1(rsa_key("b")))  # PKCS#1 is accepted too
    listed = [k["KeyId"] for k in iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]]
    assert listed == [key_id_of(rsa_key("a")), key_id_of(rsa_key("b"))]
    third = lambda: iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pkcs8(rsa_key("c")))  # noqa: E731
    assert error_of(third) == ("LimitExceeded", "Private key limit of 2 is reached.", 409)
    # A key held already, in either encoding: accepted and unchanged (a retried request succeeds), even at the limit.
    before = iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    assert iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pkcs1(rsa_key("a")))["SAMLProviderArn"] == arn
    assert iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"] == before
    iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=key_id_of(rsa_key("a")))
    iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pkcs8(rsa_key("c")))
    assert [k["KeyId"] for k in iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]] == [key_id_of(rsa_key("b")), key_id_of(rsa_key("c"))]


def test_a_key_may_come_with_whitespace_around_it_and_crlf_line_ends(server: Server) -> None:
    framed = "\n\n" + pkcs8(rsa_key("a")).replace("\n", "\r\n") + " \t\n"
    arn = new_provider(server, AddPrivateKey=framed)
    assert [k["KeyId"] for k in server.iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]] == [key_id_of(rsa_key("a"))]


def test_adding_and_removing_in_one_request_is_refused(server: Server) -> None:
    arn = new_provider(server, AddPrivateKey=pkcs8(rsa_key("a")))
    both = lambda: server.iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pkcs8(rsa_key("b")), RemovePrivateKey=key_id_of(rsa_key("a")))  # noqa: E731
    message = "Unable to add and remove private keys in the same request. Set a value for only one of the two parameters."
    assert error_of(both) == ("InvalidInput", message, 400)
    assert len(server.iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]) == 1


@pytest.mark.parametrize("key_id", [key_id_of(rsa_key("b")), "ABCDEFGHIJKLMNOPQRSTUV"])
def test_removing_a_key_the_provider_does_not_hold_is_refused(server: Server, key_id: str) -> None:
    arn = new_provider(server, AddPrivateKey=pkcs8(rsa_key("a")))
    remove = lambda: server.iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=key_id)  # noqa: E731
    assert error_of(remove) == ("InvalidInput", KEY_NOT_FOUND, 400)
    assert len(server.iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]) == 1


@pytest.mark.parametrize(("key_id", "violations"), [
    ("SHORT", ["Value 'SHORT' at 'removePrivateKey' failed to satisfy constraint: Member must have length greater than or equal to 22"]),
    ("abcdefghijklmnopqrstuvwxyz", ["Value 'abcdefghijklmnopqrstuvwxyz' at 'removePrivateKey' failed to satisfy constraint: "
                                    "Member must satisfy regular expression pattern: [A-Z0-9]+"]),
    (pkcs8(rsa_key("b")), ["Value at 'removePrivateKey' failed to satisfy constraint: Member must have length less than or equal to 64",
                           "Value at 'removePrivateKey' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Z0-9]+"]),
], ids=["too short", "lower case", "a private key pasted by mistake"])
def test_a_key_id_outside_the_model_is_a_validation_error_that_never_quotes_a_key(server: Server, key_id: str, violations: list[str]) -> None:
    arn = new_provider(server, AddPrivateKey=pkcs8(rsa_key("a")))
    remove = lambda: server.raw.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=key_id)  # noqa: E731
    count = f"{len(violations)} validation error{'s' if len(violations) > 1 else ''} detected: "
    assert error_of(remove) == ("ValidationError", count + "; ".join(violations), 400)
    assert "PRIVATE KEY" not in error_of(remove)[1]
    assert len(server.iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]) == 1


def test_the_last_key_of_a_required_provider_stays_unless_the_mode_goes_back_to_allowed(server: Server) -> None:
    iam = server.iam
    key_id = key_id_of(rsa_key("a"))
    arn = new_provider(server, AddPrivateKey=pkcs8(rsa_key("a")))
    iam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Required")
    assert error_of(lambda: iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=key_id)) == ("InvalidInput", REQUIRED_WITHOUT_KEY, 400)
    assert [k["KeyId"] for k in iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]] == [key_id]
    iam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Allowed", RemovePrivateKey=key_id)
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert (got["AssertionEncryptionMode"], got["PrivateKeyList"]) == ("Allowed", [])


def test_an_update_that_asks_nothing_is_refused(server: Server) -> None:
    arn = new_provider(server)
    message = "Unable to update identity provider. No updates are defined for metadata or encryption assertion."
    assert error_of(lambda: server.iam.update_saml_provider(SAMLProviderArn=arn)) == ("InvalidInput", message, 400)


@pytest.mark.parametrize("kind", sorted(refused_keys()))
def test_anything_but_an_unencrypted_rsa_key_of_2048_bits_is_an_invalid_private_key(server: Server, kind: str) -> None:
    text = refused_keys()[kind]
    assert error_of(lambda: new_provider(server, AddPrivateKey=text)) == ("InvalidInput", "Invalid private key.", 400)
    arn = new_provider(server)
    assert error_of(lambda: server.iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=text)) == ("InvalidInput", "Invalid private key.", 400)
    assert server.iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"] == []


@pytest.mark.parametrize(("text", "violations"), [
    (pkcs8(rsa_key("a")) + " " * 16384, ["Member must have length less than or equal to 16384"]),
    (pkcs8(rsa_key("a")) + "\u0100", ["Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"]),
    ("\u0100" * 16385, ["Member must have length less than or equal to 16384",
                        "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"]),
], ids=["too long", "a character outside the pattern", "both"])
def test_a_private_key_outside_the_model_is_a_validation_error_that_never_quotes_it(server: Server, text: str, violations: list[str]) -> None:
    """privateKeyType: 1-16384 characters of [\\u0009\\u000A\\u000D\\u0020-\\u00FF], sensitive (botocore checks only the minimum)."""
    count = f"{len(violations)} validation error{'s' if len(violations) > 1 else ''} detected: "
    expected = ("ValidationError", count + "; ".join(f"Value at 'addPrivateKey' failed to satisfy constraint: {v}" for v in violations), 400)
    assert error_of(lambda: new_provider(server, AddPrivateKey=text)) == expected
    arn = new_provider(server)
    assert error_of(lambda: server.raw.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=text)) == expected
    assert server.iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"] == []


def test_an_unknown_provider_is_named_before_the_key_parameters(server: Server) -> None:
    missing = f"arn:aws:iam::{ACCOUNT}:saml-provider/Nobody"
    code, message, status = error_of(lambda: server.iam.update_saml_provider(SAMLProviderArn=missing, AddPrivateKey="not a key"))
    assert (code, message, status) == ("NoSuchEntity", f"Manifest not found for arn {missing}", 404)


def test_the_sign_in_trust_decrypts_with_the_providers_keys_and_follows_its_mode(server: Server) -> None:
    arn = new_provider(server, AddPrivateKey=pkcs8(rsa_key("a")))
    trust = provider_trust(server.ctx.reads.provider(arn), server.ctx.master)
    assert [same_key(k, rsa_key("a")) for k in trust.decryption_keys] == [True] and trust.encryption_required is False
    server.iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pkcs1(rsa_key("b")), AssertionEncryptionMode="Required")
    trust = provider_trust(server.ctx.reads.provider(arn), server.ctx.master)
    assert [same_key(k, w) for k, w in zip(trust.decryption_keys, (rsa_key("a"), rsa_key("b")), strict=True)] == [True, True]
    assert trust.encryption_required is True and trust.provider_arn == arn and trust.entity_id == ENTITY_ID
    server.iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=key_id_of(rsa_key("a")))
    trust = provider_trust(server.ctx.reads.provider(arn), server.ctx.master)  # this node's own change: at once
    assert [same_key(k, rsa_key("b")) for k in trust.decryption_keys] == [True]
    server.iam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Allowed", RemovePrivateKey=key_id_of(rsa_key("b")))
    trust = provider_trust(server.ctx.reads.provider(arn), server.ctx.master)
    assert (trust.decryption_keys, trust.encryption_required) == ((), False)


def test_the_private_key_shows_in_no_log_line_only_its_key_id_in_the_audit_trail(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    pem = pkcs8(rsa_key("a"))
    with caplog.at_level(logging.DEBUG):
        arn = new_provider(server)
        server.iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pem)
        error_of(lambda: server.iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pkcs8(rsa_key("small", 1024))))
        server.iam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Allowed", RemovePrivateKey=key_id_of(rsa_key("a")))
    audit = [r for r in caplog.records if r.name == "samlfed.audit" and getattr(r, "resource", None) == arn]
    assert [r.action for r in audit] == ["CreateSAMLProvider", "UpdateSAMLProvider", "UpdateSAMLProvider"]
    added, removed = audit[1], audit[2]
    assert added.add_private_key_id == key_id_of(rsa_key("a")) and f"AddPrivateKeyId='{key_id_of(rsa_key('a'))}'" in added.getMessage()
    assert removed.remove_private_key == key_id_of(rsa_key("a")) and removed.assertion_encryption_mode == "Allowed"
    secrets = pem_body(pem) + pem_body(pkcs8(rsa_key("small", 1024)))
    client_side = ("botocore", "boto3", "urllib3")  # the client's own debug lines show the request it sends
    for record in (r for r in caplog.records if not r.name.startswith(client_side)):
        shown = record.getMessage() + json.dumps(json.loads(JsonFormatter().format(record)))
        assert not [line for line in secrets if line in shown], record.getMessage()
        assert "PRIVATE KEY" not in shown


def test_a_key_survives_a_restart_sealed_and_goes_with_its_provider(tmp_path: Path) -> None:
    ctx, admin = serve(tmp_path)
    pem = pkcs1(rsa_key("a"))
    with app_in_thread(build_app(ctx)) as url:
        first = Server(ctx, url, admin)
        arn = new_provider(first, AddPrivateKey=pem, AssertionEncryptionMode="Required")
        listed = first.iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    ctx.store.engine.dispose()

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("samlfed.db*"))
    for form in (pem, pkcs8(rsa_key("a"))):
        assert not [line for line in pem_body(form) if line.encode() in stored]
    assert der(rsa_key("a")) not in stored and der(rsa_key("a"))[-64:] not in stored

    ctx, _ = serve(tmp_path, admin)
    with app_in_thread(build_app(ctx)) as url:
        again = Server(ctx, url, admin)
        got = again.iam.get_saml_provider(SAMLProviderArn=arn)
        assert (got["AssertionEncryptionMode"], got["PrivateKeyList"]) == ("Required", listed)
        provider = ctx.reads.provider(arn)
        assert [same_key(k, rsa_key("a")) for k in provider_trust(provider, ctx.master).decryption_keys] == [True]
        # Sealed under the master key for this provider and key ID, and nothing else opens it.
        with ctx.store.engine.connect() as connection:
            [sealed] = connection.execute(select(schema.provider_private_keys.c.sealed_pem)).scalars().all()
        assert ctx.master.unseal(bytes(sealed), context=provider_key_context(provider.uuid, listed[0]["KeyId"])) == pkcs8(rsa_key("a")).encode()
        again.iam.delete_saml_provider(SAMLProviderArn=arn)
        with ctx.store.engine.connect() as connection:
            assert connection.execute(select(schema.provider_private_keys)).all() == []
    ctx.store.engine.dispose()


def test_assume_role_with_saml_decrypts_with_an_uploaded_key_and_required_refuses_plaintext(server: Server) -> None:
    sp = signer("encryption")
    pem = sp.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    arn = new_provider(server)
    role = f"arn:aws:iam::{ACCOUNT}:role/Encrypted{arn.rsplit('/', 1)[1]}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]}
    server.iam.create_role(RoleName=role.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust))
    sts = boto3.client("sts", endpoint_url=server.url, region_name="us-east-1", config=Config(signature_version=UNSIGNED))

    def assume(**options: object) -> dict:
        assertion = response_b64(issue_instant=datetime.now(UTC), roles=[f"{role},{arn}"], **options)
        return sts.assume_role_with_saml(RoleArn=role, PrincipalArn=arn, SAMLAssertion=assertion)

    server.iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pem, AssertionEncryptionMode="Required")
    assert assume(encrypt_for=sp)["AssumedRoleUser"]["Arn"].endswith("/alice@example.com")
    assert error_of(assume)[0] == "InvalidIdentityToken"  # plaintext, while Required
    server.iam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Allowed", RemovePrivateKey=private_key_id(sp.private_key))
    assert assume()["AssumedRoleUser"]["Arn"].endswith("/alice@example.com")
    assert error_of(lambda: assume(encrypt_for=sp))[0] == "InvalidIdentityToken"  # its key was removed
