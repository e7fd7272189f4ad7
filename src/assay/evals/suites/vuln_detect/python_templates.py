"""Python programs: one template per way of writing each flaw, and harmless decoys.

A flaw template returns a `Part` whose one `Diff` holds the flawed lines and their fix. A
decoy returns a `Part` with no `Diff`; decoys are safe by construction, and several use the
same APIs as the flaws the safe way (a parameterized query, a command as an argument list,
a path checked against its root, ``yaml.safe_load``), so that naming the API is not enough.
"""

# The SQL below is the text of generated programs, built on purpose and never executed.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable

from .program import Context, Diff, Line, Part, doc_phrase, indent, secret

Template = Callable[[Context], Part]


def function(ctx: Context, name: str, params: list[str], body: list[Line]) -> list[Line]:
    """A function with an optional docstring and logging line before ``body``."""
    lines: list[Line] = [f"def {name}({', '.join(params)}):"]
    if ctx.chance(0.5):
        lines.append(indent(1, f'"""{doc_phrase(ctx.rng, ctx.entity.noun)}"""'))
    if ctx.chance(0.35):
        lines.append(indent(1, f'logger.debug("{name} called")'))
    lines.extend(body)
    return lines


def _sql_names(ctx: Context) -> tuple[str, str, str, str]:
    """A connection name, a column to filter on, the selected columns and the table."""
    e = ctx.entity
    col = ctx.rng.choice(e.columns)
    others = [c for c in e.columns if c != col]
    cols = ", ".join(ctx.rng.sample(others, ctx.rng.randrange(1, len(others) + 1)))
    conn = ctx.names.pick(("conn", "db", "connection", "database"))
    return conn, col, cols, e.table


# CWE-89: SQL injection ---------------------------------------------------------------


def sqli_fstring(ctx: Context) -> Part:
    conn, col, cols, table = _sql_names(ctx)
    arg = ctx.names.pick((col, f"{col}_value", f"wanted_{col}"))
    cur = ctx.names.pick(("cur", "cursor"))
    fn = ctx.names.function(ctx.entity.noun, ("find", "lookup", "search", "get", "load"))
    query = f"SELECT {cols} FROM {table} WHERE {col} = "
    body: list[Line] = [
        indent(1, f"{cur} = {conn}.cursor()"),
        Diff(
            (indent(1, f"{cur}.execute(f\"{query}'{{{arg}}}'\")"),),
            (indent(1, f'{cur}.execute("{query}?", ({arg},))'),),
        ),
        indent(1, f"return {cur}.fetchall()"),
    ]
    return Part(function(ctx, fn, [conn, arg], body), {"import sqlite3"}, variant="fstring")


def sqli_percent(ctx: Context) -> Part:
    conn, col, cols, table = _sql_names(ctx)
    arg = ctx.names.pick((col, f"{col}_filter", f"requested_{col}"))
    query = ctx.names.pick(("query", "sql", "statement"))
    rows = ctx.names.pick(("rows", "result", "matches", "found"))
    item = ctx.names.pick(("row", "r", "entry"))
    fn = ctx.names.function(ctx.entity.table, ("list", "find", "collect", "select"))
    base = f"SELECT {cols} FROM {table} WHERE {col} = "
    body: list[Line] = [
        Diff(
            (
                indent(1, f"{query} = \"{base}'%s'\" % {arg}"),
                indent(1, f"{rows} = {conn}.execute({query}).fetchall()"),
            ),
            (
                indent(1, f'{query} = "{base}?"'),
                indent(1, f"{rows} = {conn}.execute({query}, ({arg},)).fetchall()"),
            ),
            flaw=1,
        ),
        indent(1, f"return [{item}[0] for {item} in {rows}]")
        if ctx.chance(0.5)
        else indent(1, f"return {rows}"),
    ]
    return Part(function(ctx, fn, [conn, arg], body), {"import sqlite3"}, variant="percent")


