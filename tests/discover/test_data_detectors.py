from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from detector_harness import run_on
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsight.discover.detectors.config import db_engine
from clearsight.discover.detectors.data import (
    _CLIENT_EXTS,
    _FIELD_START,
    _JS_CLIENTS,
    _ORM_FIELD,
    _PY_CLIENT_GATES,
    _PY_CLIENTS,
    _PY_FIELD,
    DATA_DETECTORS,
    _call_in,
    _detect_clients,
    _field_names,
    _words,
    classify_field,
    database_urls,
)
from clearsight.discover.interface import Observation, SourceFile, source_lines

PASSWORD = "s3cr3t-pa55word"


def scan(tmp_path: Path, rel: str, content: str) -> list[Observation]:
    return run_on(tmp_path, rel, content, DATA_DETECTORS)


@pytest.mark.parametrize(("field", "category"), [
    ("email", "contact"), ("e_mail", "contact"), ("customerEmail", "contact"), ("phone_number", "contact"),
    ("address", "contact"), ("postcode", "contact"), ("ip_address", "identifiers"), ("ipAddress", "identifiers"),
    ("first_name", "identifiers"), ("iban", "financial"), ("card_number", "financial"), ("pan", "financial"),
    ("salary", "financial"), ("date_of_birth", "date_of_birth"), ("dob", "date_of_birth"),
    ("birthDate", "date_of_birth"), ("ssn", "national_id"), ("national_id", "national_id"),
    ("passport_no", "national_id"), ("diagnosis", "health"), ("face_embedding", "biometric"),
    ("biometric_template", "biometric"), ("ethnicity", "special_category"),
])
def test_classify_field(field: str, category: str) -> None:
    result = classify_field(field)
    assert result is not None and result[0] == category


@pytest.mark.parametrize("field", ["emailed_at", "server_address", "mac_os", "company", "page", "span", "dobby",
                                   "shipping_method", "created_at", "id", "name"])
def test_no_false_positives(field: str) -> None:
    assert classify_field(field) is None


