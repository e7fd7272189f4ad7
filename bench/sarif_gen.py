"""Large SARIF logs shaped like real CodeQL output, with planted duplicates and their truth.

Run: .venv/bin/python bench/sarif_gen.py STEM [--results N] [--logs L] [--exact S]
     [--moved S] [--near S] [--seed K] [--no-artifacts]
Writes STEM.0.sarif ... STEM.<L-1>.sarif and STEM.truth.json; `bench/intake.py` uses it as a
module.

The N results are split in order into L logs of equal size (default 2: two reporters who
scanned the same repository). Each log has one run of one tool (CodeQL 2.15) over one
repository (``versionControlProvenance``), 32 Python security rules with their CWE tags,
an ``artifacts`` table (one source file per 50 results; left out with ``--no-artifacts``,
as Semgrep leaves it out), and results that each carry a
message naming the function and variables involved, a primary location with its
five-line ``contextRegion`` snippet, a related location (the taint source) for taint
rules, and CodeQL's two partial fingerprints. Every result is an *original* (a bug of its
own) or a planted duplicate of an earlier original, drawn with the given shares:

- ``exact``: the original result again, byte for byte (same partial fingerprints);
- ``moved``: the same code in the same file, 5 to 200 lines further down, without
  fingerprints (a re-scan after code moved, by a tool that computes none);
- ``near``: the same bug in the same file told in other words (another of the rule's three
  message wordings, same identifiers), the start line 0 to 2 lines away, without
  fingerprints (a second reporter's account), and a code snippet that differs by one line
  (else the computed exact key would match): one of three variants, equally likely,
  ``b``elow (one more line after), ``a``bove (one more line before: the ``def``), or
  ``s``hifted (one line down: the first line gone, the next one added).

Exact and moved duplicates copy any earlier original, in their own log or an earlier one.
A near duplicate copies an original of an earlier log only: intake never near-merges two
results of one log (one scan that reports two results says they are two), so the first
log has none, and its near draws become originals.

The truth file holds, per result in order across the logs, its kind (``o``riginal,
``e``xact, ``m``oved, ``n``ear), the index of the original it duplicates (-1 for
originals), for near duplicates the snippet variant (``-`` for the others), and the index
of each log's first result. Everything is a function of the seed and the result's index,
so logs are reproducible and the generator holds no more than the list of originals.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import hashlib
import json
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

REPOSITORY = "https://github.com/acme-retail/storefront-api"
TOOL = {"name": "CodeQL", "organization": "GitHub", "semanticVersion": "2.15.3"}
SRCROOT = "%SRCROOT%"
INFORMATION_URI = "https://codeql.github.com"
RESULTS_PER_FILE = 50  # results per source file, on average

# --- vocabulary ------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


VERBS = _words(
    "get load fetch find read parse build render create update delete save store export import "
    "sync handle process resolve validate check apply send post upload download merge list "
    "search filter sort compute refresh register issue revoke reset confirm approve archive "
    "restore schedule notify publish"
)
NOUNS = _words(
    "user account order invoice payment cart item product customer address session token "
    "report profile avatar document file image comment review coupon refund shipment "
    "warehouse stock price tax discount subscription plan webhook event message ticket "
    "category tag note attachment backup config setting template page widget audit export "
    "job task queue batch ledger vendor partner tenant team role permission group badge"
)
SUFFIXES = _words("id name path url data value input param key query body text ref code slug")
TABLES = _words("users orders invoices payments products customers sessions reports tickets")
PACKAGES = _words(
    "api billing catalog checkout accounts orders inventory shipping reports admin auth "
    "notifications search payments integrations webhooks storage analytics"
)
SUBPACKAGES = _words("views handlers services models utils tasks forms serializers routes")
SOURCES = (
    'request.args.get("{param}")',
    'request.form["{param}"]',
    'request.GET.get("{param}", "")',
    'request.json.get("{param}")',
    'self.request.query_params["{param}"]',
    'request.headers.get("X-{Param}")',
    'request.cookies.get("{param}")',
)
FILLERS = (
    'logger.debug("{verb} %s", {var})',
    "{obj}_cache.invalidate({var})",
    'metrics.increment("{verb}_{obj}")',
    "{obj} = {obj}_service.current()",
    "if not {var}:",
    'audit.record("{verb}", {obj})',
    "{obj}_count = len({obj}_list)",
    "db.session.commit()",
)
NEXT_LINES = (
    '@app.route("/{obj}/<{param}>")',
    "@login_required",
    "def {verb}_{obj}_view(request):",
    "    return {obj}",
    "class {Obj}Handler(BaseHandler):",
)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    cwes: tuple[int, ...]
    sink: str  # one line of Python with {var}, {obj}, {field}, {table}
    phrase: str  # the sink ("SQL query") for taint rules, the problem for the others
    taint: bool
    severity: str  # CodeQL's security-severity
    weight: int  # how common the rule is


RULES = (
    Rule("py/sql-injection", "Database query built from user-controlled sources", (89,),
         'cursor.execute("SELECT {field} FROM {table} WHERE id = \'%s\'" % {var})',
         "SQL query", True, "8.8", 9),
    Rule("py/command-line-injection", "Uncontrolled command line", (78, 88),
         'subprocess.call("convert " + {var} + " out.png", shell=True)',
         "shell command", True, "9.8", 5),
    Rule("py/path-injection", "Uncontrolled data used in path expression", (22, 23, 36, 73, 99),
         'with open(os.path.join(settings.MEDIA_ROOT, {var}), "rb") as {obj}_file:',
         "file path", True, "7.5", 9),
    Rule("py/reflective-xss", "Reflected server-side cross-site scripting", (79, 116),
         'return make_response("<p>{field}: " + {var} + "</p>")',
         "HTML response", True, "6.1", 8),
    Rule("py/code-injection", "Code injection", (94, 95, 116),
         "{obj}_result = eval({var})", "evaluated expression", True, "9.3", 2),
    Rule("py/unsafe-deserialization", "Deserialization of user-controlled data", (502,),
         "{obj} = pickle.loads(base64.b64decode({var}))",
         "deserialized object", True, "9.8", 3),
    Rule("py/url-redirection", "URL redirection from remote source", (601,),
         "return redirect({var})", "redirect target", True, "6.1", 5),
    Rule("py/full-ssrf", "Full server-side request forgery", (918,),
         'resp = requests.get("https://" + {var} + "/api/{field}")',
         "outgoing request URL", True, "9.1", 3),
    Rule("py/xxe", "XML external entity expansion", (611, 827),
         "{obj}_tree = lxml.etree.fromstring({var}, parser=unsafe_parser)",
         "XML document", True, "9.1", 1),
    Rule("py/xpath-injection", "XPath query built from user-controlled sources", (643,),
         '{obj}_nodes = root.xpath("//{field}[@name=\'" + {var} + "\']")',
         "XPath expression", True, "9.8", 1),
    Rule("py/ldap-injection", "LDAP query built from user-controlled sources", (90,),
         'conn.search_s(BASE_DN, ldap.SCOPE_SUBTREE, "(uid=" + {var} + ")")',
         "LDAP filter", True, "9.8", 1),
    Rule("py/regex-injection", "Regular expression injection", (730, 400),
         "{obj}_match = re.search({var}, {field}_text)", "regular expression", True, "7.5", 2),
    Rule("py/log-injection", "Log Injection", (117,),
         'logger.info("{field} changed by %s", {var})', "log entry", True, "7.8", 7),
    Rule("py/http-response-splitting", "HTTP Response Splitting", (113, 79),
         'response.headers["X-{Field}"] = {var}', "response header", True, "6.1", 2),
    Rule("py/nosql-injection", "NoSQL Injection", (943,),
         '{obj}_docs = db.{table}.find({{"$where": {var}}})', "NoSQL query", True, "8.8", 2),
    Rule("py/template-injection", "Server Side Template Injection", (74,),
         "return Template({var}).render({field}={obj})", "template", True, "9.3", 2),
    Rule("py/tarslip", "Arbitrary file write during tarfile extraction", (22,),
         "tarfile.open({var}).extractall(settings.UPLOAD_DIR)", "archive path", True, "7.5", 1),
    Rule("py/cookie-injection", "Construction of a cookie using user-supplied input", (20,),
         'response.set_cookie("{field}", {var})', "cookie", True, "5.0", 2),
    Rule("py/weak-sensitive-data-hashing",
         "Use of a broken or weak cryptographic hashing algorithm on sensitive data",
         (327, 328, 916), "{obj}_digest = hashlib.md5({var}.encode()).hexdigest()",
         "a password is hashed with MD5, a fast and broken algorithm", False, "7.5", 5),
    Rule("py/weak-cryptographic-algorithm", "Use of a broken or weak cryptographic algorithm",
         (327,), "{obj}_cipher = DES.new({var}, DES.MODE_ECB)",
         "data is encrypted with DES in ECB mode", False, "7.5", 2),
    Rule("py/clear-text-logging-sensitive-data", "Clear-text logging of sensitive information",
         (312, 359, 532), 'logger.warning("{field} password: %s", {var})',
         "a password is written to the log in clear text", False, "7.5", 6),
    Rule("py/clear-text-storage-sensitive-data", "Clear-text storage of sensitive information",
         (312, 315, 359), "{obj}_file.write({var})",
         "a secret is stored on disk in clear text", False, "7.5", 3),
    Rule("py/stack-trace-exposure", "Information exposure through an exception", (209, 497),
         "return jsonify({field}=traceback.format_exc(), {obj}={var})",
         "a stack trace reaches the user", False, "5.4", 5),
    Rule("py/request-without-cert-validation", "Request without certificate validation", (295,),
         "resp = requests.post({var}, json={obj}, verify=False)",
         "TLS certificates are not checked", False, "7.5", 4),
    Rule("py/hardcoded-credentials", "Hard-coded credentials", (259, 321, 798),
         '{obj}_client.login(username="{field}", password={var})',
         "a password is written into the source", False, "9.8", 3),
    Rule("py/insecure-temporary-file", "Insecure temporary file", (377,),
         '{var} = tempfile.mktemp(suffix=".{field}")',
         "a temporary file name is predictable", False, "7.0", 2),
    Rule("py/overly-permissive-file", "Overly permissive file permissions", (732,),
         "os.chmod({var}, 0o777)", "a file is made writable by everyone", False, "7.8", 2),
    Rule("py/flask-debug", "Flask app is run in debug mode", (215, 489),
         "{obj}_app.run(host={var}, debug=True)",
         "the Flask debugger is on, which runs any code", False, "7.5", 1),
    Rule("py/paramiko-missing-host-key-validation", "Accepting unknown SSH host keys",
         (295,), "{obj}_ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # {var}",
         "unknown SSH host keys are accepted", False, "7.5", 1),
    Rule("py/csrf-protection-disabled", "CSRF protection weakened or disabled", (352,),
         '{obj}_app.config["WTF_CSRF_ENABLED"] = {var}',
         "CSRF protection is turned off", False, "8.8", 1),
    Rule("py/polynomial-redos", "Polynomial regular expression used on uncontrolled data",
         (1333, 730, 400), '{obj}_ok = re.match(r"^(\\w+\\s?)*$", {var})',
         "a regular expression can take polynomial time", True, "7.5", 3),
    Rule("py/insecure-protocol", "Use of insecure SSL/TLS version", (327,),
         "{obj}_sock = ssl.wrap_socket({var}, ssl_version=ssl.PROTOCOL_TLSv1)",
         "TLS 1.0 is allowed", False, "7.5", 1),
)  # fmt: skip

TAINT_WORDINGS = (
    "This {phrase} depends on a [user-provided value](1) from `{source}` in `{func}`.",
    "`{func}` passes `{var}`, which comes from `{source}` and is controlled by the user, "
    "into a {phrase} without sanitizing it.",
    "User input `{source}` reaches a {phrase} unchecked in `{func}`; an attacker controls "
    "`{var}` there.",
)
OTHER_WORDINGS = (
    "In `{func}`, {phrase} (`{var}`).",
    "`{func}` is flagged because {phrase}: see how `{var}` is handled.",
    "The code around `{var}` in `{func}` means {phrase}, weakening the service.",
)
_CUMULATIVE = []
_total = 0
for _rule in RULES:
    _total += _rule.weight
    _CUMULATIVE.append(_total)


# --- one result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Original:
    """Everything a planted duplicate needs to restate an original."""

    rule_index: int
    file_index: int
    line: int
    column: int
    wording: int
    names: dict[str, str]
    lines: tuple[str, ...]  # the code from two lines above the sink to two below, plus one
    line_hash: str


def _name(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"


def _var(rng: random.Random) -> str:
    return f"{rng.choice(NOUNS)}_{rng.choice(SUFFIXES)}"


def original(seed: int, index: int, files: int) -> Original:
    rng = random.Random(seed * 1_000_003 + index)
    rule_index = bisect.bisect_right(_CUMULATIVE, rng.randrange(_total))
    rule = RULES[rule_index]
    obj, verb = rng.choice(NOUNS), rng.choice(VERBS)
    param = _var(rng)
    names = {
        "func": _name(rng) + (f"_{rng.choice(NOUNS)}" if rng.random() < 0.5 else ""),
        "var": _var(rng),
        "param": param,
        "Param": param.title().replace("_", "-"),
        "obj": obj,
        "Obj": obj.title(),
        "verb": verb,
        "field": rng.choice(NOUNS) + "_" + rng.choice(SUFFIXES),
        "Field": rng.choice(NOUNS).title(),
        "table": rng.choice(TABLES),
    }
    names["source"] = rng.choice(SOURCES).format(**names)
    sink = rule.sink.format(**names)
    code = (
        f"def {names['func']}(request, {obj}_id):",
        f"    {names['var']} = {names['source']}",
        "    " + rng.choice(FILLERS).format(**names),
        "    " + sink,
        "    " + rng.choice(FILLERS).format(**names),
        "    return " + (f"{obj}_response" if rng.random() < 0.5 else f"render({obj})"),
        rng.choice(NEXT_LINES).format(**names),
    )
    # The sink is the fourth line of the function; the snippet shows lines 2 to 6.
    line = rng.randrange(12, 2400)
    column = 5
    line_hash = hashlib.blake2b(f"{seed}:{index}:{sink}".encode(), digest_size=8).hexdigest()
    return Original(
        rule_index=rule_index,
        file_index=rng.randrange(files),
        line=line,
        column=column,
        wording=rng.randrange(3),
        names=names,
        lines=code,
        line_hash=line_hash,
    )


def _message(o: Original, wording: int) -> str:
    rule = RULES[o.rule_index]
    template = (TAINT_WORDINGS if rule.taint else OTHER_WORDINGS)[wording]
    return template.format(phrase=rule.phrase, **o.names)


# The snippet of each near-duplicate variant: (first code line, number of lines).
NEAR_VARIANTS = {"b": (1, 6), "a": (0, 6), "s": (2, 5)}


def result_of(
    o: Original,
    paths: list[str],
    kind: str,
    rng: random.Random,
    variant: str = "-",
    *,
    artifacts: bool = True,
) -> dict[str, Any]:
    """The SARIF result for an original (``kind`` "o" or "e") or a duplicate of it;
    `artifacts`: whether locations point into the run's ``artifacts`` table too."""
    rule = RULES[o.rule_index]
    path = paths[o.file_index]
    where: dict[str, Any] = {"uri": path, "uriBaseId": SRCROOT}
    if artifacts:
        where["index"] = o.file_index
    line, wording, first, count = o.line, o.wording, 1, 5  # the snippet: code lines 1..5
    if kind == "m":
        line += rng.randrange(5, 201)
    elif kind == "n":
        line += rng.randrange(0, 3)
        wording = (wording + rng.randrange(1, 3)) % 3
        first, count = NEAR_VARIANTS[variant]
    snippet = "\n".join(o.lines[first : first + count]) + "\n"
    sink_line = o.lines[3]
    location = {
        "physicalLocation": {
            "artifactLocation": where,
            "region": {
                "startLine": line,
                "startColumn": o.column,
                "endColumn": len(sink_line) + 1,
            },
            "contextRegion": {
                "startLine": line - 3 + first,
                "endLine": line - 4 + first + count,
                "snippet": {"text": snippet},
            },
        }
    }
    result: dict[str, Any] = {
        "ruleId": rule.id,
        "ruleIndex": o.rule_index,
        "rule": {"id": rule.id, "index": o.rule_index},
        "message": {"text": _message(o, wording)},
        "locations": [location],
    }
    if kind in ("o", "e"):
        result["partialFingerprints"] = {
            "primaryLocationLineHash": f"{o.line_hash}:1",
            "primaryLocationStartColumnFingerprint": str(o.column - 1),
        }
    if rule.taint:
        source_line = o.lines[1]
        result["relatedLocations"] = [
            {
                "id": 1,
                "physicalLocation": {
                    "artifactLocation": dict(where),
                    "region": {
                        "startLine": line - 2,
                        "startColumn": source_line.index("=") + 3,
                        "endColumn": len(source_line) + 1,
                    },
                },
                "message": {"text": "user-provided value"},
            }
        ]
    return result