def sqli_concat(ctx: Context) -> Part:
    conn, col, _cols, table = _sql_names(ctx)
    arg = ctx.names.pick((col, f"old_{col}", f"stale_{col}"))
    fn = ctx.names.function(ctx.entity.noun, ("delete", "remove", "purge", "drop"))
    stmt = f"DELETE FROM {table} WHERE {col} = "
    body: list[Line] = [
        Diff(
            (indent(1, f'{conn}.execute("{stmt}\'" + {arg} + "\'")'),),
            (indent(1, f'{conn}.execute("{stmt}?", ({arg},))'),),
        ),
        indent(1, f"{conn}.commit()"),
    ]
    return Part(function(ctx, fn, [conn, arg], body), {"import sqlite3"}, variant="concat")


def sqli_format(ctx: Context) -> Part:
    conn, key_col, _cols, table = _sql_names(ctx)
    set_col = ctx.rng.choice([c for c in ctx.entity.columns if c != key_col])
    key = ctx.names.pick((key_col, f"{key_col}_key"))
    value = ctx.names.pick((f"new_{set_col}", set_col if set_col != key else f"{set_col}_new"))
    sql = ctx.names.pick(("sql", "query", "update"))
    fn = ctx.names.function(ctx.entity.noun, ("update", "set", "change", "rename"))
    stmt = f"UPDATE {table} SET {set_col} = "
    body: list[Line] = [
        Diff(
            (
                indent(
                    1, f"{sql} = \"{stmt}'{{}}' WHERE {key_col} = '{{}}'\".format({value}, {key})"
                ),
                indent(1, f"{conn}.execute({sql})"),
            ),
            (
                indent(1, f'{sql} = "{stmt}? WHERE {key_col} = ?"'),
                indent(1, f"{conn}.execute({sql}, ({value}, {key}))"),
            ),
            flaw=1,
        ),
        indent(1, f"{conn}.commit()"),
    ]
    return Part(function(ctx, fn, [conn, key, value], body), {"import sqlite3"}, variant="format")


# CWE-78: OS command injection ---------------------------------------------------------

_COMMANDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("ping", ("-c", "1"), ("host", "hostname", "target")),
    ("du", ("-sh",), ("path", "folder", "directory")),
    ("wc", ("-l",), ("path", "filename", "log_file")),
    ("sha256sum", (), ("path", "filename", "artifact")),
    ("file", ("--brief",), ("path", "filename", "upload")),
    ("gzip", ("-k",), ("path", "filename", "dump_file")),
    ("stat", ("-c", "%s"), ("path", "filename", "entry")),
)


def _command(ctx: Context) -> tuple[str, str, str]:
    """The argument's name, the shell prefix (``"du -sh"``) and the argv list's head."""
    tool, flags, args = ctx.rng.choice(_COMMANDS)
    arg = ctx.names.pick(args)
    shell = " ".join((tool, *flags))
    argv = ", ".join(f'"{w}"' for w in (tool, *flags, "--"))
    return arg, shell, argv


def cmdi_system(ctx: Context) -> Part:
    arg, shell, argv = _command(ctx)
    fn = ctx.names.function(ctx.entity.noun, ("check", "inspect", "probe", "run"))
    body: list[Line] = [
        Diff(
            (indent(1, f'return os.system(f"{shell} {{{arg}}}")'),),
            (indent(1, f"return subprocess.run([{argv}, {arg}], check=False).returncode"),),
        )
    ]
    return Part(
        function(ctx, fn, [arg], body), {"import os", "import subprocess"}, variant="system"
    )


def cmdi_check_output(ctx: Context) -> Part:
    arg, shell, argv = _command(ctx)
    out = ctx.names.pick(("out", "output", "result"))
    fn = ctx.names.function(ctx.entity.noun, ("describe", "measure", "summarize", "inspect"))
    body: list[Line] = [
        Diff(
            (
                indent(
                    1,
                    f'{out} = subprocess.check_output(f"{shell} {{{arg}}}", shell=True, text=True)',
                ),
            ),
            (indent(1, f"{out} = subprocess.check_output([{argv}, {arg}], text=True)"),),
        ),
        indent(1, f"return {out}.strip()"),
    ]
    return Part(function(ctx, fn, [arg], body), {"import subprocess"}, variant="check_output")


