#!/usr/bin/env python3
"""Write what Airflow's own ``Connection`` class makes of a table of connections.

Run with a Python that has the Airflow pinned in ``scripts/requirements-airflow.txt``
(``scripts/check-airflow-fixture`` does that in ``.venv-airflow``)::

    python scripts/airflow_fixture.py [OUTPUT]

OUTPUT defaults to ``crates/wid-model/tests/fixtures/airflow_connections.json``. The file is
deterministic (sorted keys, ASCII only, trailing newline), so a second run on the same Airflow
and Python gives the same bytes. ``crates/wid-model/tests/airflow_fixture.rs`` checks wid's
codecs against it.

Sections:
- ``connections``: Connection(**fields) -> get_uri(), as_json(), the fields that
  Connection(uri=get_uri()) parses back (core and Task SDK), and from_json(as_json()).
- ``uris``: URIs to parse, many hostile, with the parsed fields or the exception.
- ``json_inputs``: values given to Connection.from_json, with the fields or the exception.
- ``env_values``: values of AIRFLOW_CONN_* variables as the secrets backends deserialise them.
- ``conn_ids``: validate_key(conn_id, max_length=200) as the CLI and REST API apply it,
  sanitize_conn_id() as the model applies it, and the environment variable name.
- ``python_tables``: the Unicode facts of this Python that wid's codecs embed as tables.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import warnings

DEFAULT_OUTPUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "crates",
    "wid-model",
    "tests",
    "fixtures",
    "airflow_connections.json",
)

# Airflow must not write into $HOME, nor say anything on stdout/stderr.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="wid-airflow-fixture-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "CRITICAL"
os.environ.pop("AIRFLOW__CORE__ALLOW_DOUBLE_DOT_IN_IDS", None)
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

import airflow  # noqa: E402
from airflow._shared.secrets_backend.base import BaseSecretsBackend  # noqa: E402
from airflow.models.connection import Connection, sanitize_conn_id  # noqa: E402
from airflow.sdk.definitions.connection import Connection as SdkConnection  # noqa: E402
from airflow.utils.helpers import validate_key  # noqa: E402

logging.disable(logging.CRITICAL)  # importing airflow configures logging again

FIELDS = ("conn_type", "description", "host", "login", "password", "schema", "port", "extra")

MI_CLIENT = "8b6f0f3c-2a4e-4f8e-9d1a-5c3b2e1f0a9d"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def jd(value):
    """Extra as Airflow stores it when given a dict: json.dumps with default settings."""
    return json.dumps(value)


# Every entry: a conn_id and the keyword arguments given to Connection(...). `extra` is always
# the raw JSON text, so that wid gets the very same bytes.
CONNECTIONS = [
    # --- azure ---
    ("azure_workload_identity", dict(conn_type="azure", extra=jd({
        "managed_identity_client_id": MI_CLIENT,
        "workload_identity_tenant_id": TENANT,
        "subscriptionId": SUB,
    }))),
    ("azure_client_secret", dict(conn_type="azure", login=MI_CLIENT, password="s3cr3t~._-+/=@:?#%& x",
                                 extra=jd({"tenantId": TENANT, "subscriptionId": SUB}))),
    ("azure_legacy_prefixed", dict(conn_type="azure", extra=jd({
        "extra__azure__tenantId": TENANT, "extra__azure__subscriptionId": SUB}))),
    ("azure_key_path", dict(conn_type="azure", extra=jd({"key_path": "/keys/key.json"}))),
    ("azure_key_json_nested", dict(conn_type="azure", extra=jd({
        "key_json": {"clientId": MI_CLIENT, "clientSecret": "x", "nested": {"a": [1, 2, {"b": None}]}},
        "subscriptionId": SUB}))),
    ("azure_identity_object_bool", dict(conn_type="azure", extra=jd({
        "use_azure_identity_object": True, "managed_identity_client_id": MI_CLIENT}))),
    ("azure_mi_only", dict(conn_type="azure", extra=jd({"managed_identity_client_id": MI_CLIENT}))),
    ("azure_description", dict(conn_type="azure", description="Workload identity\nfor Airflow \u2713",
                               extra=jd({"managed_identity_client_id": MI_CLIENT,
                                         "workload_identity_tenant_id": TENANT}))),
    ("azure_data_factory", dict(conn_type="azure_data_factory", login=MI_CLIENT, password="pw",
                                extra=jd({"tenantId": TENANT, "subscriptionId": SUB,
                                          "resource_group_name": "rg", "factory_name": "f"}))),
    ("wasb_connection_string", dict(conn_type="wasb", extra=jd({
        "connection_string": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k==;EndpointSuffix=core.windows.net"}))),
    # --- the standard fields ---
    ("postgres_full", dict(conn_type="postgres", host="db.example.com", login="airflow", password="airflow",
                           schema="airflow", port=5432)),
    ("postgresql_type_kept", dict(conn_type="postgresql", host="h", port=5432)),
    ("underscore_type", dict(conn_type="google_cloud_platform", extra=jd({"project": "p"}))),
    ("dash_type", dict(conn_type="my-type", host="h")),
    ("mixed_case_type", dict(conn_type="MySQL", host="h")),
    ("empty_type", dict(conn_type="", host="h", port=1)),
    ("no_type", dict(host="h")),
    ("all_none", dict()),
    ("only_port", dict(conn_type="http", port=8080)),
    ("port_zero", dict(conn_type="http", host="h", port=0)),
    ("port_max", dict(conn_type="http", host="h", port=65535)),
    ("port_out_of_range", dict(conn_type="http", host="h", port=70000)),
    ("login_only", dict(conn_type="ftp", login="user", host="h")),
    ("password_only", dict(conn_type="ftp", password="pw", host="h")),
    ("login_empty", dict(conn_type="ftp", login="", host="h")),
    ("login_empty_port_only", dict(conn_type="ftp", login="", port=21)),
    ("login_and_password_empty", dict(conn_type="ftp", login="", password="", host="h")),
    ("login_password_no_host", dict(conn_type="ftp", login="u", password="p", port=21)),
    ("special_login_password", dict(conn_type="mysql", host="h", login="user@domain.com",
                                    password="p@ss:w/rd?#%+ &=~!$'()*,;[]")),
    ("unicode_login_password", dict(conn_type="mysql", host="h", login="j\u00fcrgen",
                                    password="\u043f\u0430\u0440\u043e\u043b\u044c\U0001f511")),
    ("password_whitespace", dict(conn_type="mysql", host="h", login="u", password="  pass\t \n")),
    ("password_percent_sequences", dict(conn_type="mysql", host="h", login="%41", password="%2F%zz%")),
    ("host_http_protocol", dict(conn_type="generic", host="http://example.com")),
    ("host_https_port_path", dict(conn_type="generic", host="https://my.host:1234/path/x", port=443)),
    ("host_protocol_equals_type", dict(conn_type="http", host="http://example.com", port=80)),
    ("host_protocol_upper", dict(conn_type="generic", host="HTTPS://Example.COM")),
    ("host_ipv6_bare", dict(conn_type="postgres", host="::1", port=5432)),
    ("host_ipv6_bracketed", dict(conn_type="postgres", host="[fe80::1]", port=5432)),
    ("host_ipv6_upper", dict(conn_type="postgres", host="FE80::ABCD")),
    ("host_mixed_case", dict(conn_type="postgres", host="DB.Example.COM")),
    ("host_with_space", dict(conn_type="postgres", host="Server Name")),
    ("host_with_percent", dict(conn_type="postgres", host="host%name")),
    ("host_with_at", dict(conn_type="postgres", host="user@host")),
    ("host_unicode", dict(conn_type="postgres", host="b\u00fccher.example")),
    ("schema_with_slashes", dict(conn_type="postgres", host="h", schema="db/schema/x")),
    ("schema_special", dict(conn_type="postgres", host="h", schema="my db?#&=\u00e9")),
    ("schema_empty", dict(conn_type="postgres", host="h", schema="")),
    ("schema_without_host", dict(conn_type="postgres", schema="db")),
    # --- extra ---
    ("extra_list_value", dict(conn_type="generic", extra=jd({"scopes": ["a", "b"]}))),
    ("extra_number", dict(conn_type="generic", extra=jd({"timeout": 30}))),
    ("extra_bools", dict(conn_type="generic", extra=jd({"verify": False, "debug": True}))),
    ("extra_null", dict(conn_type="generic", extra=jd({"proxy": None}))),
    ("extra_empty_strings", dict(conn_type="generic", extra=jd({"a": "", "b": ""}))),
    ("extra_empty_dict", dict(conn_type="generic", extra="{}")),
    ("extra_empty_text", dict(conn_type="generic", extra="")),
    ("extra_json_looking_strings", dict(conn_type="generic", extra=jd({
        "timeout": "30", "flag": "true", "none": "null", "obj": "{\"a\": 1}", "list": "[1,2]", "neg": "-0"}))),
    ("extra_special_chars", dict(conn_type="generic", extra=jd({"q": "a b&c=d+e/f?g#h%i;j,k~l"}))),
    ("extra_unicode", dict(conn_type="generic", extra=jd({"\u043a\u043b\u044e\u0447": "\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435",
                                                          "emoji": "\U0001f600"}))),
    ("extra_compact_raw", dict(conn_type="generic", extra="{\"a\":1,\"b\":[1,2],\"c\":\"x\"}")),
    ("extra_compact_raw_strings", dict(conn_type="generic", extra="{\"a\":\"1\",  \"b\":\"x y\"}")),
    ("extra_duplicate_keys", dict(conn_type="generic", extra="{\"a\": \"1\", \"b\": \"2\", \"a\": \"3\"}")),
    ("extra_floats", dict(conn_type="generic", extra="{\"f\": 1e16, \"g\": 0.1, \"h\": -0.0, \"i\": 1e-05, "
                                                     "\"j\": 1E5, \"k\": 123.456e-300, \"l\": 1.5, \"m\": 1e400}")),
    ("extra_big_int", dict(conn_type="generic", extra="{\"n\": 123456789012345678901234567890, \"z\": -0}")),
    ("extra_nan_infinity", dict(conn_type="generic", extra="{\"x\": NaN, \"y\": Infinity, \"z\": -Infinity}")),
    ("extra_control_chars", dict(conn_type="generic", extra=jd({"c": "\u0000\u001f\u007f\u0080\t\n\"\\/"}))),
    ("extra_escaped_unicode_raw", dict(conn_type="generic",
                                       extra="{\"k\": \"\\u00e9\\ud83d\\ude00\\/\", \"\\u006b2\": \"\u00e9\"}")),
    ("extra_key_with_spaces", dict(conn_type="generic", extra=jd({"my key": "my value", "": "empty key"}))),
    ("extra_key_extra_marker_json", dict(conn_type="generic", extra=jd({"__extra__": "{\"x\": \"y\"}"}))),
    ("extra_key_extra_marker_text", dict(conn_type="generic", extra=jd({"__extra__": "oops"}))),
    ("extra_whitespace_raw", dict(conn_type="generic", extra=" \n\t{ \"a\" : \"b\" } \r\n")),
    ("extra_not_a_dict", dict(conn_type="generic", extra="[1, 2]")),
    ("extra_not_json", dict(conn_type="generic", extra="{not json}")),
    ("extra_with_everything", dict(conn_type="azure", description="d", host="h", login="l", password="p",
                                   schema="s", port=1, extra=jd({"k": "v"}))),
]

URIS = [
    # the documented forms
    f"azure:///?managed_identity_client_id={MI_CLIENT}&workload_identity_tenant_id={TENANT}&subscriptionId={SUB}",
    "azure://?key_path=%2Fkeys%2Fkey.json",
    "postgresql://user:pass@host:5432/db",
    "postgres://user:pass@host:5432/db?sslmode=require",
    "my-conn-type://host",
    "Postgres://Host",
    "google-cloud-platform://?extra__google_cloud_platform__project=p",
    # hosts with a protocol
    "a://b://c://d",
    "http://user@http://host",
    "http://x:y://host",
    "http://http://host",
    "https://https://host:443/path",
    "generic://http://example.com:8080/p?x=1",
    "x://y/a://b",
    "//a://b",
    # percent-encoding
    "conn://%75%73%65%72:%70%61%73%73@%68%6F%73%74:1234/%64%62?%6B=%76",
    "conn://user:p%40ss%3Aw%2Frd@host",
    "conn://us%C3%A9r:%F0%9F%94%91@host",
    "conn://%FF%FE:%F0%80%80@host/%E2%82",
    "conn://%ZZ:%4@host/%",
    "conn://%ED%A0%80:%C0%AF@host/%F4%90%80%80",
    "conn://host%2Fwith%2Fslash/db",
    "conn://user@host%2Fx:5432",
    "conn://My%20Host/db",
    "conn://host/a%2Fb%20c",
    "conn://host/a/b",
    "conn://host/%C3%A9?a=%C3%A9",
    # __extra__
    "conn://host/?__extra__=%7B%22a%22%3A+1%7D",
    "conn://host/?__extra__=%7B%7D&other=1",
    "conn://host/?__extra__=not-json",
    "conn://host/?__extra__=%5B1%5D",
    "conn://host/?__extra__=",
    "conn://host/?__extra__=%7B%22a%22%3A+1%7D&__extra__=%7B%22b%22%3A+2%7D",
    # queries
    "conn://host/?a=&b=&c",
    "conn://host/?a=1&a=2",
    "conn://host/?a=1&b=true&c=null&d=%7B%22x%22%3A1%7D&e=NaN&f=1e400&g=-0&h=1.0&i=%5B1%2C2%5D",
    "conn://host/?s=%22quoted%22&t=+1&u=1+&v=01&w=%7Bbad",
    "conn://host/?",
    "conn://host/?&&",
    "conn://host/?a+b=c+d&e%2Bf=g%2Bh",
    "conn://host/?a=%ZZ&b=100%",
    "conn://host/?x=%22%5Cud83d%5Cude00%22",
    "conn://host/?n=" + "1" * 4300,
    "conn://host/?n=" + "1" * 4301,
    "conn://host?a=1",
    "conn://host#frag?x=1",
    "conn://host/db#frag",
    # ports
    "conn://host:99999",
    "conn://host:65535",
    "conn://host:abc",
    "conn://host:",
    "conn://host:0",
    "conn://host:00080",
    "conn://host:5432:1",
    "conn://host:-1",
    "conn://host:+1",
    "conn://host: 1",
    "conn://host:\u0661",
    "conn://host:" + "9" * 30,
    # userinfo
    "postgres://user:@host",
    "postgres://:pw@host",
    "postgres://@host",
    "postgres://user:pw@:5432",
    "postgres://@:5432",
    "conn://user:pass:word@host",
    "conn://us@er:pw@host",
    "conn://user:pa#ss@host",
    # IPv6 and brackets
    "conn://[::1]:5432/db",
    "conn://[FE80::1%25eth0]:80",
    "conn://[::1",
    "conn://::1]",
    "conn://[127.0.0.1]",
    "conn://[v1.fe]",
    "conn://[vz.x]",
    "conn://[zz]",
    "conn://[::1]x:80",
    "conn://[1:2:3:4:5:6:7:8]",
    "conn://[1:2:3:4:5:6:7:8:9]",
    "conn://[::ffff:192.0.2.1]",
    "conn://[::ffff:192.0.2.01]",
    "conn://[1::2::3]",
    "conn://[:1:2:3:4:5:6:7]",
    "conn://[fe80::1%]",
    "conn://user@[::1]:22",
    "conn://%3A%3A1:5432",
    "conn://%5Bfe80%3A%3A1%5D:5432",
    # Unicode netlocs
    "conn://\u2100host",
    "conn://ho\uff0fst",
    "conn://\uff48\uff4f\uff53\uff54",
    "conn://B\u00dcCHER.example",
    "conn://\u0130stanbul",
    # schemes
    "//host",
    "host:5432",
    "a_b://h",
    "1ab://h",
    "conn:host",
    "conn:/host",
    "",
    "   conn://host/db  ",
    "\tconn://ho\tst/d\nb",
    "conn://host/db\r\n",
    "conn://ho st/d b",
    "CONN://HOST",
    "c.o+n-n://h",
]

JSON_INPUTS = [
    jd({"conn_type": "azure", "extra": {"managed_identity_client_id": MI_CLIENT,
                                        "workload_identity_tenant_id": TENANT, "subscriptionId": SUB}}),
    jd({"conn_type": "postgres", "description": "d", "host": "h", "login": "l", "password": "p",
        "schema": "s", "port": 5432, "extra": "{\"a\":1}"}),
    jd({"conn_type": "postgresql", "port": "5432"}),
    jd({"conn_type": "my-type"}),
    jd({"conn_type": ""}),
    jd({"conn_type": None, "host": None}),
    jd({"conn_type": "x", "port": "abc"}),
    jd({"conn_type": "x", "port": 5432.9}),
    jd({"conn_type": "x", "port": True}),
    jd({"conn_type": "x", "port": 0}),
    jd({"conn_type": "x", "port": ""}),
    jd({"conn_type": "x", "port": " 42 "}),
    jd({"conn_type": "x", "port": "-7"}),
    jd({"conn_type": "x", "port": "4_2"}),
    jd({"conn_type": "x", "port": "4.2"}),
    jd({"conn_type": "x", "port": 99999}),
    "{\"conn_type\": \"x\", \"port\": NaN}",
    jd({"conn_type": "x", "extra": [1, 2]}),
    jd({"conn_type": "x", "extra": ""}),
    jd({"conn_type": "x", "extra": {}}),
    jd({"conn_type": "x", "extra": 0}),
    jd({"conn_type": "x", "extra": 5}),
    jd({"conn_type": "x", "extra": "not json"}),
    jd({"conn_type": "x", "extra": "[1]"}),
    jd({"conn_type": "x", "extra": {"nested": {"a": [True, None, 1.5]}}}),
    "{\"conn_type\": \"x\", \"extra\": {\"f\": NaN, \"b\": 1e16}}",
    "{\"conn_type\":\"x\",\"extra\":\"{\\\"a\\\":\\\"1\\\"}\"}",
    jd({"conn_type": "x", "unknown": 1}),
    jd({"conn_type": "x", "conn_id": "y"}),
    jd({"uri": "postgres://u:p@h:1/s"}),
    jd({"uri": "postgres://u:p@h:1/s", "host": "other"}),
    jd({"uri": "postgres://u:p@h:1/s", "description": "kept"}),
    jd({"uri": ""}),
    jd({"description": "\u00e9\U0001f600"}),
    "[1, 2]",
    "{not json",
    "{}",
    "{\"conn_type\": \"x\"} trailing",
]

ENV_VALUES = [
    f"azure:///?managed_identity_client_id={MI_CLIENT}&workload_identity_tenant_id={TENANT}",
    "  postgres://u:p@h:5432/db \n",
    "\n{\"conn_type\": \"azure\", \"extra\": {\"subscriptionId\": \"" + SUB + "\"}}\n",
    "\u2003{\"conn_type\": \"x\"}\u3000",
    "\x1c{\"conn_type\": \"x\"}\x1f",
    "{\"conn_type\": \"x\", \"port\": \"abc\"}",
    "a://b://c://d",
    "  ",
    "[1]",
]

CONN_IDS = [
    "azure_default", "my.conn-id_1", "a", "A" * 200, "A" * 201, "a..b", "a.b.c", "..", ".",
    "-", "_", "", "a b", "a/b", "../etc/passwd", "x'; DROP TABLE connection;--", "a;b",
    "a\nb", "abc\n", "a..b\n", "abc\n\n", "\nabc", "caf\u00e9", "stra\u00dfe", "\u65e5\u672c", "\u0661\u0662",
    "e\u0301", "\u0915\u093e", "\ufb01le", "a#b", "a(b)", "a:b", "a\\b", "\U0001f600",
    "A" * 250, "A" * 251, "\u00b2", "\u2160",
]


def fields_of(conn) -> dict:
    out = {}
    for name in FIELDS:
        value = getattr(conn, name, None)
        out[name] = value
    return out


def error_of(exc: BaseException) -> dict:
    return {"type": type(exc).__name__, "message": str(exc)}


def attempt(fn):
    try:
        return {"ok": fn()}
    except Exception as exc:  # every exception is a result here
        return {"error": error_of(exc)}


def connection_entry(conn_id: str, kwargs: dict) -> dict:
    entry = {"conn_id": conn_id, "input": {name: kwargs.get(name) for name in FIELDS}}
    try:
        conn = Connection(conn_id=conn_id, **kwargs)
    except Exception as exc:
        entry["construct_error"] = error_of(exc)
        return entry
    uri = attempt(conn.get_uri)
    if "error" in uri:
        entry["uri_error"] = uri["error"]
    else:
        entry["uri"] = uri["ok"]
        sdk_uri = attempt(lambda: SdkConnection(conn_id=conn_id, **kwargs).get_uri())
        if sdk_uri.get("ok") != entry["uri"]:
            entry["sdk_uri"] = sdk_uri
        entry["parsed"] = attempt(lambda: fields_of(Connection(uri=entry["uri"])))
        entry["sdk_parsed"] = attempt(lambda: fields_of(SdkConnection.from_uri(entry["uri"], conn_id=conn_id)))
    entry["json"] = conn.as_json()
    entry["json_parsed"] = attempt(lambda: fields_of(Connection.from_json(entry["json"], conn_id=conn_id)))
    return entry


def uri_entry(uri: str) -> dict:
    return {
        "uri": uri,
        "core": attempt(lambda: fields_of(Connection(uri=uri))),
        "sdk": attempt(lambda: fields_of(SdkConnection(conn_id="sdk", uri=uri))),
    }


def json_entry(value: str) -> dict:
    return {
        "value": value,
        "core": attempt(lambda: fields_of(Connection.from_json(value, conn_id="json_input"))),
        "sdk": attempt(lambda: fields_of(SdkConnection.from_json(value, conn_id="json_input"))),
    }


def env_entry(value: str) -> dict:
    def deserialize(cls):
        return fields_of(BaseSecretsBackend._deserialize_connection_value(cls, "env_input", value))

    return {
        "value": value,
        "core": attempt(lambda: deserialize(Connection)),
        "sdk": attempt(lambda: deserialize(SdkConnection)),
    }


def conn_id_entry(conn_id: str) -> dict:
    def validate():
        validate_key(conn_id, max_length=200)
        return True

    return {
        "conn_id": conn_id,
        "validate_key": attempt(validate),
        "sanitize_conn_id": sanitize_conn_id(conn_id),
        "env_var": "AIRFLOW_CONN_" + conn_id.upper(),
    }


def ranges(predicate) -> list[str]:
    """Non-ASCII code points for which predicate holds, as "XXXX-YYYY" hex ranges."""
    out = []
    start = None
    for cp in range(0x80, sys.maxunicode + 2):
        hit = cp <= sys.maxunicode and not (0xD800 <= cp <= 0xDFFF) and predicate(chr(cp))
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            out.append(f"{start:04X}-{cp - 1:04X}")
            start = None
    return out


def python_tables() -> dict:
    import re
    import unicodedata

    word = re.compile(r"\w")
    return {
        "unicodedata_version": unicodedata.unidata_version,
        # re's \w on str patterns (KEY_REGEX, RE_SANITIZE_CONN_ID)
        "word_ranges": ranges(lambda c: word.match(c) is not None),
        # str.isspace (str.strip in deserialize_connection)
        "space_ranges": ranges(str.isspace),
        # characters that urlsplit's _checknetloc rejects in a non-ASCII netloc
        "nfkc_netloc_forbidden": ranges(
            lambda c: any(x in unicodedata.normalize("NFKC", c) for x in "/?#@:")
        ),
    }


def build() -> dict:
    return {
        "airflow_version": airflow.__version__,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "generator": "scripts/airflow_fixture.py",
        "connections": [connection_entry(cid, kw) for cid, kw in CONNECTIONS],
        "uris": [uri_entry(u) for u in URIS],
        "json_inputs": [json_entry(v) for v in JSON_INPUTS],
        "env_values": [env_entry(v) for v in ENV_VALUES],
        "conn_ids": [conn_id_entry(c) for c in CONN_IDS],
        "python_tables": python_tables(),
    }


def main(argv: list[str]) -> int:
    output = argv[1] if len(argv) > 1 else DEFAULT_OUTPUT
    try:
        data = build()
    finally:
        shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="ascii", newline="\n") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