# --- the log -------------------------------------------------------------------------------------


@dataclass
class Truth:
    """Which result duplicates which, and how the log was made."""

    seed: int
    results: int
    shares: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)
    kinds: str = ""  # one letter per result: o, e, m, n
    of: list[int] = field(default_factory=list)  # the original's index, -1 for originals
    variants: str = ""  # per result: the near-duplicate snippet variant (b, a, s), else "-"
    starts: list[int] = field(default_factory=list)  # the first result of each log

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Truth:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def file_paths(seed: int, files: int) -> list[str]:
    rng = random.Random(seed)
    paths: dict[str, None] = {}
    while len(paths) < files:
        module = rng.choice(NOUNS) + ("_" + rng.choice(SUBPACKAGES) if rng.random() < 0.3 else "")
        parts = ["src", "storefront", rng.choice(PACKAGES), rng.choice(SUBPACKAGES)]
        if rng.random() < 0.4:
            parts.append(rng.choice(NOUNS))
        paths["/".join([*parts, module + ".py"])] = None
    return list(paths)


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "name": rule.id,
            "shortDescription": {"text": rule.name},
            "fullDescription": {
                "text": f"{rule.name}: CodeQL reports it when {rule.phrase} "
                "is reached by data an attacker may control or is configured unsafely."
            },
            "defaultConfiguration": {"enabled": True, "level": "error"},
            "help": {"text": f"# {rule.name}\n\nSee the CWE entries listed in the tags."},
            "properties": {
                "tags": [
                    "security",
                    *(f"external/cwe/cwe-{cwe:03d}" for cwe in rule.cwes),
                ],
                "description": rule.name,
                "id": rule.id,
                "kind": "path-problem" if rule.taint else "problem",
                "name": rule.name,
                "precision": "high",
                "problem.severity": "error",
                "security-severity": rule.severity,
            },
        }
        for rule in RULES
    ]