def cmdi_concat(ctx: Context) -> Part:
    arg, shell, argv = _command(ctx)
    cmd = ctx.names.pick(("cmd", "command", "argv"))
    proc = ctx.names.pick(("proc", "completed", "res"))
    fn = ctx.names.function(ctx.entity.noun, ("run", "scan", "check", "report"))
    run = "subprocess.run({}, {}capture_output=True, text=True, check=False)"
    body: list[Line] = [
        Diff(
            (
                indent(1, f'{cmd} = "{shell} " + {arg}'),
                indent(1, f"{proc} = " + run.format(cmd, "shell=True, ")),
            ),
            (
                indent(1, f"{cmd} = [{argv}, {arg}]"),
                indent(1, f"{proc} = " + run.format(cmd, "")),
            ),
            flaw=1,
        ),
        indent(1, f"return {proc}.stdout"),
    ]
    return Part(function(ctx, fn, [arg], body), {"import subprocess"}, variant="concat")


def cmdi_popen(ctx: Context) -> Part:
    arg, shell, argv = _command(ctx)
    fn = ctx.names.function(ctx.entity.noun, ("read", "query", "show", "stat"))
    run = f"subprocess.run([{argv}, {arg}], capture_output=True, text=True, check=False)"
    body: list[Line] = [
        Diff(
            (indent(1, f'return os.popen("{shell} %s" % {arg}).read()'),),
            (indent(1, f"return {run}.stdout"),),
        )
    ]
    return Part(function(ctx, fn, [arg], body), {"import os", "import subprocess"}, variant="popen")


# CWE-22: path traversal ---------------------------------------------------------------


def _base_dir(ctx: Context) -> tuple[str, str]:
    """A module constant naming a directory, and its assignment line."""
    d = ctx.rng.choice(("uploads", "exports", "reports", "attachments", "media", "spool"))
    name = ctx.names.constant((f"{d}_dir", f"{d}_root", "base_dir", "storage_root"))
    root = ctx.rng.choice(("/srv", "/var/lib", "/opt", "/data"))
    return name, f'{name} = "{root}/{ctx.app}/{d}"'


def _realpath_check(ctx: Context, path: str, base: str, joined: str) -> tuple[str, ...]:
    """The fix: resolve the joined path and refuse one outside the base directory."""
    return (
        indent(1, f"{path} = os.path.realpath({joined})"),
        indent(1, f"if not {path}.startswith(os.path.realpath({base}) + os.sep):"),
        indent(2, f'raise ValueError("bad {ctx.entity.noun} file name")'),
    )


def traversal_join_read(ctx: Context) -> Part:
    base, const = _base_dir(ctx)
    name = ctx.names.pick(("filename", "name", "file_name", "requested"))
    path = ctx.names.pick(("path", "full_path", "location"))
    fh = ctx.names.pick(("fh", "f", "handle", "stream"))
    fn = ctx.names.function(ctx.entity.noun + "_file", ("read", "load", "serve", "download"))
    joined = f"os.path.join({base}, {name})"
    open_line = indent(1, f'with open({path}, "rb") as {fh}:')
    body: list[Line] = [
        Diff(
            (indent(1, f"{path} = {joined}"), open_line),
            (*_realpath_check(ctx, path, base, joined), open_line),
            flaw=1,
        ),
        indent(2, f"return {fh}.read()"),
    ]
    return Part(function(ctx, fn, [name], body), {"import os"}, [const], variant="join_read")


