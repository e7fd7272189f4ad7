"""Hand-written report pairs for the near-duplicate tests, in the styles AI reviewers and
scanners write: the same bug told twice in other words, and different bugs in one project.

`SAME` pairs are one bug in two reports (the title reworded, the description rephrased,
details added or left out); `LIGHT` marks pairs that differ only as two runs of one tool
would (a word or two, line numbers). `DIFFERENT` pairs are two bugs in one repository or
package, several of them of the same class (two SQL injections, two path traversals), which
is where text similarity is most easily fooled.
"""

from __future__ import annotations

from typing import NamedTuple


class Report(NamedTuple):
    title: str
    description: str
    code: str | None = None


SQLI_GET_USER = "cursor.execute(f\"SELECT * FROM users WHERE name = '{username}'\")"
DOWNLOAD = 'return send_file(os.path.join(UPLOAD_DIR, request.args["filename"]))'
PING = 'subprocess.run(f"ping -c 1 {host}", shell=True, check=False)'
PICKLE = 'return pickle.loads(base64.b64decode(request.cookies["session"]))'
SECRET = 'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"'
XSS_SEARCH = 'return render_template("search.html", query=Markup(request.args.get("q", "")))'
SSRF_WEBHOOK = 'resp = requests.get(payload["url"], timeout=5)\nreturn resp.text'
MD5 = "user.password_hash = hashlib.md5(password.encode()).hexdigest()"
XXE = (
    "DocumentBuilder builder = DocumentBuilderFactory.newInstance().newDocumentBuilder();\n"
    "Document doc = builder.parse(upload.getInputStream());"
)
REDOS = "const EMAIL_RE = /^([a-zA-Z0-9]+)*@example\\.com$/;"
STRCPY = "char host[64];\nstrcpy(host, hdr->value);"

