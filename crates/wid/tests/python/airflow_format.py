"""Airflow's own export formatter over given connections, without a database.

    python airflow_format.py IN.json OUT.json

IN.json is a list of {"conn_id", "conn_type", "description", "host", "login", "password",
"schema", "port", "extra"}; OUT.json maps each format to the text Airflow 3.3.2's
`airflow connections export` writes for those connections (its `_format_connections`,
connections ordered by conn_id as its query orders them).
"""

import json
import sys


def main() -> int:
    from airflow.cli.commands.connection_command import _format_connections
    from airflow.models.connection import Connection

    with open(sys.argv[1]) as f:
        items = json.load(f)
    conns = sorted((Connection(**item) for item in items), key=lambda c: c.conn_id)
    out = {
        "json": _format_connections(conns, ".json", "uri"),
        "yaml": _format_connections(conns, ".yaml", "uri"),
        "env": _format_connections(conns, ".env", "uri"),
        "env-json": _format_connections(conns, ".env", "json"),
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