def _words_by_patterns(name: str) -> list[str]:
    """How field names were always split (camel case, then anything that is not a letter or digit)."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", name.lower()) if word]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"abcdeilmnopstz019_-. Aé", "mail", "Name", "ip"]), max_size=16).map("".join))
def test_the_snake_case_shortcut_splits_names_as_the_patterns_do(name: str) -> None:
    assert _words(name) == _words_by_patterns(name)


_FIELD_LINE = st.tuples(
    st.sampled_from(["", "    ", "\t", " \f", "x"]), st.sampled_from(["email", "x", "é", "phone_1", "else"]),
    st.sampled_from(["", " ", "\t", "\f"]), st.sampled_from([":", "=", ": str =", ":=", ": Mapped[str] =", "=="]),
    st.sampled_from(["", " ", "\f", "\t", "\r"]),
    st.sampled_from(["Column(", "db.Column(", "models.EmailField(", "Field (", "mapped_column(", "orm.mapped_column(",
                     "fields.Str(", "str", "1", "Field", "sa.Column (", "Column\f(", "x(", ""]),
).map("".join)
_FIELD_TEXTS = st.tuples(st.lists(_FIELD_LINE, max_size=6), st.sampled_from(["\n", "\r\n", "\n\n"])).map(
    lambda parts: parts[1].join(parts[0]))


@settings(max_examples=500, deadline=None)
@given(_FIELD_TEXTS)
def test_every_line_a_field_pattern_matches_has_its_name_among_the_candidates(text: str) -> None:
    """The candidates decide whether a file is read line by line: every field line must be among them."""
    candidates = _field_names(text)
    assert candidates <= set(_FIELD_START.findall(text))
    for start in _FIELD_START.finditer(text):
        end = text.find("\n", start.start())
        line = text[start.start():end if end >= 0 else len(text)].rstrip("\r")
        match = _PY_FIELD.match(line) or _ORM_FIELD.match(line)
        if match is not None:
            assert match.group("name") in candidates, line


# One call of each pattern's alternatives: each must be found, and each must hold a gate word.
_CLIENT_CALLS = [
    "psycopg2.connect(", "psycopg.AsyncConnection.connect(", "asyncpg.create_pool(", "pg8000.connect(",
    "create_engine(", "create_async_engine(", "MongoClient(", "AsyncIOMotorClient(", "AsyncMongoClient(",
    "sqlite3.connect(", "aiosqlite.connect(", "mysql.connector.connect(", "pymysql.connect(", "MySQLdb.connect(",
    "aiomysql.connect(", "redis.Redis(", "redis.StrictRedis(", "redis.from_url(", "Redis.from_url(",
    "snowflake.connector.connect(", "bigquery.Client(", "cx_Oracle.connect(", "oracledb.connect(",
    "pyodbc.connect(", "pymssql.connect(", "duckdb.connect(", "Elasticsearch(", "AsyncElasticsearch(",
    "boto3.client('dynamodb'", 'boto3.resource("dynamodb"',
]


@pytest.mark.parametrize("call", _CLIENT_CALLS)
def test_every_database_client_call_passes_the_gate(tmp_path: Path, call: str) -> None:
    assert any(gate in call for gate in _PY_CLIENT_GATES)
    found = scan(tmp_path, "app/db.py", f"x = {call})\n")
    assert [o.detector for o in found if o.detector == "data.db_client"] == ["data.db_client"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*_CLIENT_CALLS, *(c[:-1] for c in _CLIENT_CALLS), "(", ".", " ", "x", "\n",
                                  "connect", "Client", "create_pool", "'dynamodb'"]), max_size=6).map("".join))
def test_no_database_client_call_is_written_without_a_gate_word(text: str) -> None:
    if any(pattern.search(text) for _, _, pattern in _PY_CLIENTS):
        assert any(gate in text for gate in _PY_CLIENT_GATES)


CALL_PIECES = [*_CLIENT_CALLS, "x", "_", "é", "ǅ", "\u0663", "²", ".", " ", "\n", "(", "Async", "new ", "{",
               "database", "}", "createClient({ url: 'redis", "mongoose.connect(", "mysql2.createPool("]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(CALL_PIECES), max_size=8).map("".join))
def test_client_calls_are_found_as_their_patterns_find_them(text: str) -> None:
    """The calls are searched for without their leading word boundary, checked by hand: the same leftmost match
    for every pattern, with letters, digits and "_" of any script before a call's name."""
    for _, _, pattern in (*_PY_CLIENTS, *_JS_CLIENTS):
        expected = pattern.search(text)
        found = _call_in(pattern, text)
        assert (found.span() if found else None) == (expected.span() if expected else None), (pattern, text)


def _clients_line_by_line(text: str, rel: str) -> list[tuple[int, str, str]]:
    """The database-client reading as it was, every line searched with every pattern: the reference."""
    table = _CLIENT_EXTS[rel.rsplit(".", 1)[-1]]
    comment = "#" if table is _PY_CLIENTS else "//"
    found = []
    for number, line in enumerate(source_lines(text), start=1):
        code = line.split(comment, 1)[0] if comment == "#" else line
        if line.lstrip().startswith(comment):
            continue
        for engine, _, pattern in table:
            match = pattern.search(code)
            if match is not None:
                url = next(database_urls(code, match.end()), None) if engine == "sqlalchemy" else None
                name = (db_engine(url.group("scheme")) or "sqlalchemy") if url else engine
                found.append((number, name, match.group(0).strip()[:60]))
    return found


CLIENT_PIECES = ["import sqlite3\n", "c = sqlite3.connect(", "sqlite3.connect\n(p)", "db)\n", "# sqlite3.connect(x)\n",
                 "e = create_engine(\"postgresql://u@h/db\")\n", "create_engine  # x\n", "redis.Redis(", "\r\n",
                 "new Pool({\n", "  database: 'x',\n", "})\n", "new Client({ database })\n", "// new Pool({ database\n",
                 "mongoose.connect(", "x", "é", "\n", " ", "psycopg2.connect(", "boto3.client(\n  'dynamodb')\n"]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(CLIENT_PIECES), max_size=14).map("".join), st.sampled_from(["app.py", "app.js"]))
