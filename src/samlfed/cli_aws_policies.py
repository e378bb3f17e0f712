"""`samlfed aws-policies`: import AWS managed policies (`arn:aws:iam::aws:policy/…`) and list them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from .cli_common import EXIT_USAGE, DatabaseUrl, DataDir, JsonOutput, ReaderMayLeave, store_context, usage_error
from .files import read_at_most
from .terminal_text import one_line, visible
from .timestamps import aws_timestamp

aws_policies_app = typer.Typer(
    cls=ReaderMayLeave, no_args_is_help=True,
    help="AWS managed policies (arn:aws:iam::aws:policy/…), which every account can attach: samlfed ships none, import AWS's catalogue.",
)

CATALOGUE_LIMIT = 256 << 20
"""The largest catalogue file read: AWS's whole catalogue with every version is tens of megabytes."""


@aws_policies_app.command("import")
def import_policies(
    catalogue: Annotated[Path, typer.Argument(help="JSON: `aws iam get-account-authorization-details` output, a list of policies, or policies keyed by name")],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="import the policies that can be stored even when others cannot")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOutput = False,
) -> None:
    """Create or update AWS managed policies from a catalogue file. Roles keep them attached across updates; a
    policy the file does not name stays as it is."""
    from .iam.aws_managed import CatalogueError, import_catalogue, read_catalogue

    try:
        entries, refused = read_catalogue(read_at_most(catalogue, CATALOGUE_LIMIT), now=datetime.now(UTC))
    except OSError as exc:
        raise _refusal(f"cannot read {catalogue}: {exc.strerror or exc}", as_json) from None
    except CatalogueError as exc:
        raise _refusal(f"{catalogue} is not a policy catalogue: {exc}", as_json) from None
    if refused and not skip_invalid:
        message = f"nothing imported: {len(refused)} of {len(entries) + len(refused)} policies cannot be stored (--skip-invalid imports the others)"
        raise _refusal(message, as_json, refused)
    report = import_catalogue(store_context(data_dir, database_url), entries)
    report.refused[:0] = refused
    if as_json:
        typer.echo(json.dumps({"Created": report.created, "Updated": report.updated, "Unchanged": report.unchanged, "Refused": report.refused}))
    else:
        _say_refused(report.refused)
        typer.echo(f"{len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged, {len(report.refused)} refused")
    if report.refused and not skip_invalid:  # a policy ID clash found while storing
        raise typer.Exit(1)


def _refusal(message: str, as_json: bool, refused: list[str] | None = None) -> typer.Exit:
    """The exit of an import that stores nothing, said as the output asked for: with --json one JSON object on
    standard output, {"error": {"message": …, "refused": […]}}, which a script reads where it reads the report."""
    if not as_json:
        _say_refused(refused or [])
        return usage_error(message)
    error: dict[str, object] = {"message": message}
    if refused:
        error["refused"] = refused
    typer.echo(json.dumps({"error": error}))
    return typer.Exit(EXIT_USAGE)


def _say_refused(reasons: list[str]) -> None:
    """One `refused …` line on stderr for each reason. A reason starts with the entry's name as the catalogue spells
    it, and catalogues come from third parties too (public copies of AWS's): a name holding escape sequences or line
    breaks must not drive the operator's terminal or print refusals of its own. (--json escapes them itself.)"""
    for reason in reasons:
        typer.echo(f"refused {one_line(visible(reason))}", err=True)


@aws_policies_app.command("delete")
def delete_policies(
    arns: Annotated[list[str], typer.Argument(help="ARNs of imported AWS managed policies")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete imported AWS managed policies that no role of any account uses."""
    from .iam.aws_managed import delete_policy

    ctx = store_context(data_dir, database_url)
    failed = False
    for arn in arns:
        reason = delete_policy(ctx, arn)
        failed |= reason is not None
        shown = one_line(visible(arn))  # as typed: it must not drive the terminal either
        typer.echo(f"deleted {shown}" if reason is None else f"kept {shown}: {reason}", err=reason is not None)
    if failed:
        raise typer.Exit(1)


@aws_policies_app.command("list")
def list_policies(data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: JsonOutput = False) -> None:
    """List the AWS managed policies imported, by name."""
    from .store import AWS_MANAGED

    policies = store_context(data_dir, database_url).store.list_policies(AWS_MANAGED, scope="AWS")
    if as_json:
        typer.echo(json.dumps({"Policies": [
            {"Arn": p.arn, "PolicyId": p.policy_id, "DefaultVersionId": p.default_version_id, "UpdateDate": aws_timestamp(p.updated_at)} for p in policies
        ]}))
        return
    for policy in policies:
        typer.echo(f"{policy.arn}  {policy.default_version_id}")
