"""``kaico checks``: the check catalogue, as a table, Markdown or JSON."""

from __future__ import annotations

import argparse

from kaico.cli.common import EXIT_OK, Streams

DESCRIPTION = "List the check catalogue: ids, categories, default severities and what each checks."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=("table", "markdown", "json"), default="table")


def run(args: argparse.Namespace, streams: Streams) -> int:
    from conformance.catalogue import catalogue
    from kaico.cli.render import catalogue as render

    specs = list(catalogue().values())
    renderers = {
        "table": render.render_catalogue_table,
        "markdown": render.render_catalogue_markdown,
        "json": render.render_catalogue_json,
    }
    streams.stdout.write(renderers[args.output](specs))
    return EXIT_OK
