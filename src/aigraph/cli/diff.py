"""``aigraph diff OLD NEW``: what a change does to the graph (exit 0 equal, 1 differ, 2 error)."""

from __future__ import annotations

from pathlib import Path

import click

from aigraph.settings import Settings


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--path",
    "paths",
    multiple=True,
    help="A data file or folder inside a bare git revision (repeatable) [default: data].",
)
@click.option("--lang", type=click.Choice(["en", "sv"]), help="Language of the labels.")
def diff_command(old: str, new: str, fmt: str, paths: tuple[str, ...], lang: str | None) -> None:
    """Show what NEW changes in the graph of OLD: each a file, folder, git revision or REV:path.

    Statements added and removed per named graph, with labels and source sentences; blank
    nodes are matched by canonicalisation. Exit 0 when both hold the same statements, 1 when
    they differ, 2 on a usage error or unreadable data.
    """
    from aigraph.diff import diff
    from aigraph.diff_report import render

    settings = Settings.from_env(lang=lang)
    result = diff(old, new, paths=paths, cwd=Path.cwd())
    click.echo(render(result, fmt, settings.lang), nl=False)
    click.get_current_context().exit(0 if result.equal else 1)