def test_database_clients_are_read_from_the_lines_a_search_of_the_whole_text_touches(text: str, rel: str) -> None:
    """Only lines a match over the whole text touches are read one by one; what they give must be what reading
    every line gave, in the same order, also where a match runs over several lines (JavaScript's braces)."""
    file = SourceFile(path=rel, rel=rel, root=Path("."), size=len(text), text=text)
    got = [(o.line, o.name, o.evidence.removesuffix("…")) for o in _detect_clients(file)]
    assert got == _clients_line_by_line(text, rel)


def test_database_urls_strip_credentials(tmp_path: Path) -> None:
    code = (f'import os\nDB = "postgresql+psycopg2://admin:{PASSWORD}@db.prod.internal:5432/customers'
            '?sslmode=require"\n'
            f'MONGO = "mongodb+srv://u:{PASSWORD}@cluster0.abc.mongodb.net/app"\n'
            'CACHE = "redis://localhost:6379/0"\nWH = "snowflake://acct/db/schema"\nBQ = "bigquery://my-proj/ds"\n')
    found = scan(tmp_path, "app/db.py", code)
    urls = [o for o in found if o.detector == "data.database_url"]
    assert [(o.kind, o.name, o.line) for o in urls] == [("data_store", "postgresql", 2), ("data_store", "mongodb", 3),
                                                       ("data_store", "redis", 4), ("data_store", "snowflake", 5),
                                                       ("data_store", "bigquery", 6)]
    assert urls[0].evidence == "database URL postgresql+psycopg2://db.prod.internal:5432/customers"
    assert urls[2].confidence == "medium"  # localhost
    for observation in found:
        assert PASSWORD not in observation.evidence and "admin" not in observation.evidence

    compose = f"services:\n  api:\n    environment:\n      DATABASE_URL: mysql://root:{PASSWORD}@mysql:3306/shop\n"
    (obs,) = scan(tmp_path, "docker-compose.yml", compose)
    assert (obs.name, obs.line, obs.evidence) == ("mysql", 4, "database URL mysql://mysql:3306/shop")
    assert not any(d.wants(".env") for d in DATA_DETECTORS if d.id == "data.database_url")


def test_db_clients(tmp_path: Path) -> None:
    code = ("import psycopg2, sqlite3\nfrom sqlalchemy import create_engine\nfrom pymongo import MongoClient\n"
            "conn = psycopg2.connect(dsn)\n"                 # 4
            "# sqlite3.connect('old.db')\n"                 # 5
            "lite = sqlite3.connect('local.db')\n"          # 6
            "engine = create_engine(settings.url)\n"        # 7
            "client = MongoClient(host)\n")                 # 8
    found = [(o.name, o.line) for o in scan(tmp_path, "etl/load.py", code) if o.detector == "data.db_client"]
    assert found == [("postgresql", 4), ("sqlite", 6), ("sqlalchemy", 7), ("mongodb", 8)]
    js = "const { MongoClient } = require('mongodb');\nconst c = new MongoClient(uri);\n"
    assert [(o.name, o.line) for o in scan(tmp_path, "web/db.js", js)] == [("mongodb", 2)]


def test_sql_create_table(tmp_path: Path) -> None:
    sql = ("-- customers\nCREATE TABLE IF NOT EXISTS customers (\n"  # 1-2
           "    id SERIAL PRIMARY KEY,\n"                             # 3
           "    email VARCHAR(255) NOT NULL,\n"                       # 4
           "    emailed_at TIMESTAMP,\n"                              # 5
           "    date_of_birth DATE, iban TEXT,\n"                     # 6
           "    last_login_ip_address INET,\n"                        # 7
           "    -- ssn TEXT,\n"                                       # 8
           "    CONSTRAINT uq UNIQUE (email)\n);\n"                   # 9-10
           "ALTER TABLE customers ADD COLUMN diagnosis TEXT;\n")      # 11
    found = [(o.name, o.line) for o in scan(tmp_path, "db/schema.sql", sql)]
    assert found == [("contact", 4), ("date_of_birth", 6), ("financial", 6), ("identifiers", 7), ("health", 11)]
    assert all(o.kind == "personal_data" for o in scan(tmp_path, "db/schema.sql", sql))