def plan(
    seed: int, results: int, shares: dict[str, float], starts: list[int]
) -> Iterator[tuple[str, int]]:
    """(kind, original index) per result. Exact and moved duplicates copy any earlier
    original; near duplicates only an original of an earlier log (`starts`: the first
    index of each log), as a log's own results never near-merge each other. A draw that
    finds no original to copy makes an original."""
    rng = random.Random(seed ^ 0x5EED)
    originals: list[int] = []
    before_log = 0  # originals in earlier logs
    edges = [("e", shares["exact"]), ("m", shares["moved"]), ("n", shares["near"])]
    for index in range(results):
        if index in starts:
            before_log = len(originals)
        draw = rng.random()
        kind = "o"
        for letter, share in edges:
            if draw < share:
                kind = letter
                break
            draw -= share
        pool = before_log if kind == "n" else len(originals)
        if kind == "o" or not pool:
            originals.append(index)
            yield "o", -1
        else:
            yield kind, originals[rng.randrange(pool)]


def _envelope(seed: int, paths: list[str], log: int, artifacts: bool) -> dict[str, Any]:
    envelope = {
        "tool": {"driver": {**TOOL, "informationUri": INFORMATION_URI, "rules": _rules()}},
        "versionControlProvenance": [
            {
                "repositoryUri": REPOSITORY,
                "revisionId": hashlib.sha1(f"{seed}:{log}".encode()).hexdigest(),
                "branch": "refs/heads/main",
            }
        ],
        "automationDetails": {"id": f"analyze/language:python/{log}"},
        "artifacts": [
            {"location": {"uri": path, "uriBaseId": SRCROOT, "index": position}}
            for position, path in enumerate(paths)
        ],
        "columnKind": "utf16CodeUnits",
        "properties": {"semmle.formatSpecifier": "2.1.0", "semmle.sourceLanguage": "python"},
    }
    if not artifacts:
        del envelope["artifacts"]
    return envelope


