"""CSV cells as a spreadsheet will read them (OWASP "CSV injection")."""

from __future__ import annotations

import pytest

from tracker.cli.render import spreadsheet_safe


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturned", "'\rReturned"),
        ("plain = text", "plain = text"),
        ("", ""),
        (None, ""),
        (-6, -6),  # a number: a spreadsheet reads -6, never a formula; it stays a number
        (17, 17),
    ],
)
def test_text_cells_starting_a_formula_get_a_leading_quote_and_numbers_stay(
    cell: object, written: object
) -> None:
    assert spreadsheet_safe(cell) == written