def traversal_pathlib(ctx: Context) -> Part:
    d = ctx.rng.choice(("templates", "exports", "reports", "snippets", "docs"))
    root = ctx.names.constant((f"{d}_root", f"{d}_path", "content_root"))
    const = f'{root} = Path("/var/lib/{ctx.app}/{d}")'
    name = ctx.names.pick(("name", "page", "slug", "relative"))
    target = ctx.names.pick(("target", "file_path", "doc"))
    fn = ctx.names.function(ctx.entity.noun + "_page", ("render", "read", "load", "show"))
    ret = indent(1, f'return {target}.read_text(encoding="utf-8")')
    body: list[Line] = [
        Diff(
            (indent(1, f"{target} = {root} / {name}"), ret),
            (
                indent(1, f"{target} = ({root} / {name}).resolve()"),
                indent(1, f"if not {target}.is_relative_to({root}.resolve()):"),
                indent(2, f'raise ValueError("bad {ctx.entity.noun} page")'),
                ret,
            ),
            flaw=1,
        )
    ]
    imports = {"from pathlib import Path"}
    return Part(function(ctx, fn, [name], body), imports, [const], variant="pathlib")


def traversal_write(ctx: Context) -> Part:
    base, const = _base_dir(ctx)
    name = ctx.names.pick(("filename", "upload_name", "client_name"))
    data = ctx.names.pick(("data", "content", "payload", "blob"))
    dest = ctx.names.pick(("dest", "destination", "target_path"))
    fh = ctx.names.pick(("fh", "out", "sink"))
    fn = ctx.names.function(ctx.entity.noun + "_upload", ("save", "store", "write", "keep"))
    joined = f"os.path.join({base}, {name})"
    open_line = indent(1, f'with open({dest}, "wb") as {fh}:')
    body: list[Line] = [
        Diff(
            (indent(1, f"{dest} = {joined}"), open_line),
            (*_realpath_check(ctx, dest, base, joined), open_line),
            flaw=1,
        ),
        indent(2, f"{fh}.write({data})"),
        indent(1, f"return {dest}"),
    ]
    return Part(function(ctx, fn, [name, data], body), {"import os"}, [const], variant="write")


def traversal_concat(ctx: Context) -> Part:
    base, const = _base_dir(ctx)
    name = ctx.names.pick(("filename", "name", "report_name"))
    path = ctx.names.pick(("path", "resolved", "full_path"))
    fh = ctx.names.pick(("fh", "src", "reader"))
    fn = ctx.names.function(ctx.entity.noun + "_report", ("read", "fetch", "open", "export"))
    body: list[Line] = [
        Diff(
            (indent(1, f'with open({base} + "/" + {name}, encoding="utf-8") as {fh}:'),),
            (
                *_realpath_check(ctx, path, base, f"os.path.join({base}, {name})"),
                indent(1, f'with open({path}, encoding="utf-8") as {fh}:'),
            ),
        ),
        indent(2, f"return {fh}.read()"),
    ]
    return Part(function(ctx, fn, [name], body), {"import os"}, [const], variant="concat")


# CWE-798: hard-coded credentials -----------------------------------------------------


def creds_constant(ctx: Context) -> Part:
    const = ctx.names.constant(("api_key", "service_token", "api_token", "upload_key"))
    url = ctx.names.constant(("api_url", "endpoint", "service_url"))
    body_arg = ctx.names.pick(("body", "payload", "data"))
    req = ctx.names.pick(("req", "request"))
    resp = ctx.names.pick(("resp", "response"))
    fn = ctx.names.function(ctx.entity.noun, ("push", "send", "upload", "publish"))
    constants: list[Line] = [
        f'{url} = "https://api.{ctx.app}.example/v1/{ctx.entity.table}"',
        Diff(
            (f'{const} = "{secret(ctx.rng)}"',),
            (f'{const} = os.environ.get("{ctx.app.upper()}_{const}", "")',),
        ),
    ]
    headers = f'{{"Authorization": "Bearer " + {const}}}'
    body: list[Line] = [
        indent(1, f"{req} = urllib.request.Request({url}, data={body_arg}, headers={headers})"),
        indent(1, f"with urllib.request.urlopen({req}, timeout=10) as {resp}:"),
        indent(2, f"return {resp}.status"),
    ]
    imports = {"import os", "import urllib.request"}
    return Part(function(ctx, fn, [body_arg], body), imports, constants, variant="constant")


