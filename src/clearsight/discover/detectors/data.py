"""Data-connection and personal-data detectors.

* ``data.database_url`` — database URLs in code and config; the evidence keeps scheme, host, port and path, with the
  user name, password and query string stripped. (``.env`` files are left to ``config.dotenv``.)
* ``data.db_client`` — database client calls by text (``psycopg2.connect``, ``create_engine``, ``MongoClient``…).
* ``data.pii_*`` — personal-data fields in SQL ``CREATE TABLE`` columns, pydantic/dataclass/ORM fields, CSV headers
  and JSON-schema properties, reported by category (contact, identifiers, financial, health, …).

Field names are split into words (snake_case, kebab-case, camelCase) and matched word by word, never by substring:
``ip_address`` is an online *identifier*, not a postal address; ``server_address`` is not personal at all; and
``emailed_at`` is **not** flagged — it is the time a message was sent, not an e-mail address (``email_verified`` or
``customer_email`` are, because they contain the word ``email``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import yaml

from clearsight.discover.detectors.config import db_engine, redact_url
from clearsight.discover.interface import (
    DEPLOYMENT_FILES,
    Confidence,
    Detector,
    FunctionDetector,
    KeyLines,
    LineCounter,
    NameFilter,
    Observation,
    SourceFile,
    source_lines,
)
from clearsight.discover.relpaths import base_name
from clearsight.discover.text_gates import register_pattern, register_words
from clearsight.yaml_models import parse_yaml

__all__ = ["DATA_DETECTORS", "classify_field"]


def _ext(rel: str) -> str:
    base = base_name(rel).lower()
    return base.rsplit(".", 1)[-1] if "." in base else ""


# --- database URLs -----------------------------------------------------------------------------------------------

_SCHEME_NAMES = (r"postgres(?:ql)?|mysql|mariadb|mongodb|rediss?|snowflake|bigquery|mssql|sqlserver|oracle|sqlite|"
                 r"clickhouse|cockroachdb|redshift|neo4j|duckdb|databricks")
_SCHEME = rf"(?<![A-Za-z0-9+])(?P<scheme>(?:jdbc:)?(?:{_SCHEME_NAMES})(?:\+[a-z0-9_]+)?)"
_URL = re.compile(_SCHEME + r"://(?P<rest>[^\s'\"`<>()\\,]*)", re.IGNORECASE)
_SCHEME_BEFORE = re.compile(_SCHEME + r"\Z", re.IGNORECASE)
_SCHEME_REACH = 96  # the longest scheme looked for before "://", driver suffix included


def database_urls(text: str, start: int = 0) -> Iterator[re.Match[str]]:
    """The database URLs in ``text`` from ``start``, in order.

    Only the places where "://" occurs are examined: trying the pattern at every character of every file was
    slow. The scheme is looked for in the few characters before each "://", so a driver suffix longer than
    ``_SCHEME_REACH`` is not recognised.
    """
    pos = start
    while (sep := text.find("://", pos)) >= 0:
        scheme = _SCHEME_BEFORE.search(text, max(pos, sep - _SCHEME_REACH), sep)
        match = _URL.match(text, scheme.start()) if scheme else None
        if match is None:
            pos = sep + 3
            continue
        yield match
        pos = max(match.end(), sep + 3)
_URL_EXTS = {"py", "pyi", "ipynb", "js", "jsx", "ts", "tsx", "mjs", "cjs", "java", "kt", "scala", "go", "rb", "rs",
             "cs", "php", "yaml", "yml", "json", "toml", "ini", "cfg", "conf", "properties", "tf", "tfvars", "sh",
             "xml", "sql", "r"}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "host", "hostname", "example.com", "db", ""}


def _wants_url(rel: str) -> bool:
    base = base_name(rel).lower()
    if base.endswith((".lock", "-lock.json")) or base == ".env" or base.startswith(".env.") or base.endswith(".env"):
        return False
    return _ext(rel) in _URL_EXTS or base in {"dockerfile", "containerfile"} or base.startswith("dockerfile.")


# Most files hold "://" only in web links, and most others none at all: one pass (text_gates) settles both
# without a look at each (searching every text for "://" was most of this detector's time).
register_words(("://",))
register_pattern("data.database-url", rf"(?i)(?:{_SCHEME_NAMES})(?:\+[a-z0-9_]+)?://",
                 example="postgresql+psycopg://db/x")


def _detect_urls(file: SourceFile) -> list[Observation]:
    text = file.text
    if not text or not file.gates.holds("://") or not file.gates.may_match("data.database-url"):
        return []
    found: list[Observation] = []
    lines = LineCounter(text)
    for match in database_urls(text):
        scheme = match.group("scheme")
        engine = db_engine(scheme)
        if engine is None:
            continue
        display, host = redact_url(scheme, match.group("rest"))
        confidence: Confidence = "medium" if host in _LOCAL_HOSTS or "{" in host or "$" in host else "high"
        found.append(Observation(kind="data_store", name=engine, rel=file.rel, line=lines.line(match.start()),
                                 detector="data.database_url", evidence=f"database URL {display}",
                                 confidence=confidence))
    return found


# --- database containers -----------------------------------------------------------------------------------------

# Official and common images of databases, in compose files, Kubernetes manifests, Helm values and Dockerfiles.
_DB_IMAGES = {"postgres": "postgresql", "postgis/postgis": "postgresql", "pgvector/pgvector": "postgresql",
              "bitnami/postgresql": "postgresql", "timescale/timescaledb": "postgresql", "redis": "redis",
              "bitnami/redis": "redis", "redis/redis-stack": "redis", "redis/redis-stack-server": "redis",
              "valkey/valkey": "redis", "mongo": "mongodb", "bitnami/mongodb": "mongodb", "mysql": "mysql",
              "bitnami/mysql": "mysql", "mariadb": "mariadb", "bitnami/mariadb": "mariadb",
              "elasticsearch": "elasticsearch", "elasticsearch/elasticsearch": "elasticsearch",
              "opensearchproject/opensearch": "opensearch", "clickhouse/clickhouse-server": "clickhouse",
              "neo4j": "neo4j", "cassandra": "cassandra", "mcr.microsoft.com/mssql/server": "mssql"}
_IMAGE_LINE = re.compile(
    r"""^\s*(?:-\s*)?(?:image|repository)\s*:\s*["']?(?P<image>[\w.\-/]+?)(?::[\w.\-]+)?(?:@sha256:\w+)?["']?\s*$"""
    r"""|^\s*FROM\s+(?:--platform=\S+\s+)?(?P<base>[\w.\-/]+?)(?::[\w.\-]+)?(?:@sha256:\w+)?(?:\s+AS\s+\w+)?\s*$""",
    re.IGNORECASE)