SAME: list[tuple[str, Report, Report]] = [
    (
        "sql injection",
        Report(
            "SQL injection in get_user() via username parameter",
            "The get_user function in app/db.py builds an SQL query by formatting the username "
            "request parameter directly into the query string. An attacker can inject "
            "arbitrary SQL and read or modify any row in the users table. Use a parameterized "
            "query instead.",
            SQLI_GET_USER,
        ),
        Report(
            "Unsanitized username concatenated into SQL query in get_user",
            "User-controlled input from the `username` parameter reaches cursor.execute() in "
            "get_user (app/db.py, line 88) without sanitization. Because the query string is "
            "built with an f-string, an attacker can inject SQL to read or modify the users "
            "table. Use parameterized queries.",
            SQLI_GET_USER,
        ),
    ),
    (
        "path traversal",
        Report(
            "Path traversal in download endpoint",
            "The /download route joins the user-supplied filename query parameter to "
            "UPLOAD_DIR with os.path.join and opens the result without checking that it stays "
            "inside UPLOAD_DIR. A request with filename=../../etc/passwd reads arbitrary files.",
            DOWNLOAD,
        ),
        Report(
            "Arbitrary file read through ../ sequences in /download",
            "The download handler passes request.args['filename'] to os.path.join(UPLOAD_DIR, "
            "...) and then send_file. Nothing prevents ../ sequences, so an unauthenticated "
            "attacker can read files outside UPLOAD_DIR such as /etc/passwd.",
            DOWNLOAD,
        ),
    ),
    (
        "command injection",
        Report(
            "OS command injection in ping utility",
            "The ping view passes the host form field to subprocess.run with shell=True. An "
            "attacker can append shell metacharacters such as ; or && to execute arbitrary "
            "commands on the server.",
            PING,
        ),
        Report(
            "Command injection via host parameter in ping view (shell=True)",
            "In the ping view, the host value from the form is interpolated into a shell "
            "command run by subprocess.run(..., shell=True). Shell metacharacters like ; and "
            "&& let an attacker execute arbitrary commands on the server.",
            PING,
        ),
    ),
    (
        "pickle",
        Report(
            "Unsafe deserialization of session cookie with pickle",
            "load_session() decodes the session cookie from base64 and passes it to "
            "pickle.loads. Since the cookie is controlled by the client, an attacker can craft "
            "a pickle payload that executes arbitrary code during deserialization.",
            PICKLE,
        ),
        Report(
            "Remote code execution through pickle.loads on the session cookie",
            "The load_session helper base64-decodes the client-supplied session cookie and "
            "calls pickle.loads on it. A crafted pickle payload executes arbitrary code on the "
            "server when deserialized. Sign the cookie or use JSON.",
            PICKLE,
        ),
    ),
    (
        "hardcoded secret (light)",
        Report(
            "Hardcoded AWS secret access key in settings.py",
            "settings.py contains a hardcoded AWS secret access key assigned to "
            "AWS_SECRET_ACCESS_KEY. Anyone with access to the repository can use it to access "
            "the AWS account. Rotate the key and load it from the environment.",
            SECRET,
        ),
        Report(
            "Hard-coded AWS secret access key in settings.py",
            "A hard-coded AWS secret access key is assigned to AWS_SECRET_ACCESS_KEY in "
            "settings.py. Anyone with access to the repository can use this key to access the "
            "AWS account. Rotate the key and load it from the environment.",
            SECRET,
        ),
    ),
    (
        "reflected xss",
        Report(
            "Reflected XSS in search page",
            "The search view inserts the q query parameter into the HTML response with "
            "Markup() which disables Jinja2 autoescaping. An attacker can craft a link that "
            "runs JavaScript in the victim's browser.",
            XSS_SEARCH,
        ),
        Report(
            "Cross-site scripting: search query rendered unescaped via Markup",
            "request.args['q'] is wrapped in markupsafe.Markup before being passed to "
            "search.html, so Jinja2 does not escape it. A malicious link containing <script> "
            "tags executes JavaScript in the context of the victim's session.",
            XSS_SEARCH,
        ),
    ),
    (
        "ssrf",
        Report(
            "Server-side request forgery in webhook preview",
            "The preview_webhook endpoint fetches the url field from the JSON body with "
            "requests.get and returns the response. There is no allowlist, so an attacker can "
            "make the server request internal services such as the cloud metadata endpoint "
            "at 169.254.169.254.",
            SSRF_WEBHOOK,
        ),
        Report(
            "SSRF: preview_webhook fetches arbitrary user-supplied URLs",
            "preview_webhook calls requests.get on payload['url'] taken from the request body "
            "and returns the response body to the caller. Without validation of the "
            "destination an attacker can reach internal services, for example the cloud "
            "metadata service at 169.254.169.254.",
            SSRF_WEBHOOK,
        ),
    ),
    (
        "md5 passwords",
        Report(
            "Passwords hashed with unsalted MD5",
            "create_user stores hashlib.md5(password).hexdigest() as the password hash. MD5 "
            "is fast and unsalted, so leaked hashes can be cracked quickly with rainbow "
            "tables. Use a password hashing function such as argon2 or bcrypt.",
            MD5,
        ),
        Report(
            "Weak password storage: create_user uses MD5 without salt",
            "In create_user the password is hashed with hashlib.md5 and no salt before being "
            "saved. Unsalted MD5 hashes can be cracked quickly using rainbow tables if the "
            "database leaks. Switch to bcrypt or argon2.",
            MD5,
        ),
    ),
    (
        "xxe",
        Report(
            "XML external entity injection in InvoiceParser",
            "InvoiceParser.parse creates a DocumentBuilderFactory without disabling DOCTYPE "
            "declarations or external entities, then parses the uploaded invoice. An attacker "
            "can upload an XML file with an external entity to read local files or perform "
            "SSRF.",
            XXE,
        ),
        Report(
            "XXE in InvoiceParser.parse: external entities not disabled",
            "The DocumentBuilderFactory used by InvoiceParser.parse is created with default "
            "settings, which resolve external entities. Parsing an attacker-uploaded invoice "
            "XML containing an external entity discloses local files or triggers server-side "
            "requests. Set disallow-doctype-decl to true.",
            XXE,
        ),
    ),
    (
        "redos",
        Report(
            "Regular expression denial of service in email validator",
            "The validateEmail function uses the regex /^([a-zA-Z0-9]+)*@example\\.com$/ "
            "which has nested quantifiers. A crafted long input causes catastrophic "
            "backtracking and blocks the Node.js event loop.",
            REDOS,
        ),
        Report(
            "ReDoS: catastrophic backtracking in validateEmail regex",
            "validateEmail tests input against /^([a-zA-Z0-9]+)*@example\\.com$/. The nested "
            "quantifier ([a-zA-Z0-9]+)* backtracks exponentially on a long string that does "
            "not match, so an attacker can block the event loop with one request.",
            REDOS,
        ),
    ),
    (
        "missing authorization (no code)",
        Report(
            "Missing authorization check on DELETE /api/projects/{id}",
            "The delete_project handler only checks that the caller is authenticated. It "
            "never verifies that the caller owns the project or is an admin, so any logged-in "
            "user can delete any project by id.",
        ),
        Report(
            "Broken access control: any authenticated user can delete other users' projects",
            "DELETE /api/projects/{id} (delete_project) requires a login but performs no "
            "ownership or admin check, letting any authenticated user delete projects "
            "belonging to others.",
        ),
    ),
    (
        "stack overflow",
        Report(
            "Stack buffer overflow in parse_header via strcpy",
            "parse_header copies the Host header value into the 64-byte stack buffer host "
            "with strcpy without checking its length. A request with a long Host header "
            "overflows the buffer and can lead to code execution.",
            STRCPY,
        ),
        Report(
            "strcpy into fixed-size buffer in parse_header overflows the stack",
            "In parse_header the Host header value is copied with strcpy into char host[64] "
            "without a length check. An overly long Host header overflows the stack buffer, "
            "which can allow remote code execution.",
            STRCPY,
        ),
    ),
    (
        "open redirect (light)",
        Report(
            "Open redirect in normalize_path_middleware",
            "A maliciously crafted link to an aiohttp-based web server could redirect the "
            "browser to a different website. It is caused by a bug in the "
            "aiohttp.web_middlewares.normalize_path_middleware middleware. Fixed in 3.7.4.",
        ),
        Report(
            "Open redirect vulnerability in aiohttp normalize_path_middleware",
            "Open redirect: a maliciously crafted link to an aiohttp-based web server could "
            "redirect the browser to a different website. The bug is in the "
            "aiohttp.web_middlewares.normalize_path_middleware middleware; it is fixed in "
            "aiohttp 3.7.4.",
        ),
    ),
    (
        "sql injection re-run (light)",
        Report(
            "SQL injection in get_user() via username parameter",
            "The get_user function in app/db.py (line 88) builds an SQL query by formatting the "
            "username request parameter directly into the query string. An attacker can "
            "inject arbitrary SQL and read or modify any row in the users table.",
            SQLI_GET_USER,
        ),
        Report(
            "SQL injection in get_user via the username parameter",
            "The get_user function in app/db.py (line 91) builds a SQL query by formatting the "
            "username request parameter directly into the query string. An attacker can "
            "inject arbitrary SQL and read or modify any rows of the users table.",
            SQLI_GET_USER,
        ),
    ),
]