def creds_smtp(ctx: Context) -> Part:
    host = ctx.names.constant(("smtp_host", "mail_host", "relay"))
    msg = ctx.names.pick(("message", "msg", "email"))
    server = ctx.names.pick(("server", "smtp", "client"))
    user = f"{ctx.rng.choice(('noreply', 'alerts', 'robot', 'mailer'))}@{ctx.app}.example"
    fn = ctx.names.function(ctx.entity.noun + "_mail", ("send", "deliver", "post"))
    env = f'os.environ["{ctx.app.upper()}_SMTP_PASSWORD"]'
    body: list[Line] = [
        indent(1, f"with smtplib.SMTP({host}, 587) as {server}:"),
        indent(2, f"{server}.starttls()"),
        Diff(
            (indent(2, f'{server}.login("{user}", "{secret(ctx.rng)}")'),),
            (indent(2, f'{server}.login("{user}", {env})'),),
        ),
        indent(2, f"{server}.send_message({msg})"),
    ]
    constants: list[Line] = [f'{host} = "smtp.{ctx.app}.example"']
    imports = {"import os", "import smtplib"}
    return Part(function(ctx, fn, [msg], body), imports, constants, variant="smtp")


def creds_compare(ctx: Context) -> Part:
    user = ctx.names.pick(("username", "user", "login"))
    password = ctx.names.pick(("password", "passwd", "supplied"))
    expected = ctx.names.pick(("expected", "stored", "reference"))
    admin = ctx.rng.choice(("admin", "root", "operator", "superuser"))
    fn = ctx.names.function("admin", ("check", "verify", "authenticate", "is"))
    body: list[Line] = [
        Diff(
            (indent(1, f'if {user} == "{admin}" and {password} == "{secret(ctx.rng)}":'),),
            (
                indent(1, f'{expected} = os.environ.get("{ctx.app.upper()}_ADMIN_PASSWORD")'),
                indent(
                    1,
                    f'if {expected} and {user} == "{admin}" and '
                    f"hmac.compare_digest({password}, {expected}):",
                ),
            ),
        ),
        indent(2, "return True"),
        indent(1, "return False"),
    ]
    imports = {"import os", "import hmac"}
    return Part(function(ctx, fn, [user, password], body), imports, variant="compare")


def creds_connect(ctx: Context) -> Part:
    host = ctx.names.constant(("db_host", "database_host", "pg_host"))
    fn = ctx.names.function("connection", ("open", "get", "make", "new"))
    user = ctx.rng.choice(("app", ctx.app, "service", "reporting"))
    call = f'psycopg2.connect(host={host}, dbname="{ctx.app}", user="{user}", password='
    body: list[Line] = [
        Diff(
            (indent(1, f'return {call}"{secret(ctx.rng)}")'),),
            (indent(1, f'return {call}os.environ["PGPASSWORD"])'),),
        )
    ]
    constants: list[Line] = [f'{host} = "db.{ctx.app}.internal"']
    imports = {"import os", "import psycopg2"}
    return Part(function(ctx, fn, [], body), imports, constants, variant="connect")


# CWE-502: deserialization of untrusted data -------------------------------------------


def deser_pickle_loads(ctx: Context) -> Part:
    payload = ctx.names.pick(("payload", "body", "raw", "message"))
    obj = ctx.names.pick(("obj", "decoded", "item", "state"))
    fn = ctx.names.function(ctx.entity.noun + "_message", ("decode", "parse", "receive"))
    body: list[Line] = [
        Diff(
            (indent(1, f"{obj} = pickle.loads({payload})"),),
            (indent(1, f"{obj} = json.loads({payload})"),),
        ),
        indent(1, f"return {obj}"),
    ]
    imports = {"import pickle", "import json"}
    return Part(function(ctx, fn, [payload], body), imports, variant="pickle_loads")