_REGISTRY_PREFIX = re.compile(r"^(?:docker\.io/|index\.docker\.io/|public\.ecr\.aws/docker/)?(?:library/)?")


def _wants_images(rel: str) -> bool:
    base = base_name(rel).lower()
    return (base in {"dockerfile", "containerfile"} or base.startswith(("dockerfile.", "containerfile."))
            or base.endswith(".dockerfile") or _ext(rel) in {"yaml", "yml"})


def _detect_images(file: SourceFile) -> list[Observation]:
    text = file.text
    if not text:
        return []
    found: list[Observation] = []
    for number, line in enumerate(source_lines(text), start=1):
        match = _IMAGE_LINE.match(line)
        if match is None:
            continue
        image = (match.group("image") or match.group("base") or "").lower()
        engine = _DB_IMAGES.get(_REGISTRY_PREFIX.sub("", image, count=1))
        if engine is not None:
            found.append(Observation(kind="data_store", name=engine, rel=file.rel, line=number,
                                     detector="data.db_image", evidence=f"database container image {image}"))
    return found


# --- database clients --------------------------------------------------------------------------------------------

# (engine, words one of which the call must contain, pattern). The words are checked first with a plain
# substring search: running a dozen ``\b(?:…)`` patterns over every file was most of discovery's regex time.
_Client = tuple[str, tuple[str, ...], re.Pattern[str]]
_PY_CLIENTS: list[_Client] = [
    ("postgresql", ("psycopg", "asyncpg", "pg8000"),
     re.compile(r"\b(?:psycopg2?|asyncpg|pg8000)\.(?:connect|create_pool|AsyncConnection\.connect)\s*\(")),
    ("sqlalchemy", ("create_engine", "create_async_engine"),
     re.compile(r"\b(?:create_engine|create_async_engine)\s*\(")),
    ("mongodb", ("MongoClient", "MotorClient"),
     re.compile(r"\b(?:MongoClient|AsyncIOMotorClient|AsyncMongoClient)\s*\(")),
    ("sqlite", ("sqlite",), re.compile(r"\b(?:sqlite3|aiosqlite)\.connect\s*\(")),
    ("mysql", ("mysql", "MySQLdb"), re.compile(r"\b(?:mysql\.connector|pymysql|MySQLdb|aiomysql)\.connect\s*\(")),
    ("redis", ("redis", "Redis"), re.compile(r"\bredis\.(?:Redis|StrictRedis|from_url)\s*\(|\bRedis\.from_url\s*\(")),
    ("snowflake", ("snowflake",), re.compile(r"\bsnowflake\.connector\.connect\s*\(")),
    ("bigquery", ("bigquery",), re.compile(r"\bbigquery\.Client\s*\(")),
    ("oracle", ("cx_Oracle", "oracledb"), re.compile(r"\b(?:cx_Oracle|oracledb)\.connect\s*\(")),
    ("mssql", ("pyodbc", "pymssql"), re.compile(r"\b(?:pyodbc|pymssql)\.connect\s*\(")),
    ("duckdb", ("duckdb",), re.compile(r"\bduckdb\.connect\s*\(")),
    ("elasticsearch", ("Elasticsearch",), re.compile(r"\b(?:Async)?Elasticsearch\s*\(")),
    ("dynamodb", ("dynamodb",), re.compile(r"\bboto3\.(?:client|resource)\s*\(\s*[\"']dynamodb[\"']")),
]
_JS_CLIENTS: list[_Client] = [
    ("mongodb", ("MongoClient", "mongoose"), re.compile(r"\bnew\s+MongoClient\s*\(|\bmongoose\.connect\s*\(")),
    ("postgresql", ("Pool", "Client"),
     re.compile(r"\bnew\s+(?:pg\.)?(?:Pool|Client)\s*\(\s*\{[^}]*\b(?:connectionString|database)\b")),
    ("mysql", ("mysql",), re.compile(r"\bmysql2?(?:/promise)?\.create(?:Connection|Pool)\s*\(")),
    ("redis", ("createClient",), re.compile(r"\bcreateClient\s*\(\s*\{\s*url\s*:\s*[\"'`]redis")),
]
# Every Python pattern above needs one of these written (``.connect(``, ``create_engine``, ``MongoClient``,
# ``redis.from_url``…): most files hold none, and seven searches settle them instead of twenty-one.
_PY_CLIENT_GATES = ("connect", "create_", "Client", "Redis", "from_url", "Elasticsearch", "dynamodb")
register_words((*_PY_CLIENT_GATES, *(word for _, words, _ in _PY_CLIENTS for word in words)))
# The Python patterns as one, for the one pass (text_gates): a file with "connect" and "sqlite" in its prose
# is settled without running a pattern over it.
register_pattern("data.db-client-python", "|".join(f"(?:{pattern.pattern})" for _, _, pattern in _PY_CLIENTS),
                 example="sqlite3.connect(path)")
