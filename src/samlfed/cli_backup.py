"""`samlfed backup`: copy an SQLite data directory while samlfed serves (see backup.py)."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli_common import directory_path, settings_or_exit, usage_error

if TYPE_CHECKING:
    from .backup import Backup


def backup(
    destination: Annotated[Path, typer.Argument(help="a new directory, or an empty one of your own; the copy is a data directory itself")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="the data directory to copy (SAMLFED_DATA_DIR)", parser=directory_path, metavar="<path>")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings file (SAMLFED_CONFIG)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object describing the copy")] = False,
) -> None:
    """Copy the database, master key and built-in IdP files of a data directory, consistently, while samlfed runs."""
    from .backup import BackupError, BackupInterrupted, back_up

    settings = settings_or_exit(data_dir=data_dir, config=config)
    if settings.database_url is not None:
        raise usage_error("samlfed backup copies an SQLite data directory; back up PostgreSQL with pg_dump, and keep SAMLFED_MASTER_KEY with it")
    assert settings.data_dir is not None  # without a database URL the settings name a data directory
    with _interrupted_by(destination, signal.SIGTERM, signal.SIGHUP):
        try:
            made = back_up(settings.data_dir, destination, now=datetime.now(UTC))
        except BackupError as exc:
            raise usage_error(f"no backup made: {exc}") from None
        except BackupInterrupted as stopped:
            typer.echo(f"no backup made: stopped by {signal.Signals(stopped.signum).name}; nothing of the copy is left in {destination}", err=True)
            raise typer.Exit(128 + stopped.signum) from None
        _report_standing(made, settings.data_dir, as_json, _idp_left_out(settings.idp_directory(), settings.data_dir))


def _idp_left_out(idp_dir: Path, data_dir: Path) -> Path | None:
    """The built-in IdP's directory when it lies outside the data directory (--idp-dir) and so is not in the copy."""
    from .backup import IDP

    if not idp_dir.is_dir() or idp_dir.resolve() == (data_dir / IDP).resolve():
        return None
    return idp_dir


def _report_standing(made: Backup, data_dir: Path, as_json: bool, idp_left_out: Path | None) -> None:
    """Report the copy. It is whole and checked once it is reported, so standard output refusing the report undoes
    nothing: the failure says where the backup is."""
    try:
        _report(made, data_dir, as_json, idp_left_out)
    except BrokenPipeError:
        # The reader stopped early (`samlfed backup DEST | head -1`): the backup stands, as the doctor's verdict does.
        # stdout goes to /dev/null so that the interpreter's last flush at exit does not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:  # a full disk: the report is lost, which the exit status must not hide
        raise usage_error(f"backed up {data_dir} to {made.destination}, but cannot write the report to standard output: {exc.strerror or exc}") from None


def _report(made: Backup, data_dir: Path, as_json: bool, idp_left_out: Path | None) -> None:
    from .backup import DATABASE, IDP
    from .idp.state import STATE_FILE

    if as_json:
        fields = {
            "Destination": str(made.destination), "SchemaVersion": made.schema_version, "DatabaseBytes": made.database_bytes,
            "MasterKeyCopied": made.master_key_copied, "IdpCopied": made.idp_copied, "Opened": made.opened,
            **({"IdpLeftOut": str(idp_left_out)} if idp_left_out is not None else {}),
        }
        typer.echo(json.dumps(fields))
        return
    typer.echo(f"backed up {data_dir} to {made.destination} (database {made.database_bytes:,} bytes, schema {made.schema_version})")
    if not made.master_key_copied:
        typer.echo("the master key comes from SAMLFED_MASTER_KEY and is not in the backup: keep it with the backup, apart from it")
    if idp_left_out is not None:
        typer.echo(f"the built-in IdP's directory {idp_left_out} is outside the data directory and is not in the backup: copy it apart (with the IdP stopped)")
    if not made.opened:
        typer.echo(f"the copy was not opened: its schema ({made.schema_version}) is not this release's; the release that made it opens it")
    # A samlfed.db-wal left in the data directory (by a samlfed that was killed) belongs to the database it replaces:
    # SQLite would replay it over the copy, and the restore would be silently undone. So would the journal of an IdP
    # killed in the middle of a write be rolled back over the copied idp-state.db.
    journals = [f"{DATABASE}-wal", f"{DATABASE}-shm"] + ([f"{IDP}/{STATE_FILE}-journal"] if made.idp_copied else [])
    typer.echo(
        f"restore: stop samlfed, then serve with --data-dir {made.destination} (or copy its files into the data directory, "
        f"removing the data directory's {', '.join(journals[:-1])} and {journals[-1]} first)"
    )


@contextmanager
def _interrupted_by(destination: Path, *signals: signal.Signals) -> Iterator[None]:
    """These signals stop the copy the way Ctrl-C does (the copy cleans up after itself), instead of ending the
    process at once with the copy half-made. Once the copy is whole (its database renamed into place, atomically),
    they are ignored until the command ends: stopping then would only report a complete backup as a failure."""
    from .backup import DATABASE, BackupInterrupted

    def stop(signum: int, _frame: object) -> None:
        if not (destination / DATABASE).is_file():
            raise BackupInterrupted(signum)

    previous = {number: signal.signal(number, stop) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
