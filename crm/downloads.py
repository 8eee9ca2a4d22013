"""Streaming CSV downloads: rows go out as they are read, never all in memory.

A streamed body is read after the view has returned and the middleware has left the
organization's scope: an export audits itself before it is handed here (see
`candidates_export_rows`), and its rows are read back inside the scope the response was made in.
"""

import csv

from django.http import StreamingHttpResponse

from .tenancy import current_organization, organization_scope


class _Echo:
    def write(self, value):
        return value


def _in_scope(organization, rows):
    iterator = iter(rows)
    while True:
        # The scope is entered around each row only: a generator must not hold a context across yields.
        with organization_scope(organization):
            row = next(iterator, None)
        if row is None:
            return
        yield row


def csv_download(rows, filename):
    writer = csv.writer(_Echo())
    organization = current_organization()
    if organization is not None:
        rows = _in_scope(organization, rows)
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
