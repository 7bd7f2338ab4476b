"""Runs `airflow` CLI commands in one process, then writes every stored connection as JSON.

    python airflow_cli.py SCRIPT.json

SCRIPT.json is {"commands": [["connections", "add", ...], ...], "dump": "out.json"}. Each
command is parsed by Airflow's own CLI parser and run by its own function, exactly as the
`airflow` executable runs it (one process instead of one per command: Airflow starts slowly).
The dump holds every field of every connection as Airflow's model reads it (decrypted).
Set AIRFLOW_HOME, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN and AIRFLOW__CORE__FERNET_KEY first.
"""

import json
import sys


def main() -> int:
    with open(sys.argv[1]) as f:
        script = json.load(f)
    from airflow.cli import cli_parser

    parser = cli_parser.get_parser()
    for cmd in script.get("commands", []):
        args = parser.parse_args(cmd)
        try:
            args.func(args)
        except SystemExit as e:
            if e.code not in (None, 0):
                print(f"airflow {' '.join(cmd)} failed: {e.code}", file=sys.stderr)
                return 1
        sys.stdout.flush()
    dump = script.get("dump")
    if dump:
        from sqlalchemy import select

        from airflow.models.connection import Connection
        from airflow.utils.session import create_session

        out = {}
        with create_session() as session:
            for c in session.scalars(select(Connection).order_by(Connection.conn_id)):
                out[c.conn_id] = {
                    "conn_type": c.conn_type,
                    "description": c.description,
                    "host": c.host,
                    "login": c.login,
                    "password": c.password,
                    "schema": c.schema,
                    "port": c.port,
                    "extra": c.extra,
                    "is_encrypted": c.is_encrypted,
                    "is_extra_encrypted": c.is_extra_encrypted,
                }
        with open(dump, "w") as f:
            json.dump(out, f, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
