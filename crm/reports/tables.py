"""A report table: its columns (what a cell holds, for display and CSV), its rows of plain values and
the columns its chart plots. A report's page, its charts and its CSV downloads are all drawn from
these, so they cannot disagree. Shared by the Sales and the Service reports."""

from dataclasses import dataclass

TEXT, COUNT, PERCENT, MONEY, DAYS, HOURS, DECIMAL = "text", "count", "percent", "money", "days", "hours", "decimal"
ONE_DECIMAL = (DAYS, HOURS, DECIMAL)  # shown and downloaded with one decimal


@dataclass(frozen=True)
class Column:
    label: str
    kind: str


@dataclass
class Table:
    key: str
    title: str
    note: str
    columns: tuple[Column, ...]
    rows: list[tuple]
    charted: tuple[int, ...]  # indexes of the columns the chart plots against the first one
    horizontal: bool = False  # bars across: long labels (reasons, names) stay readable
    links: list[str | None] | None = None  # a URL per row for its first cell (on the page only)
    empty: str | None = None  # what the page says when there are no rows (the template has a default)

    def chart(self, currency: str = "") -> dict:
        """What static/reports.js draws: a bar chart of the charted columns (all of one kind)."""
        return {
            "labels": [str(row[0]) for row in self.rows],
            "datasets": [
                {"label": str(self.columns[i].label), "data": [_number(row[i]) for row in self.rows]}
                for i in self.charted
            ],
            "kind": self.columns[self.charted[0]].kind,
            "currency": currency,
            "horizontal": self.horizontal,
        }

    def csv_rows(self) -> list[list]:
        return [[str(column.label) for column in self.columns]] + [
            [_csv_cell(value, column.kind) for value, column in zip(row, self.columns, strict=True)]
            for row in self.rows
        ]

    def link(self, index: int) -> str | None:
        return self.links[index] if self.links else None


def _number(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _csv_cell(value, kind: str):
    if value is None:
        return ""
    if kind == PERCENT:
        return f"{value * 100:.1f}"
    if kind in ONE_DECIMAL:
        return f"{value:.1f}"
    return value


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