_CLIENT_EXTS = {"py": _PY_CLIENTS, "js": _JS_CLIENTS, "mjs": _JS_CLIENTS, "cjs": _JS_CLIENTS, "ts": _JS_CLIENTS,
                "jsx": _JS_CLIENTS, "tsx": _JS_CLIENTS}


def _unbounded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` without the word boundary that starts each of its alternatives (every one starts with one and a
    letter). Python's engine tried that boundary at every character of a text, where without it the search
    skips to the alternatives' first letters: a 450 KB module took 11 ms a pattern, now 0.3-3 ms.
    :func:`_call_in` checks the boundary by hand."""
    depth, start, parts = 0, 0, []
    source = pattern.pattern
    for at, char in enumerate(source):
        depth += char == "(" and (at == 0 or source[at - 1] != "\\")
        depth -= char == ")" and (at == 0 or source[at - 1] != "\\")
        if char == "|" and depth == 0 and source[at - 1] != "\\":
            parts.append(source[start:at])
            start = at + 1
    parts.append(source[start:])
    if not all(part.startswith(r"\b") for part in parts):
        raise ValueError(f"every alternative of {source!r} must start with a word boundary")
    return re.compile("|".join(part[2:] for part in parts), pattern.flags)


_UNBOUNDED = {pattern: _unbounded(pattern) for _, _, pattern in (*_PY_CLIENTS, *_JS_CLIENTS)}


def _call_in(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """``pattern.search(text)`` for a client pattern: the same leftmost match, found without its word boundary,
    which holds where the character before is none of Python's word characters."""
    fast = _UNBOUNDED[pattern]
    at = 0
    while (match := fast.search(text, at)) is not None:
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            return match
        at = start + 1
    return None


def _detect_clients(file: SourceFile) -> list[Observation]:
    text = file.text
    table = _CLIENT_EXTS.get(_ext(file.rel))
    if not text or table is None:
        return []
    holds = file.gates.holds
    # Python's \s also takes \x1c-\x1f, which Hyperscan's does not: such a text asks the patterns themselves
    if table is _PY_CLIENTS and not (any(map(holds, _PY_CLIENT_GATES)) and (
            file.gates.may_match("data.db-client-python") or any(c in text for c in "\x1c\x1d\x1e\x1f"))):
        return []
    patterns = [(engine, pattern) for engine, words, pattern in table if any(map(holds, words))]
    # Only the lines that a match of the whole text touches are read one by one (pandas' generic.py: 12,000 lines
    # for one call). A match a line holds is where the whole-text search tries (a match covering that place
    # touches the line too) and matches there as well; each line then checks the word boundary (_call_in).
    spans = sorted(match.span() for _, pattern in patterns for match in _UNBOUNDED[pattern].finditer(text))
    if not spans:
        return []  # most files open no database
    counter = LineCounter(text)
    touched: set[int] = set()
    for start, end in spans:
        first = counter.line(start)
        touched.update(range(first, first + text.count("\n", start, end) + 1))
    lines = source_lines(text)
    comment = "#" if table is _PY_CLIENTS else "//"
    found: list[Observation] = []
    for number in sorted(touched):
        if number > len(lines):
            continue  # a match ending at the final newline
        line = lines[number - 1]
        code = line.split(comment, 1)[0] if comment == "#" else line
        if line.lstrip().startswith(comment):
            continue
        for engine, pattern in patterns:
            match = _call_in(pattern, code)
            if match is None:
                continue
            name = engine
            if engine == "sqlalchemy":  # the engine is in the URL when it is a literal on the same line
                url = next(database_urls(code, match.end()), None)
                name = (db_engine(url.group("scheme")) or "sqlalchemy") if url else "sqlalchemy"
            found.append(Observation(kind="data_store", name=name, rel=file.rel, line=number,
                                     detector="data.db_client", evidence=f"{match.group(0).strip()[:60]}…",
                                     confidence="high" if name != "sqlalchemy" else "medium"))
    return found


# --- personal-data field names -----------------------------------------------------------------------------------

# word sequences (after splitting the field name) → category; the longest matching sequence wins.
_PHRASES: dict[tuple[str, ...], str] = {}


def _add(category: str, *phrases: str) -> None:
    for phrase in phrases:
        _PHRASES[tuple(phrase.split())] = category


_add("contact", "email", "emails", "e mail", "emailaddress", "mail address", "phone", "phones", "phonenumber",
     "telephone", "mobile number", "mobile phone", "cell phone", "msisdn", "fax", "address", "addresses",
     "street", "address line", "addressline", "postcode", "post code", "postal code", "postalcode", "zip code",
     "zipcode", "zip")
_add("identifiers", "ip", "ip address", "ipaddress", "ip addr", "ipaddr", "mac address", "macaddress", "device id",
     "deviceid", "imei", "first name", "firstname", "last name", "lastname", "full name", "fullname", "surname",
     "given name", "family name", "maiden name", "username", "user name", "login name", "cookie id", "advertising id")
_add("financial", "iban", "bic", "swift code", "account number", "accountnumber", "bank account", "card number",
     "cardnumber", "credit card", "creditcard", "cc number", "ccnumber", "pan", "cvv", "cvc", "card cvv",
     "sort code", "routing number", "salary", "income", "wage", "wages")
_add("health", "diagnosis", "diagnoses", "health", "medical", "medication", "medications", "prescription",
     "blood type", "blood group", "allergy", "allergies", "disability", "icd", "icd10", "symptoms", "treatment",
     "patient id")
_add("biometric", "biometric", "biometrics", "face embedding", "face encoding", "faceprint", "face template",
     "fingerprint template", "fingerprint image", "iris scan", "retina scan", "voiceprint", "voice print")
_add("date_of_birth", "date of birth", "dateofbirth", "dob", "birthdate", "birth date", "birthday", "birth day")
_add("national_id", "ssn", "social security", "social security number", "national id", "nationalid",
     "national insurance", "national insurance number", "nino", "passport", "passport number", "passport no",
     "tax id", "taxid", "tin", "drivers license", "driver license", "driving licence", "driving license", "bsn",
     "aadhaar", "personal id number", "personnummer")
_add("special_category", "ethnicity", "ethnic origin", "race", "religion", "religious belief", "sexual orientation",
     "political opinion", "political party", "trade union", "genetic", "genetic data")
_add("demographic", "gender", "sex", "age", "nationality", "marital status")
_add("location", "latitude", "longitude", "geolocation", "geo location", "gps", "home location")

# words that make "address" technical rather than postal
_NOT_POSTAL = {"server", "host", "url", "web", "remote", "local", "bind", "listen", "base", "memory", "return",
               "contract", "wallet", "proxy", "gateway", "node", "peer", "broadcast", "multicast", "network", "socket",
               "smtp", "target", "source", "src", "dst", "dest", "destination", "ipv4", "ipv6", "hardware", "bus",
               "register", "pointer", "mem", "physical", "virtual", "start", "end", "offset"}
_AMBIGUOUS = {("address",), ("addresses",), ("zip",), ("pan",), ("tin",), ("ip",), ("age",), ("sex",), ("race",),
              ("health",), ("treatment",), ("income",), ("username",), ("user", "name"), ("bic",)}
_MAX_PHRASE = max(len(phrase) for phrase in _PHRASES)


_VOCABULARY = frozenset(word for phrase in _PHRASES for word in phrase)
_SNAKE = re.compile(r"[a-z0-9_]*")


def _words(name: str) -> list[str]:
    if _SNAKE.fullmatch(name):  # most names in code: no case to split on, only underscores
        return [word for word in name.split("_") if word]
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", name.lower()) if word]


@lru_cache(maxsize=1 << 16)
def classify_field(name: str) -> tuple[str, Confidence] | None:
    """The personal-data category of a field or column name, with a confidence, or None."""
    words = _words(name)
    if _VOCABULARY.isdisjoint(words):
        return None  # a big tree has tens of thousands of distinct names in code; almost none is personal data
    best: tuple[int, int, tuple[str, ...]] | None = None  # (length, start, phrase)
    for start in range(len(words)):
        for length in range(min(_MAX_PHRASE, len(words) - start), 0, -1):
            phrase = tuple(words[start:start + length])
            if phrase in _PHRASES and (best is None or length > best[0]):
                best = (length, start, phrase)
                break
    if best is None:
        return None
    _, start, phrase = best
    if phrase in {("address",), ("addresses",)} and start > 0 and words[start - 1] in _NOT_POSTAL:
        return None
    confidence: Confidence = "medium" if phrase in _AMBIGUOUS and len(words) == len(phrase) else "high"
    if phrase in _AMBIGUOUS and len(words) > len(phrase):
        confidence = "medium"
    return _PHRASES[phrase], confidence


def _pii(file: SourceFile, field: str, line: int | None, detector: str, where: str) -> Observation | None:
    result = classify_field(field)
    if result is None:
        return None
    category, confidence = result
    return Observation(kind="personal_data", name=category, rel=file.rel, line=line, detector=detector,
                       evidence=f"{where} `{field}`", confidence=confidence)


_CREATE = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY)\s+|UNLOGGED\s+)?"
                     r"TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<table>[\w.\"`\[\]]+)\s*\(", re.IGNORECASE)
_ALTER_ADD = re.compile(r"\bALTER\s+TABLE\s+(?P<table>[\w.\"`\[\]]+)\s+ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
                        r"[\"`\[]?(?P<column>\w+)", re.IGNORECASE)
_SQL_NON_COLUMNS = {"constraint", "primary", "foreign", "unique", "key", "index", "check", "exclude", "like",
                    "fulltext", "spatial", "period"}


def _strip_sql_comments(text: str) -> str:
    """Comments blanked out with spaces (so offsets and line numbers stay valid)."""
    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))
    return re.sub(r"--[^\n]*|/\*.*?\*/", blank, text, flags=re.DOTALL)


