"""CLI command ``data``: which datasets and text corpora are on disk, and where."""

from __future__ import annotations

import argparse

from rich.table import Table

from .common import emit_json, results_console


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="which datasets and text corpora are present, and where")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="look only in this folder")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_data)


def dataset_rows(data_dir: str | None) -> list[dict]:
    """One row per image dataset and per named corpus."""
    from ..data import dataset_info, list_datasets, locate_dataset
    from ..data.text import CORPORA, locate_corpus

    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        where = locate_dataset(name, data_dir)
        missing = "(downloads on first use)" if info.files else "(needs --data-dir)"
        rows.append(
            {
                "name": name,
                "kind": "images",
                "present": where is not None,
                "where": str(where) if where else None,
                "if_missing": None if where else missing,
                "description": info.description,
            }
        )
    for name, (filename, description) in sorted(CORPORA.items()):
        where = locate_corpus(name, data_dir)
        rows.append(
            {
                "name": name,
                "kind": "text",
                "present": where is not None,
                "where": str(where) if where else None,
                "if_missing": None if where else f"(put {filename} in <data>/text/{name}/)",
                "description": description,
            }
        )
    return rows


def cmd_data(args: argparse.Namespace) -> int:
    rows = dataset_rows(args.data_dir)
    if args.json:
        emit_json(rows)
        return 0
    console = results_console(False)
    table = Table(title="datasets and text corpora", expand=False)
    table.add_column("name", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("where", overflow="fold", ratio=1)
    for row in rows:
        where = row["where"] or f"[red]missing[/] {row['if_missing']}"
        table.add_row(row["name"], row["kind"], where)
    console.print(table)
    for row in rows:
        console.print(f"[bold]{row['name']}[/]: {row['description']}", soft_wrap=False)
    return 0