def test_python_models(tmp_path: Path) -> None:
    code = ("from pydantic import BaseModel\n\n\nclass Customer(BaseModel):\n"  # 1-4
            "    id: int\n"                                                    # 5
            "    email: str\n"                                                 # 6
            "    phone_number: str | None = None\n"                            # 7
            "    card_number: str\n"                                           # 8
            "    created_at: datetime\n\n\n"                                   # 9-11
            "class User(db.Model):\n"                                          # 12
            "    national_id = db.Column(db.String)\n"                         # 13
            "    def f(self, email: str) -> None:\n        pass\n")            # 14-15
    found = [(o.name, o.line) for o in scan(tmp_path, "models.py", code) if o.kind == "personal_data"]
    assert found == [("contact", 6), ("contact", 7), ("financial", 8), ("national_id", 13)]


def test_csv_header_only(tmp_path: Path) -> None:
    csv = "\ufeffcustomer_id,Email,DOB,amount,ip_address\n1,a@b.c,1990-01-01,12.0,10.0.0.1\nssn,iban,x,y,z\n"
    found = scan(tmp_path, "data/train.csv", csv)
    assert sorted((o.name, o.line) for o in found) == [("contact", 1), ("date_of_birth", 1), ("identifiers", 1)]
    assert all("a@b.c" not in o.evidence for o in found)


def test_json_schema_properties(tmp_path: Path) -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "properties": {"name": {"type": "string"}, "email": {"type": "string"},
                             "health": {"type": "object", "properties": {"diagnosis": {"type": "string"}}}}}
    text = json.dumps(schema, indent=2)
    found = {(o.name, o.line, o.evidence) for o in scan(tmp_path, "schemas/patient.schema.json", text)}
    email_line = next(i for i, row in enumerate(text.splitlines(), 1) if '"email"' in row)
    diag_line = next(i for i, row in enumerate(text.splitlines(), 1) if '"diagnosis"' in row)
    assert ("contact", email_line, "schema property `email`") in found
    assert ("health", diag_line, "schema property `diagnosis`") in found
    assert scan(tmp_path, "config/app.json", '{"properties": {"email": 1}}') == []  # not a schema


# --- crafted schemas: answers, not hangs ---------------------------------------------------------------------------

def test_a_yaml_alias_bomb_in_a_schema_is_walked_once(tmp_path: Path) -> None:
    # ~500 bytes that name 10^9 mappings through aliases; the walk took hours before it kept track of them
    text = "$schema: x\na0: &a0\n  properties:\n    email: {type: string}\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10))
    found = scan(tmp_path, "cfg/schema.yaml", text)
    assert [(o.kind, o.name, o.line) for o in found] == [("personal_data", "contact", 4)]


def test_blank_lines_in_a_yaml_schema_do_not_make_the_key_search_quadratic(tmp_path: Path) -> None:
    text = "$schema: x\nproperties:\n" + "\n" * 100_000 + "  email:\n    type: string\n"
    found = scan(tmp_path, "schema.yaml", text)
    assert [(o.name, o.line) for o in found] == [("contact", 100_003)]


def test_schema_property_lines_follow_the_document_order(tmp_path: Path) -> None:
    schema = {"$schema": "x", "items": {"properties": {"phone": {"type": "string"}}},
              "properties": {"email": {"type": "string"}, "iban": {"type": "string"}}}
    found = scan(tmp_path, "schema.json", json.dumps(schema, indent=2))
    text = json.dumps(schema, indent=2).splitlines()
    expected = {name: next(i for i, line in enumerate(text, 1) if f'"{name}"' in line) for name in ("phone", "email",
                                                                                                     "iban")}
    assert sorted((o.evidence.split("`")[1], o.line) for o in found) == sorted(expected.items())