def _detect_sql(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    text = _strip_sql_comments(file.text)
    found: list[Observation] = []
    lines = LineCounter(text)
    for create in _CREATE.finditer(text):
        table = create.group("table").strip("\"`[]")
        depth, item_start, index = 1, create.end(), create.end()
        items: list[int] = []
        while index < len(text) and depth > 0:
            char = text[index]
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    items.append(item_start)
            elif char == "," and depth == 1:
                items.append(item_start)
                item_start = index + 1
            index += 1
        for start in items:
            column = re.match(r"\s*[\"`\[]?(\w+)[\"`\]]?", text[start:start + 200])
            if column is None or column.group(1).lower() in _SQL_NON_COLUMNS:
                continue
            line = lines.line(start + column.start(1))
            observation = _pii(file, column.group(1), line, "data.pii_sql", f"column in CREATE TABLE {table}:")
            if observation:
                found.append(observation)
    for alter in _ALTER_ADD.finditer(text):
        observation = _pii(file, alter.group("column"), lines.line(alter.start("column")), "data.pii_sql",
                           f"column added to {alter.group('table').strip(chr(34) + '`[]')}:")
        if observation:
            found.append(observation)
    return found


_PY_FIELD = re.compile(r"^[ \t]+(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>[A-Za-z_][\w.\[\], |\"']*?)\s*(?:=.*)?$")
_ORM_FIELD = re.compile(r"^[ \t]+(?P<name>[A-Za-z_]\w*)\s*(?::[^=]*)?=\s*(?:models\.\w+Field|(?:db\.|sa\.)?Column|"
                        r"(?:orm\.)?mapped_column|fields\.\w+|Field)\s*\(")
_PY_NOT_FIELDS = {"self", "cls", "return", "model_config", "class_config"}
# Where a field can start: an indented name followed by ":" or "=" on the same line. Finding these in the whole
# text first spares matching both patterns against every line of every file.
_FIELD_START = re.compile(r"^[ \t]+(?P<name>[A-Za-z_]\w*)[ \t]*[:=]", re.MULTILINE)
# The names of lines that can be fields: ``_PY_FIELD`` needs ":" after the name, ``_ORM_FIELD`` an ORM call
# after "=" (a plain ``x = 1`` in a function is neither, and most indented lines of code are that). A
# pattern that starts with a newline is searched for by that character, where "^" is tried everywhere.
_FIELD_TAIL = (r"[ \t]*(?::|=[^\S\n]*(?:models\.\w+Field|(?:db\.|sa\.)?Column|(?:orm\.)?mapped_column"
               r"|fields\.\w+|Field)[^\S\n]*\()")
_LATER_FIELD_NAME = re.compile(r"\n[ \t]+([A-Za-z_]\w*)" + _FIELD_TAIL)
_FIRST_FIELD_NAME = re.compile(r"[ \t]+([A-Za-z_]\w*)" + _FIELD_TAIL)


def _field_names(text: str) -> set[str]:
    """The names of the lines ``_PY_FIELD`` or ``_ORM_FIELD`` can match (and a few more)."""
    names = set(_LATER_FIELD_NAME.findall(text))
    first = _FIRST_FIELD_NAME.match(text)
    if first is not None:
        names.add(first.group(1))
    return names


def _field_gate() -> str:
    """A pattern that matches wherever ``_field_names`` can give a name :func:`classify_field` knows (and in
    more places), for :mod:`~clearsight.discover.text_gates`: an indented name holding one of the phrases as
    :func:`_words` would split it, then ":" or "=". ASCII texts only (the gate answers "may match" for others).

    Why it cannot miss: :func:`_words` splits a name at "_", between a lower-case letter or digit and a capital
    (``userEmail``), and before the last capital of a run that a lower-case letter follows (``IPAddress``). So a
    phrase's first word begins the name, follows "_", or is written with a capital after a lower-case letter or
    digit, or with a capital and then a lower-case letter after another capital; each later word follows "_" or
    starts with a capital; and the last is followed by the name's end, "_" or a capital. Letters the rules do
    not fix may be in any case. After the name comes ``_FIELD_TAIL``, as in ``_field_names``. The pattern
    answers for the whole text, ASCII or not: see the last two alternatives.
    """
    def caseless(word: str) -> str:
        return f"(?i:{word})"

    def capital(word: str) -> str:
        return word[0].upper() + caseless(word[1:]) if len(word) > 1 else word.upper()

    def capital_then_lower(word: str) -> str | None:
        return word[0].upper() + word[1] + caseless(word[2:]) if len(word) > 1 and word[1].isalpha() else None

    def phrases(first: Callable[[str], str | None]) -> str:
        written = []
        for phrase in sorted(_PHRASES, key=lambda p: (-len(" ".join(p)), p)):
            head = first(phrase[0]) if phrase[0][0].isalpha() or first is caseless else None
            if head is not None:
                written.append(head + "".join(f"(?:_+{caseless(w)}|{capital(w)})" for w in phrase[1:]))
        return "|".join(written)

    line = r"(?:^|\n)[ \t]+"
    # then what follows a field's name in the detector's own patterns: ":" or "=" and an ORM call (any "=" let
    # through every module assigning ``ip = ...`` or ``address = ...``), with every ASCII character Python's
    # "\s" takes (Hyperscan's leaves out \x1c-\x1f)
    end = r"(?:[_A-Z][A-Za-z0-9_]*)?" + _FIELD_TAIL.replace(r"[^\S\n]", _SPACE)
    # Lines holding a character that is not ASCII, where this ASCII reading could miss a field: that character
    # in the name (``    naïve_email: str``), or after "=" among the ORM call's words and spaces (``= Column\u00a0(``,
    # ``= models.ÄField(``). Such bytes never occur in an ASCII text, so there the gate is as exact as before;
    # a text that is not ASCII is settled by the same pass unless one of its lines is such a line (a few
    # hundred big modules of a tree have an accent or a dash in a docstring, and reading each whole one for
    # field names was most of this detector's time).
    foreign = rf"|{line}[A-Za-z0-9_]*[\x80-\xff]|=[A-Za-z0-9_.\t\x0b\x0c\r \x1c-\x1f]*[\x80-\xff]"
    return (rf"{line}(?:[A-Za-z0-9_]*_)?(?:{phrases(caseless)}){end}"
            rf"|{line}[A-Za-z0-9_]*[a-z0-9](?:{phrases(capital)}){end}"
            rf"|{line}[A-Za-z0-9_]*[A-Z](?:{phrases(capital_then_lower)}){end}" + foreign)


_SPACE = r"[\t\x0b\x0c\r \x1c-\x1f]"  # the ASCII characters of Python's "\s" but the newline
register_pattern("pii-field", _field_gate(), example="class User:\n    email: str\n")


def _detect_python_fields(file: SourceFile) -> list[Observation]:
    text = file.text
    gates = file.gates
    if not text or ":" not in text or gates.nowhere("pii-field"):
        return []  # for a text that is not ASCII too (see _field_gate)
    if not any(map(classify_field, _field_names(text))):
        return []  # one C-level pass names every candidate; most files hold no personal-data name at all
    found: list[Observation] = []
    seen: set[str] = set()
    number, counted = 1, 0
    for start in _FIELD_START.finditer(text):
        if classify_field(start.group("name")) is None:
            continue  # most assignments in code are not personal data; the patterns below capture the same name
        begin = start.start()
        number += text.count("\n", counted, begin)
        counted = begin
        end = text.find("\n", begin)
        line = text[begin:end if end >= 0 else len(text)].rstrip("\r")
        match = _PY_FIELD.match(line) or _ORM_FIELD.match(line)
        if match is None or (line.rstrip().endswith(":") and "=" not in line):
            continue  # a block opener such as `    else:` is not a field
        name = match.group("name")
        if name in _PY_NOT_FIELDS or name in {"else", "try", "finally", "lambda"}:
            continue
        observation = _pii(file, name, number, "data.pii_python", "field")
        if observation:
            key = f"{name}:{number}"
            if key not in seen:
                seen.add(key)
                found.append(observation)
    return found


def _detect_csv(file: SourceFile) -> list[Observation]:
    if not file.text:
        return []
    header = file.text.split("\n", 1)[0].lstrip("\ufeff").rstrip("\r")
    delimiter = max((",", "\t", ";", "|"), key=header.count)
    if header.count(delimiter) == 0 and len(header) > 64:
        return []
    found: list[Observation] = []
    for cell in header.split(delimiter):
        column = cell.strip().strip("\"'")
        if not column or len(column) > 64:
            continue
        observation = _pii(file, column, 1, "data.pii_csv", "CSV column")
        if observation:
            found.append(observation)
    return found


def _schema_properties(node: Any) -> list[str]:
    """Property names anywhere in a JSON-schema-like tree (``properties`` maps), in document order.

    YAML aliases let one mapping appear at many places; a few hundred bytes of nested aliases describe 10^9 of
    them. A container already walked at the same depth yields the same names again, so it is walked once per
    depth, which keeps the walk linear in the parsed document (at most 41 depths of each object).
    """
    names: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > 40 or not isinstance(current, dict | list) or (id(current), depth) in seen:
            continue
        seen.add((id(current), depth))
        if isinstance(current, dict):
            properties = current.get("properties")
            if isinstance(properties, dict):
                names += [str(key) for key in properties]
            children = list(current.values())
        else:
            children = current
        stack.extend((child, depth + 1) for child in reversed(children))
    return names


def _wants_schema(rel: str) -> bool:
    base = base_name(rel).lower()
    if base.endswith((".lock", "-lock.json")) or base in {"package.json", "tsconfig.json"}:
        return False
    return base.endswith((".json", ".yaml", ".yml"))


def _detect_schema(file: SourceFile) -> list[Observation]:
    text = file.text
    if not text or "properties" not in text:
        return []
    base = base_name(file.rel).lower()
    is_json = base.endswith(".json")
    schema_like = ("$schema" in text or "schema" in base or "openapi" in text[:2000] or "swagger" in text[:2000]
                   or "components:" in text or '"definitions"' in text or "$defs" in text)
    if not schema_like:
        return []
    try:
        data = json.loads(text) if is_json else parse_yaml(text)
    except (ValueError, yaml.YAMLError, RecursionError):  # UnicodeError is a ValueError
        return []
    found: list[Observation] = []
    lines = KeyLines(text)
    for name in dict.fromkeys(_schema_properties(data)):
        if classify_field(name) is None:
            continue  # most properties are not personal data, and only those need a line
        line = lines.line_of(re.compile((r'"' + re.escape(name) + r'"\s*:') if is_json else (
            r"^[^\S\n]*[\"']?" + re.escape(name) + r"[\"']?\s*:"), re.MULTILINE)) if lines.wanted() else None
        observation = _pii(file, name, line, "data.pii_schema", "schema property")
        if observation:
            found.append(observation)
    return found


def _detector(id_: str, description: str, wants: Callable[[str], bool],
              detect: Callable[[SourceFile], list[Observation]], names: NameFilter | None = None) -> Detector:
    # FunctionDetector is frozen while the Detector protocol declares plain (settable) attributes
    return FunctionDetector(id_, description, wants, detect, names)


DATA_DETECTORS: list[Detector] = [
    _detector("data.database_url", "Database URLs in code and config (credentials stripped).",
                     _wants_url, _detect_urls,
              NameFilter.of(*(f".{ext}" for ext in _URL_EXTS), prefixes=("dockerfile", "containerfile"))),
    _detector("data.db_image", "Database container images in compose files, Kubernetes manifests and Dockerfiles.",
              _wants_images, _detect_images, DEPLOYMENT_FILES),
    _detector("data.db_client", "Database client calls (psycopg, SQLAlchemy, MongoClient, sqlite3, …).",
                     lambda rel: _ext(rel) in _CLIENT_EXTS, _detect_clients,
              NameFilter.of(*(f".{ext}" for ext in _CLIENT_EXTS))),
    _detector("data.pii_sql", "Personal-data columns in SQL CREATE TABLE / ALTER TABLE statements.",
                     lambda rel: _ext(rel) == "sql", _detect_sql, NameFilter.of(".sql")),
    _detector("data.pii_python", "Personal-data fields in pydantic models, dataclasses and ORM models.",
                     lambda rel: _ext(rel) in {"py", "pyi"}, _detect_python_fields, NameFilter.of(".py", ".pyi")),
    _detector("data.pii_csv", "Personal-data columns in CSV/TSV headers (first line only).",
                     lambda rel: _ext(rel) in {"csv", "tsv"}, _detect_csv, NameFilter.of(".csv", ".tsv")),
    _detector("data.pii_schema", "Personal-data property names in JSON schemas and OpenAPI documents.",
                     _wants_schema, _detect_schema, NameFilter.of(".json", ".yaml", ".yml")),
]