def write_logs(
    outs: list[IO[str]],
    results: int,
    shares: dict[str, float],
    seed: int = 1,
    *,
    artifacts: bool = True,
) -> Truth:
    """Write `results` results across the logs `outs` (in order, equal parts: one scan of
    the repository per reporter); return the truth. `artifacts`: whether each run lists
    its files in an ``artifacts`` table, as CodeQL does."""
    files = max(1, results // RESULTS_PER_FILE)
    paths = file_paths(seed, files)
    starts = [results * log // len(outs) for log in range(len(outs))]
    truth = Truth(seed=seed, results=results, shares=dict(shares), starts=starts)
    kinds: list[str] = []
    variants: list[str] = []
    dup_rng = random.Random(seed ^ 0xD0B)
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    out = outs[0]
    for index, (kind, of) in enumerate(plan(seed, results, shares, starts)):
        if index in starts:
            log = starts.index(index)
            if log:
                out.write("\n]}]}\n")
            out = outs[log]
            head = json.dumps(_envelope(seed, paths, log, artifacts))[:-1]  # results follow
            out.write('{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", ')
            out.write('"version": "2.1.0", "runs": [' + head + ', "results": [\n')
        else:
            out.write(",\n")
        source = original(seed, index if kind == "o" else of, files)
        variant = dup_rng.choice("bas") if kind == "n" else "-"
        out.write(dumps(result_of(source, paths, kind, dup_rng, variant, artifacts=artifacts)))
        kinds.append(kind)
        variants.append(variant)
        truth.of.append(of)
    out.write("\n]}]}\n")
    truth.kinds = "".join(kinds)
    truth.variants = "".join(variants)
    truth.counts = {kind: truth.kinds.count(kind) for kind in "oemn"}
    return truth


def generate(
    stem: Path,
    results: int,
    shares: dict[str, float],
    seed: int = 1,
    logs: int = 2,
    *,
    artifacts: bool = True,
) -> tuple[list[Path], Truth]:
    """Write ``<stem>.<k>.sarif`` for each of `logs` logs and ``<stem>.truth.json``, unless
    they exist already."""
    paths = [stem.with_name(f"{stem.name}.{log}.sarif") for log in range(logs)]
    truth_path = stem.with_name(f"{stem.name}.truth.json")
    if truth_path.exists() and all(path.exists() for path in paths):
        return paths, Truth.load(truth_path)
    with contextlib.ExitStack() as stack:
        outs = [stack.enter_context(path.open("w", encoding="utf-8")) for path in paths]
        truth = write_logs(outs, results, shares, seed, artifacts=artifacts)
    truth.save(truth_path)
    return paths, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stem", type=Path, help="writes STEM.0.sarif, ... and STEM.truth.json")
    parser.add_argument("--results", type=int, default=1_000)
    parser.add_argument("--logs", type=int, default=2)
    parser.add_argument("--no-artifacts", action="store_true", help="no artifacts table")
    parser.add_argument("--exact", type=float, default=0.10)
    parser.add_argument("--moved", type=float, default=0.05)
    parser.add_argument("--near", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    shares = {"exact": args.exact, "moved": args.moved, "near": args.near}
    started = time.perf_counter()
    args.stem.with_name(f"{args.stem.name}.truth.json").unlink(missing_ok=True)
    paths, truth = generate(
        args.stem, args.results, shares, args.seed, args.logs, artifacts=not args.no_artifacts
    )
    size = sum(path.stat().st_size for path in paths)
    print(
        f"{len(paths)} logs, {args.results:,} results, {size / 1e6:.1f} MB,"
        f" {truth.counts} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
