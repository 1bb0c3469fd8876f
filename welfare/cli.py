"""`flask --app portal welfare ...`: import profiles from CSV, run the scan."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from portal.extensions import db
from welfare import service
from welfare.limits import DISABILITY_GRADE, HOUSEHOLD_SIZE, MEDIAN_INCOME_PCT

welfare_cli = AppGroup("welfare", help="Welfare programmes: profile import and eligibility scan.")


@welfare_cli.command("import", help=f"""Import welfare profiles from a CSV file (UTF-8, header row).

\b
Columns (only email is required; a blank cell means unknown):
  email                      the resident's account email (how rows are matched)
  birth_date                 YYYY-MM-DD
  median_income_pct          {MEDIAN_INCOME_PCT[0]}-{MEDIAN_INCOME_PCT[1]}, household income as a % of the standard
                             median income (기준 중위소득 대비 %) for its size; above 100 is fine
  monthly_income             won per month, the household's: computes median_income_pct (not stored)
  household_size             {HOUSEHOLD_SIZE[0]}-{HOUSEHOLD_SIZE[1]} (default 1)
  lives_alone                true/false (also 1/0, yes/no, y/n)
  disability_grade           {DISABILITY_GRADE[0]} (most severe) to {DISABILITY_GRADE[1]}, blank for none
  youngest_child_birth_date  YYYY-MM-DD, blank for no child
  district                   e.g. 성동구

Every row is checked first; on any error nothing is written and each bad row is listed
with its line number. Otherwise all rows are written in one transaction (existing profiles
are updated). Known columns: {", ".join(service.CSV_COLUMNS)}.""")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_command(file):
    total = service.count_rows(file)
    try:
        with click.progressbar(length=total, label=_("Checking rows"), file=sys.stderr) as bar:
            result = service.import_file(db.session, None, file, progress=bar.update)
    except service.ImportRejected as exc:
        db.session.rollback()
        click.echo(_("Nothing imported: %(n)d error(s).", n=len(exc.rows)), err=True)
        for err in exc.rows:
            click.echo("  " + _("line %(line)d, %(column)s: %(message)s", line=err.line, column=err.column,
                                message=err.message), err=True)
        sys.exit(1)
    click.echo(_("Imported %(rows)d profiles (%(created)d new, %(updated)d updated).",
                 rows=result.rows, created=result.created, updated=result.updated))


@welfare_cli.command("scan", help="Queue one notice per resident newly eligible for an active programme.")
@click.option("--batch-size", default=service.BATCH_SIZE, show_default=True, help="User ids per batch.")
@click.option("--date", "on_date", default=None, help="Evaluate ages on this date (YYYY-MM-DD); default today in Seoul.")
def scan_command(batch_size, on_date):
    today = date.fromisoformat(on_date) if on_date else None
    windows = len(service.scan_plan(db.session, batch_size))
    with click.progressbar(length=windows, label=_("Scanning"), file=sys.stderr) as bar:
        result = service.scan(db.session, None, today=today, batch_size=batch_size, progress=bar.update)
    click.echo(_("%(notices)d new notices, %(messages)d messages queued (%(programmes)d programmes, "
                 "%(batches)d batches).", notices=result.new_notices, messages=result.queued_messages,
                 programmes=result.programmes, batches=result.batches))
    for code, n in result.by_programme.items():
        click.echo(f"  {code}: {n}")