def deser_yaml(ctx: Context) -> Part:
    text = ctx.names.pick(("text", "document", "uploaded"))
    cfg = ctx.names.pick(("cfg", "settings", "parsed"))
    key = ctx.rng.choice(ctx.entity.columns)
    loader = ctx.rng.choice(("yaml.Loader", "yaml.UnsafeLoader"))
    fn = ctx.names.function(ctx.entity.noun + "_settings", ("parse", "import", "read"))
    body: list[Line] = [
        Diff(
            (indent(1, f"{cfg} = yaml.load({text}, Loader={loader})"),),
            (indent(1, f"{cfg} = yaml.safe_load({text})"),),
        ),
        indent(1, f'return {cfg}.get("{key}")'),
    ]
    return Part(function(ctx, fn, [text], body), {"import yaml"}, variant="yaml_load")


def deser_cookie(ctx: Context) -> Part:
    cookie = ctx.names.pick(("cookie", "session_cookie", "token"))
    raw = ctx.names.pick(("raw", "decoded", "blob"))
    session = ctx.names.pick(("session", "state", "data"))
    fn = ctx.names.function("session", ("restore", "load", "read"))
    body: list[Line] = [
        indent(1, f"{raw} = base64.b64decode({cookie})"),
        Diff(
            (indent(1, f"{session} = pickle.loads({raw})"),),
            (indent(1, f"{session} = json.loads({raw})"),),
        ),
        indent(1, f'return {session}.get("{ctx.entity.noun}_id")'),
    ]
    imports = {"import base64", "import pickle", "import json"}
    return Part(function(ctx, fn, [cookie], body), imports, variant="cookie")


def deser_upload(ctx: Context) -> Part:
    upload = ctx.names.pick(("uploaded_file", "upload", "received"))
    fn = ctx.names.function(ctx.entity.noun + "_backup", ("import", "restore", "load"))
    body: list[Line] = [
        Diff(
            (indent(1, f"return pickle.load({upload})"),),
            (indent(1, f"return json.load({upload})"),),
        )
    ]
    imports = {"import pickle", "import json"}
    return Part(function(ctx, fn, [upload], body), imports, variant="upload")


FLAWS: dict[str, tuple[Template, ...]] = {
    "CWE-89": (sqli_fstring, sqli_percent, sqli_concat, sqli_format),
    "CWE-78": (cmdi_system, cmdi_check_output, cmdi_concat, cmdi_popen),
    "CWE-22": (traversal_join_read, traversal_pathlib, traversal_write, traversal_concat),
    "CWE-798": (creds_constant, creds_smtp, creds_compare, creds_connect),
    "CWE-502": (deser_pickle_loads, deser_yaml, deser_cookie, deser_upload),
}


# Decoys -------------------------------------------------------------------------------


def decoy_count_query(ctx: Context) -> Part:
    conn, col, _cols, table = _sql_names(ctx)
    arg = ctx.names.pick((col, f"{col}_value"))
    row = ctx.names.pick(("row", "first", "record"))
    fn = ctx.names.function(ctx.entity.table, ("count", "tally", "number_of"))
    query = f'"SELECT COUNT(*) FROM {table} WHERE {col} = ?", ({arg},)'
    body: list[Line] = [
        indent(1, f"{row} = {conn}.execute({query}).fetchone()"),
        indent(1, f"return {row}[0]"),
    ]
    return Part(function(ctx, fn, [conn, arg], body), {"import sqlite3"})


def decoy_git_revision(ctx: Context) -> Part:
    proc = ctx.names.pick(("proc", "git", "completed"))
    fn = ctx.names.function("revision", ("current", "get", "read"))
    argv = '["git", "rev-parse", "--short", "HEAD"]'
    body: list[Line] = [
        indent(1, f"{proc} = subprocess.run({argv}, capture_output=True, text=True, check=False)"),
        indent(1, f"return {proc}.stdout.strip()"),
    ]
    return Part(function(ctx, fn, [], body), {"import subprocess"})