LIGHT = {"hardcoded secret (light)", "open redirect (light)", "sql injection re-run (light)"}

DIFFERENT: list[tuple[str, Report, Report]] = [
    (
        "two sql injections",
        SAME[0][1],
        Report(
            "SQL injection in search_posts() via the q parameter",
            "The search_posts function in app/db.py builds an SQL LIKE clause by formatting "
            "the q request parameter into the query string. An attacker can inject arbitrary "
            "SQL and read any row in the posts table. Use a parameterized query instead.",
            "cursor.execute(f\"SELECT * FROM posts WHERE body LIKE '%{q}%'\")",
        ),
    ),
    (
        "two path traversals",
        SAME[1][1],
        Report(
            "Zip slip in import_archive",
            "import_archive extracts every member of the uploaded zip file with "
            "ZipFile.extractall into UPLOAD_DIR. Member names containing ../ are not rejected, "
            "so a crafted archive writes files outside UPLOAD_DIR and can overwrite code.",
            "with zipfile.ZipFile(upload) as archive:\n    archive.extractall(UPLOAD_DIR)",
        ),
    ),
    (
        "two cross-site scriptings",
        SAME[5][1],
        Report(
            "Stored XSS in comment rendering",
            "Comments are saved as submitted and rendered in post.html with the |safe filter, "
            "so a comment containing a <script> tag runs JavaScript in the browser of every "
            "visitor who views the post.",
            "{{ comment.body | safe }}",
        ),
    ),
    (
        "two command injections",
        SAME[2][1],
        Report(
            "Command injection in backup job through the archive name",
            "run_backup builds a tar command line from the archive_name setting and runs it "
            "with os.system. An administrator-controlled value containing $(...) runs "
            "arbitrary commands as the worker user.",
            'os.system(f"tar czf /backups/{archive_name}.tgz /srv/data")',
        ),
    ),
    (
        "sql injection and hardcoded secret",
        SAME[0][1],
        SAME[4][1],
    ),
    (
        "pickle and yaml deserialization",
        SAME[3][1],
        Report(
            "Unsafe YAML loading of uploaded configuration",
            "import_config calls yaml.load on the uploaded file with the full Loader. A YAML "
            "document with a !!python/object tag constructs arbitrary Python objects and can "
            "execute code.",
            "config = yaml.load(upload.read(), Loader=yaml.Loader)",
        ),
    ),
    (
        "two ssrfs",
        SAME[6][1],
        Report(
            "SSRF through avatar URL import",
            "set_avatar downloads the image at the avatar_url profile field with urllib and "
            "stores it. The host is not checked, so a user can make the server fetch "
            "http://localhost:8080/admin and see the response size in the error message.",
            "data = urllib.request.urlopen(profile.avatar_url).read()",
        ),
    ),
    (
        "md5 passwords and weak token",
        SAME[7][1],
        Report(
            "Password reset tokens generated with random.random",
            "create_reset_token derives the reset token from random.random(), which is not a "
            "cryptographically secure generator. An attacker who observes a few tokens can "
            "predict the next ones and take over accounts. Use secrets.token_urlsafe.",
            "token = str(random.random())[2:]",
        ),
    ),
    (
        "two missing authorizations",
        SAME[10][1],
        Report(
            "Missing authorization check on GET /api/projects/{id}/export",
            "export_project returns the full project archive to any authenticated user. It "
            "does not check project membership, so users can download other teams' data.",
        ),
    ),
    (
        "buffer overflow and integer overflow",
        SAME[11][1],
        Report(
            "Integer overflow in parse_chunk length calculation",
            "parse_chunk adds the chunk size from the request to the current offset in a "
            "32-bit int. A huge chunk size wraps around, the bounds check passes, and the "
            "following memcpy writes past the end of the heap buffer.",
            "int end = offset + chunk_size;\nif (end <= buf_len) memcpy(buf + offset, src, "
            "chunk_size);",
        ),
    ),
    (
        "two redos",
        SAME[9][1],
        Report(
            "Regular expression denial of service in URL validator",
            "isValidUrl matches input against /^(https?:\\/\\/)?([\\w.-]+)+(:\\d+)?$/. The "
            "nested quantifier causes catastrophic backtracking on long hostnames, blocking "
            "the event loop.",
            "const URL_RE = /^(https?:\\/\\/)?([\\w.-]+)+(:\\d+)?$/;",
        ),
    ),
    (
        "xxe and sql injection",
        SAME[8][1],
        SAME[0][2],
    ),
]
