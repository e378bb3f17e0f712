"""Reading a catalogue of AWS managed policies (`samlfed aws-policies import`): the shapes it is found in, and what
is refused rather than stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.iam.aws_managed import CatalogueError, read_catalogue

NOW = datetime(2026, 12, 6, tzinfo=UTC)
FIELDS = {"Policies", "PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "CreateDate", "UpdateDate", "Description",
          "PolicyVersionList", "Document", "VersionId", "IsDefaultVersion"}
DOCUMENT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}


def entry(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "PolicyName": "S3Read", "PolicyId": "ANPAEXAMPLEEXAMPLE123", "Arn": "arn:aws:iam::aws:policy/service-role/S3Read", "Path": "/service-role/",
        "DefaultVersionId": "v1", "CreateDate": "2015-02-06T18:40:00Z", "UpdateDate": "2015-02-06T18:40:00Z",
        "PolicyVersionList": [{"Document": DOCUMENT, "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": "2015-02-06T18:40:00Z"}],
    }
    return {**base, **changes}


def read(catalogue: object) -> tuple[list, list[str]]:
    return read_catalogue(json.dumps(catalogue), now=NOW)


def test_the_export_of_an_aws_account_is_read_whole() -> None:
    (found,), refused = read({"Policies": [entry(Description="Read S3.")]})
    policy = found.policy
    assert refused == [] and found.versions[0].version_id == "v1" and found.versions[0].is_default
    assert (policy.arn, policy.account_id, policy.name, policy.path, policy.policy_id, policy.description) == (
        "arn:aws:iam::aws:policy/service-role/S3Read", "aws", "S3Read", "/service-role/", "ANPAEXAMPLEEXAMPLE123", "Read S3.",
    )
    assert json.loads(policy.document) == DOCUMENT and policy.created_at == datetime(2015, 2, 6, 18, 40, tzinfo=UTC)


def test_a_url_encoded_document_as_the_query_api_sends_it_is_decoded() -> None:
    version = {"Document": quote(json.dumps(DOCUMENT)), "VersionId": "v1", "IsDefaultVersion": True}
    (found,), _ = read([entry(PolicyVersionList=[version])])
    assert json.loads(found.policy.document) == DOCUMENT


def test_policies_keyed_by_name_with_one_document_get_a_stable_policy_id() -> None:
    catalogue = {"ReadOnlyAccess": {"Path": "/", "DefaultVersionId": "v7", "Document": DOCUMENT}}
    (found,), _ = read(catalogue)
    (again,), _ = read(catalogue)
    assert found.policy.arn == "arn:aws:iam::aws:policy/ReadOnlyAccess" and found.policy.default_version_id == "v7"
    assert found.policy.policy_id == again.policy.policy_id and found.policy.policy_id.startswith("ANPA") and len(found.policy.policy_id) == 21
    assert found.policy.created_at == NOW  # undated: dated at the import


@pytest.mark.parametrize(("changes", "reason"), [
    ({"Arn": "arn:aws:iam::123456789012:policy/S3Read", "Path": "/"}, "is not an AWS managed policy's ARN"),
    ({"PolicyName": "Other"}, "does not agree with its PolicyName or Path"),
    ({"PolicyId": "anpa-lower"}, "is not 16-32 capital letters and digits"),
    ({"CreateDate": "yesterday"}, "is not an ISO 8601 date and time"),
    ({"CreateDate": "0001-01-01T00:00:00+05:00"}, "within years 1-9999"),  # an OverflowError, not a traceback (a review)
    ({"PolicyId": "ANPA" + "X" * 29}, "is not 16-32 capital letters and digits"),  # longer than the store keeps
    ({"DefaultVersionId": "v2"}, "exactly one version must be the default"),
    ({"PolicyVersionList": [{"Document": DOCUMENT, "VersionId": "v1", "IsDefaultVersion": True},
                            {"Document": DOCUMENT, "VersionId": "v1", "IsDefaultVersion": False}]}, "version IDs must be distinct"),
    ({"PolicyVersionList": [{"Document": {"Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]}, "VersionId": "v1",
                             "IsDefaultVersion": True}]}, "a Document samlfed cannot evaluate"),
    ({"PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True}]}, "a version without a Document"),
    ({"PolicyVersionList": [{"Document": json.dumps(DOCUMENT, ensure_ascii=False).replace("*", "\u0100"), "VersionId": "v1",
                             "IsDefaultVersion": True}]}, "outside IAM's policy characters"),
])
def test_an_entry_that_cannot_be_stored_is_refused_with_its_reason(changes: dict[str, object], reason: str) -> None:
    found, (refused,) = read([entry(**changes), entry(PolicyName="Fine", Arn="arn:aws:iam::aws:policy/Fine", Path="/", PolicyId="ANPAFINEFINEFINEFINE1")])
    assert [f.policy.name for f in found] == ["Fine"]
    assert refused.startswith(f"{changes.get('PolicyName', 'S3Read')}: ") and reason in refused


def test_a_document_longer_than_the_apis_bound_is_stored_compact() -> None:
    """AWS serves managed policies longer than the 131,072 characters a PolicyDocument parameter may hold
    (AWSSupportServiceRolePolicy: 135,200 without whitespace, 4,054 actions)."""
    actions = [f"service{n % 97}:DescribeSomethingRatherLong{n:05d}" for n in range(4_000)]
    large = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    (found,), refused = read([entry(PolicyVersionList=[{"Document": large, "VersionId": "v1", "IsDefaultVersion": True}])])
    assert refused == [] and len(found.policy.document) > 131_072
    assert found.policy.document == json.dumps(large, separators=(",", ":"))


@pytest.mark.parametrize("text", ["not json", "[", json.dumps({"Policies": "none"}), json.dumps(42)])
def test_a_file_that_is_no_catalogue_is_refused_whole(text: str) -> None:
    with pytest.raises(CatalogueError):
        read_catalogue(text, now=NOW)


@pytest.mark.parametrize("twin", [
    entry(),
    entry(Arn="arn:aws:iam::aws:policy/S3Read", Path="/", PolicyId="ANPATWINTWINTWINTWIN1"),  # another path
    entry(PolicyName="s3read", Arn="arn:aws:iam::aws:policy/service-role/s3read", PolicyId="ANPATWINTWINTWINTWIN1"),  # another case
])
def test_a_catalogue_naming_a_policy_twice_is_refused_whole(twin: dict[str, object]) -> None:
    """Listings page by lower-cased name: two policies sharing one would hide each other (a review)."""
    with pytest.raises(CatalogueError, match="more than once"):
        read([entry(), twin])


def test_the_cli_imports_nothing_while_an_entry_is_refused_unless_told_to_skip_it(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["accounts", "create", "--id", "123456789012", *data]).exit_code == 0
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({"Policies": [entry(), entry(PolicyName="Bad", Arn="arn:aws:iam::aws:policy/Bad", Path="/", PolicyId="nope")]}))

    refused = runner.invoke(app, ["aws-policies", "import", str(catalogue), *data])
    assert refused.exit_code == 2 and "refused Bad: PolicyId 'nope'" in refused.stderr and "nothing imported" in refused.stderr
    assert json.loads(runner.invoke(app, ["aws-policies", "list", "--json", *data]).stdout) == {"Policies": []}

    skipped = runner.invoke(app, ["aws-policies", "import", str(catalogue), "--skip-invalid", "--json", *data])
    assert skipped.exit_code == 0
    assert json.loads(skipped.stdout) == {
        "Created": ["arn:aws:iam::aws:policy/service-role/S3Read"], "Updated": [], "Unchanged": [], "Refused": [
            "Bad: PolicyId 'nope' is not 16-32 capital letters and digits",
        ],
    }
    listed = runner.invoke(app, ["aws-policies", "list", *data])
    assert listed.stdout.split() == ["arn:aws:iam::aws:policy/service-role/S3Read", "v1"]
    accounts = runner.invoke(app, ["accounts", "list", *data])
    assert accounts.stdout.split() == ["123456789012"]  # the policies' owner is no account to list


def test_the_cli_refuses_a_file_that_is_no_catalogue(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    runner.invoke(app, ["accounts", "create", "--id", "123456789012", *data])
    (tmp_path / "bad.json").write_text("{}")
    said = runner.invoke(app, ["aws-policies", "import", str(tmp_path / "bad.json"), *data])
    assert said.exit_code == 2 and "is not a policy catalogue" in said.stderr
    said = runner.invoke(app, ["aws-policies", "import", str(tmp_path / "missing.json"), *data])
    assert said.exit_code == 2 and "cannot read" in said.stderr


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(sorted(FIELDS)) | st.text(max_size=6), inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(catalogue=JSON_VALUES)
def test_any_json_is_read_or_refused_never_raising_anything_else(catalogue: object) -> None:
    try:
        entries, refused = read_catalogue(json.dumps(catalogue), now=NOW)
    except CatalogueError:
        return
    assert all(isinstance(reason, str) and ": " in reason for reason in refused)
    assert all(entry.policy.arn.startswith("arn:aws:iam::aws:policy/") for entry in entries)


def test_json_nested_past_the_parsers_depth_is_no_catalogue() -> None:
    with pytest.raises(CatalogueError, match="nested too deeply"):  # not a RecursionError
        read_catalogue("[" * 100_000 + "]" * 100_000, now=NOW)


def test_the_cli_deletes_an_imported_policy_that_no_role_uses(tmp_path: Path) -> None:
    from samlfed.config import Settings
    from samlfed.iam.attached_policies import attach_role_policy
    from samlfed.iam.roles import create_role
    from samlfed.server import build_context

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    runner.invoke(app, ["accounts", "create", "--id", "123456789012", *data])
    (tmp_path / "catalogue.json").write_text(json.dumps([entry(), entry(PolicyName="Used", Arn="arn:aws:iam::aws:policy/Used", Path="/",
                                                                        PolicyId="ANPAUSEDUSEDUSEDUSED1")]))
    assert runner.invoke(app, ["aws-policies", "import", str(tmp_path / "catalogue.json"), *data]).exit_code == 0
    ctx = build_context(Settings(data_dir=tmp_path / "data"))
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    create_role(ctx, "123456789012", "Worker", trust)
    attach_role_policy(ctx, "123456789012", "Worker", "arn:aws:iam::aws:policy/Used")

    said = runner.invoke(app, ["aws-policies", "delete", "arn:aws:iam::aws:policy/service-role/S3Read", "arn:aws:iam::aws:policy/Used",
                               "arn:aws:iam::aws:policy/Missing", "arn:aws:iam::123456789012:policy/Mine", *data])
    assert said.exit_code == 1
    assert said.stdout.splitlines() == ["deleted arn:aws:iam::aws:policy/service-role/S3Read"]
    assert said.stderr.splitlines() == [
        "kept arn:aws:iam::aws:policy/Used: a role uses it (attached or as its permissions boundary): detach it everywhere first",
        "kept arn:aws:iam::aws:policy/Missing: no such policy was imported",
        "kept arn:aws:iam::123456789012:policy/Mine: not an AWS managed policy's ARN (arn:aws:iam::aws:policy/…)",
    ]
    assert runner.invoke(app, ["aws-policies", "list", *data]).stdout.split() == ["arn:aws:iam::aws:policy/Used", "v1"]


def test_a_later_catalogue_may_not_bring_a_namesake_of_an_imported_policy(tmp_path: Path) -> None:
    """Listings page by lower-cased name, so two AWS managed policies may not share one, across imports too."""
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    runner.invoke(app, ["accounts", "create", "--id", "123456789012", *data])
    (tmp_path / "first.json").write_text(json.dumps([entry()]))
    (tmp_path / "second.json").write_text(json.dumps([entry(Arn="arn:aws:iam::aws:policy/S3READ", PolicyName="S3READ", Path="/",
                                                            PolicyId="ANPASECONDSECONDSECO1")]))
    assert runner.invoke(app, ["aws-policies", "import", str(tmp_path / "first.json"), *data]).exit_code == 0
    said = runner.invoke(app, ["aws-policies", "import", str(tmp_path / "second.json"), *data])
    assert said.exit_code == 1
    assert "refused S3READ: another policy has its PolicyId, or another AWS managed policy its name (in any case, on any path)" in said.stderr
    assert runner.invoke(app, ["aws-policies", "list", *data]).stdout.split() == ["arn:aws:iam::aws:policy/service-role/S3Read", "v1"]


def test_with_json_a_refused_import_is_one_json_error_object(tmp_path: Path) -> None:
    """Found by a CLI probe: with --json a refused import printed text a script could not read. It prints
    {"error": {...}} on standard output, and exits 2 as the text refusal does."""
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["accounts", "create", "--id", "123456789012", *data]).exit_code == 0
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({"Policies": [entry(), entry(PolicyName="Bad", Arn="arn:aws:iam::aws:policy/Bad", Path="/", PolicyId="nope")]}))
    (tmp_path / "bad.json").write_text("{}")

    refused = runner.invoke(app, ["aws-policies", "import", str(catalogue), "--json", *data])
    assert refused.exit_code == 2 and refused.stderr == ""
    assert json.loads(refused.stdout) == {"error": {
        "message": "nothing imported: 1 of 2 policies cannot be stored (--skip-invalid imports the others)",
        "refused": ["Bad: PolicyId 'nope' is not 16-32 capital letters and digits"],
    }}
    for name, said in (("bad.json", "is not a policy catalogue"), ("missing.json", "cannot read")):
        refused = runner.invoke(app, ["aws-policies", "import", str(tmp_path / name), "--json", *data])
        assert refused.exit_code == 2 and refused.stderr == "", refused.stderr
        assert set(json.loads(refused.stdout)) == {"error"} and said in json.loads(refused.stdout)["error"]["message"]
    assert json.loads(runner.invoke(app, ["aws-policies", "list", "--json", *data]).stdout) == {"Policies": []}


def test_a_refused_entrys_name_cannot_drive_the_terminal_or_print_lines_of_its_own(tmp_path: Path) -> None:
    """Found by a CLI probe: a refusal names the entry as the catalogue spells its key (public copies of AWS's
    catalogue come from third parties), and a name holding an escape sequence or a line break reached the operator's
    terminal as it was, forging a refusal line of its own. It is printed escaped; --json escapes it as JSON does."""
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    assert runner.invoke(app, ["accounts", "create", "--id", "123456789012", *data]).exit_code == 0
    hostile = "Evil\x1b]0;owned\x07\x9b2J\nrefused S3Read"
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({hostile: {"Document": DOCUMENT}, "S3Read": {"Document": DOCUMENT}}))

    for options in ([], ["--skip-invalid"]):
        said = runner.invoke(app, ["aws-policies", "import", str(catalogue), *options, *data])
        refusals = [line for line in said.stderr.splitlines() if line.startswith("refused ")]
        assert refusals == [f"refused Evil\\u001b]0;owned\\u0007\\u009b2J\\nrefused S3Read: PolicyName {hostile!r} is not 1-128 characters of [\\w+=,.@-]"]
        assert not any(mark in said.stderr for mark in "\x1b\x07\x9b")
    reported = runner.invoke(app, ["aws-policies", "import", str(catalogue), "--skip-invalid", "--json", *data])
    assert json.loads(reported.stdout)["Refused"] == [f"{hostile}: PolicyName {hostile!r} is not 1-128 characters of [\\w+=,.@-]"]