def decoy_config(ctx: Context) -> Part:
    const = ctx.names.constant(("config_path", "settings_file", "config_file"))
    fh = ctx.names.pick(("fh", "f", "handle"))
    fn = ctx.names.function("config", ("load", "read", "parse"))
    if ctx.chance(0.5):
        constants: list[Line] = [f'{const} = "/etc/{ctx.app}/config.json"']
        parse, imports = f"json.load({fh})", {"import json"}
    else:
        constants = [f'{const} = "/etc/{ctx.app}/config.yaml"']
        parse, imports = f"yaml.safe_load({fh})", {"import yaml"}
    body: list[Line] = [
        indent(1, f'with open({const}, encoding="utf-8") as {fh}:'),
        indent(2, f"return {parse}"),
    ]
    return Part(function(ctx, fn, [], body), imports, constants)


def decoy_fingerprint(ctx: Context) -> Part:
    obj = ctx.names.pick(("obj", "value", "snapshot"))
    blob = ctx.names.pick(("blob", "encoded", "serialized"))
    fn = ctx.names.function(ctx.entity.noun + "_digest", ("compute", "make", "cache"))
    body: list[Line] = [
        indent(1, f"{blob} = pickle.dumps({obj})"),
        indent(1, f"return hashlib.sha256({blob}).hexdigest()"),
    ]
    return Part(function(ctx, fn, [obj], body), {"import pickle", "import hashlib"})


def decoy_valid_name(ctx: Context) -> Part:
    value = ctx.names.pick(("value", "candidate", "label"))
    fn = ctx.names.function(ctx.entity.noun + "_name", ("is_valid", "check", "accept"))
    body: list[Line] = [
        indent(1, f'return re.fullmatch(r"[A-Za-z0-9_-]{{1,64}}", {value}) is not None'),
    ]
    return Part(function(ctx, fn, [value], body), {"import re"})


def decoy_offset(ctx: Context) -> Part:
    page = ctx.names.pick(("page", "page_number"))
    size = ctx.names.pick(("size", "per_page", "limit"))
    fn = ctx.names.function("offset", ("page", "compute", "get"))
    body: list[Line] = [
        indent(1, f"if {page} < 1:"),
        indent(2, f"{page} = 1"),
        indent(1, f"return ({page} - 1) * {size}"),
    ]
    default = ctx.rng.choice((10, 20, 25, 50))
    return Part(function(ctx, fn, [page, f"{size}={default}"], body))


def decoy_env_secret(ctx: Context) -> Part:
    value = ctx.names.pick(("value", "secret", "key"))
    env = f"{ctx.app.upper()}_{ctx.rng.choice(('SIGNING_KEY', 'SECRET_KEY', 'WEBHOOK_SECRET'))}"
    fn = ctx.names.function("secret", ("signing", "load", "require"))
    body: list[Line] = [
        indent(1, f'{value} = os.environ.get("{env}")'),
        indent(1, f"if not {value}:"),
        indent(2, f'raise RuntimeError("{env} is not set")'),
        indent(1, f"return {value}"),
    ]
    return Part(function(ctx, fn, [], body), {"import os"})


def decoy_safe_path(ctx: Context) -> Part:
    base, const = _base_dir(ctx)
    name = ctx.names.pick(("name", "filename", "entry"))
    root = ctx.names.pick(("root", "base", "top"))
    path = ctx.names.pick(("path", "candidate", "joined"))
    fn = ctx.names.function(ctx.entity.noun + "_path", ("safe", "resolve", "locate"))
    body: list[Line] = [
        indent(1, f"{root} = os.path.realpath({base})"),
        indent(1, f"{path} = os.path.realpath(os.path.join({root}, {name}))"),
        indent(1, f"if os.path.commonpath([{root}, {path}]) != {root}:"),
        indent(2, f'raise ValueError("{name} is outside {base}")'),
        indent(1, f"return {path}"),
    ]
    return Part(function(ctx, fn, [name], body), {"import os"}, [const])


def decoy_summary(ctx: Context) -> Part:
    count = ctx.names.pick(("count", "total", "n"))
    label = ctx.names.pick(("label", "title", "heading"))
    fn = ctx.names.function(ctx.entity.noun + "_summary", ("format", "describe", "render"))
    body: list[Line] = [
        indent(1, f'return f"{{{label}}}: {{{count}}} {ctx.entity.table}"'),
    ]
    return Part(function(ctx, fn, [count, label], body))


def decoy_password_policy(ctx: Context) -> Part:
    const = ctx.names.constant(("password_min_length", "min_password_length"))
    candidate = ctx.names.pick(("candidate", "new_password", "proposed"))
    fn = ctx.names.function("password", ("is_strong", "check", "accept"))
    body: list[Line] = [
        indent(1, f"if len({candidate}) < {const}:"),
        indent(2, "return False"),
        indent(1, f"return any(ch.isdigit() for ch in {candidate})"),
    ]
    constants: list[Line] = [f"{const} = {ctx.rng.choice((10, 12, 14, 16))}"]
    return Part(function(ctx, fn, [candidate], body), constants=constants)


def decoy_json(ctx: Context) -> Part:
    record = ctx.names.pick(("record", "row", "fields"))
    fn = ctx.names.function(ctx.entity.noun + "_json", ("render", "dump", "encode"))
    body: list[Line] = [indent(1, f"return json.dumps({record}, sort_keys=True, default=str)")]
    return Part(function(ctx, fn, [record], body), {"import json"})


def decoy_signature(ctx: Context) -> Part:
    body_arg = ctx.names.pick(("body", "payload", "content"))
    signature = ctx.names.pick(("signature", "sig", "claimed"))
    key = ctx.names.pick(("key", "secret_key", "mac_key"))
    digest = ctx.names.pick(("digest", "expected_sig", "computed"))
    env = f"{ctx.app.upper()}_WEBHOOK_SECRET"
    fn = ctx.names.function("signature", ("verify", "check", "valid"))
    body: list[Line] = [
        indent(1, f'{key} = os.environ["{env}"].encode()'),
        indent(1, f"{digest} = hmac.new({key}, {body_arg}, hashlib.sha256).hexdigest()"),
        indent(1, f"return hmac.compare_digest({digest}, {signature})"),
    ]
    imports = {"import os", "import hmac", "import hashlib"}
    return Part(function(ctx, fn, [body_arg, signature], body), imports)


def decoy_connect(ctx: Context) -> Part:
    const = ctx.names.constant(("db_path", "database_file", "sqlite_path"))
    fn = ctx.names.function("database", ("open", "connect", "get"))
    body: list[Line] = [indent(1, f"return sqlite3.connect({const}, timeout=5)")]
    constants: list[Line] = [f'{const} = "/var/lib/{ctx.app}/{ctx.app}.db"']
    return Part(function(ctx, fn, [], body), {"import sqlite3"}, constants)


COMPANIONS: dict[str, Template] = {
    "import json": decoy_json,
    "import pickle": decoy_fingerprint,
    "import hmac": decoy_signature,
    "import subprocess": decoy_git_revision,
    "import os": decoy_env_secret,
}
"""A decoy that uses each module that a flaw or its fix may use alone: added when only one
twin would use the module, so that an import left unused in one twin gives nothing away."""

DECOYS: tuple[Template, ...] = (
    decoy_json,
    decoy_signature,
    decoy_connect,
    decoy_count_query,
    decoy_git_revision,
    decoy_config,
    decoy_fingerprint,
    decoy_valid_name,
    decoy_offset,
    decoy_env_secret,
    decoy_safe_path,
    decoy_summary,
    decoy_password_policy,
)
