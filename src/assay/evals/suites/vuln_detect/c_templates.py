"""C programs: one template per way of writing each flaw, and harmless decoys.

Every program starts with ``#define _POSIX_C_SOURCE 200809L`` (for ``popen`` and ``open``)
and compiles with ``gcc -std=c11 -Wall -Wextra -fsyntax-only``. As in Python, the decoys use
the flaws' APIs the safe way: ``snprintf`` with ``sizeof``, a checked multiplication, a
pointer cleared after ``free``, a constant path to ``fopen``.
"""

from __future__ import annotations

from collections.abc import Callable

from .program import Context, Diff, Line, Part, doc_phrase, indent, secret

Template = Callable[[Context], Part]


def function(ctx: Context, signature: str, body: list[Line]) -> list[Line]:
    """A function definition with an optional comment above it."""
    lines: list[Line] = []
    if ctx.chance(0.5):
        lines.append(f"/* {doc_phrase(ctx.rng, ctx.entity.noun)} */")
    if ctx.brace_on_own_line:
        lines += [signature, "{"]
    else:
        lines.append(signature + " {")
    return [*lines, *body, "}"]


def guard(condition: str, result: str) -> tuple[str, ...]:
    """``if (condition) { return result; }`` at the first level of indentation."""
    ret = f"return {result};" if result else "return;"
    return (indent(1, f"if ({condition}) {{"), indent(2, ret), indent(1, "}"))


def _c_name(ctx: Context, verbs: tuple[str, ...], noun: str = "") -> str:
    return ctx.names.function(noun or ctx.entity.noun, verbs)


def _define(ctx: Context, options: tuple[str, ...], value: str) -> tuple[str, str]:
    """A ``#define`` with a fresh upper-case name."""
    name = ctx.names.constant(options)
    return name, f"#define {name} {value}"


# CWE-787: out-of-bounds write ---------------------------------------------------------


def oob_strcpy(ctx: Context) -> Part:
    src = ctx.names.pick(("src", "input", "name", "text"))
    buf = ctx.names.pick(("buf", "local", "copy", "scratch"))
    size = ctx.rng.choice((16, 24, 32, 48, 64))
    fn = _c_name(ctx, ("print", "show", "echo", "log"), ctx.entity.noun + "_name")
    body: list[Line] = [
        indent(1, f"char {buf}[{size}];"),
        Diff(
            (indent(1, f"strcpy({buf}, {src});"),),
            (indent(1, f'snprintf({buf}, sizeof {buf}, "%s", {src});'),),
        ),
        indent(1, f'printf("{ctx.entity.noun}: %s\\n", {buf});'),
        indent(1, f"return (int)strlen({buf});"),
    ]
    imports = {"stdio.h", "string.h"}
    return Part(function(ctx, f"int {fn}(const char *{src})", body), imports, variant="strcpy")


def oob_loop(ctx: Context) -> Part:
    size = str(ctx.rng.choice((8, 10, 16, 32, 64)))
    slots, define = _define(ctx, ("slots", "max_items", "table_size", "ring_len"), size)
    arr = ctx.names.pick(("values", "table", "slots_buf", "ring"))
    i = ctx.names.pick(("i", "k", "idx"))
    start = ctx.names.pick(("start", "base", "first"))
    fn = _c_name(ctx, ("fill", "init", "reset", "seed"), ctx.entity.noun + "_slots")
    body: list[Line] = [
        indent(1, f"int {arr}[{slots}];"),
        Diff(
            (
                indent(1, f"for (int {i} = 0; {i} <= {slots}; {i}++) {{"),
                indent(2, f"{arr}[{i}] = {start} + {i};"),
            ),
            (
                indent(1, f"for (int {i} = 0; {i} < {slots}; {i}++) {{"),
                indent(2, f"{arr}[{i}] = {start} + {i};"),
            ),
            flaw=1,
        ),
        indent(1, "}"),
        indent(1, f"return {arr}[{slots} - 1];"),
    ]
    return Part(
        function(ctx, f"int {fn}(int {start})", body), {"stdio.h"}, [define], variant="loop"
    )


def oob_memcpy(ctx: Context) -> Part:
    data = ctx.names.pick(("data", "packet", "frame", "chunk"))
    length = ctx.names.pick(("len", "length", "size", "n"))
    buf = ctx.names.pick(("buf", "header", "block"))
    total = ctx.names.pick(("sum", "acc", "total"))
    i = ctx.names.pick(("i", "pos", "j"))
    size = ctx.rng.choice((32, 64, 128, 256))
    fn = _c_name(ctx, ("parse", "check", "read", "digest"), ctx.entity.noun + "_packet")
    copy = indent(1, f"memcpy({buf}, {data}, {length});")
    decls = [indent(1, f"unsigned char {buf}[{size}];"), indent(1, f"int {total} = 0;")]
    ctx.rng.shuffle(decls)
    body: list[Line] = [
        *decls,
        Diff((copy,), (*guard(f"{length} > sizeof {buf}", "-1"), copy)),
        indent(1, f"for (size_t {i} = 0; {i} < {length}; {i}++) {{"),
        indent(2, f"{total} += {buf}[{i}];"),
        indent(1, "}"),
        indent(1, f"return {total};"),
    ]
    signature = f"int {fn}(const unsigned char *{data}, size_t {length})"
    return Part(function(ctx, signature, body), {"string.h", "stddef.h"}, variant="memcpy")


def oob_sprintf(ctx: Context) -> Part:
    first = ctx.names.pick(("first", "prefix", "left"))
    second = ctx.names.pick(("second", "suffix", "right"))
    label = ctx.names.pick(("label", "key", "tag"))
    size = ctx.rng.choice((16, 32, 40, 64))
    fn = _c_name(ctx, ("print", "show", "emit"), ctx.entity.noun + "_label")
    fmt = '"%s-%s", ' + f"{first}, {second}"
    body: list[Line] = [
        indent(1, f"char {label}[{size}];"),
        Diff(
            (indent(1, f"sprintf({label}, {fmt});"),),
            (indent(1, f"snprintf({label}, sizeof {label}, {fmt});"),),
        ),
        indent(1, f"puts({label});"),
    ]
    signature = f"void {fn}(const char *{first}, const char *{second})"
    return Part(function(ctx, signature, body), {"stdio.h"}, variant="sprintf")


def oob_index(ctx: Context) -> Part:
    size = str(ctx.rng.choice((16, 32, 64, 100, 128)))
    slots, define = _define(ctx, ("capacity", "max_slots", "slot_count"), size)
    table = ctx.names.pick((f"{ctx.entity.noun}_slots", f"{ctx.entity.noun}_table", "registry"))
    idx = ctx.names.pick(("idx", "slot", "index", "pos"))
    value = ctx.names.pick(("value", "id", "handle"))
    fn = _c_name(ctx, ("store", "set", "put", "register"), ctx.entity.noun)
    store = indent(1, f"{table}[{idx}] = {value};")
    body: list[Line] = [
        Diff((store,), (*guard(f"{idx} < 0 || {idx} >= {slots}", "-1"), store)),
        indent(1, "return 0;"),
    ]
    constants: list[Line] = [define, f"int {table}[{slots}];"]
    signature = f"int {fn}(int {idx}, int {value})"
    return Part(function(ctx, signature, body), constants=constants, variant="index")


# CWE-416: use after free --------------------------------------------------------------


def _record_struct(ctx: Context) -> tuple[str, str, str, list[str]]:
    """A struct with a name buffer and a counter: its tag, two field names, definition."""
    tag = ctx.names.pick((ctx.entity.noun, f"{ctx.entity.noun}_rec", f"{ctx.entity.noun}_info"))
    name = ctx.rng.choice(("name", "label", "title"))
    count = ctx.rng.choice(("count", "refs", "hits", "uses"))
    definition = [
        f"struct {tag} {{",
        indent(1, f"char {name}[{ctx.rng.choice((32, 48, 64))}];"),
        indent(1, f"int {count};"),
        "};",
    ]
    return tag, name, count, definition


def uaf_print(ctx: Context) -> Part:
    tag, name, count, definition = _record_struct(ctx)
    p = ctx.names.pick(("rec", "item", "entry", "obj"))
    fn = _c_name(ctx, ("release", "close", "drop", "discard"))
    free = indent(1, f"free({p});")
    use = indent(1, f'printf("released %s\\n", {p}->{name});')
    body: list[Line] = [
        indent(1, f"{p}->{count} = 0;"),
        Diff((free, use), (use, free), flaw=1),
    ]
    signature = f"void {fn}(struct {tag} *{p})"
    imports = {"stdio.h", "stdlib.h"}
    return Part(function(ctx, signature, body), imports, types=[definition], variant="print")


def uaf_buffer(ctx: Context) -> Part:
    n = ctx.names.pick(("n", "len", "count"))
    buf = ctx.names.pick(("buf", "scratch", "tmp"))
    first = ctx.names.pick(("first", "head", "c"))
    fn = _c_name(ctx, ("probe", "sample", "peek"), ctx.entity.noun + "_buffer")
    free = indent(1, f"free({buf});")
    use = indent(1, f"{first} = {buf}[0];")
    body: list[Line] = [
        indent(1, f"char *{buf} = malloc({n} + 1);"),
        indent(1, f"int {first};"),
        *guard(f"{buf} == NULL", "-1"),
        indent(1, f"memset({buf}, 'x', {n});"),
        indent(1, f"{buf}[{n}] = '\\0';"),
        Diff((free, use), (use, free), flaw=1),
        indent(1, f"return {first};"),
    ]
    signature = f"int {fn}(size_t {n})"
    return Part(function(ctx, signature, body), {"stdlib.h", "string.h"}, variant="buffer")


def uaf_error_path(ctx: Context) -> Part:
    tag, _name, count, definition = _record_struct(ctx)
    status = ctx.names.pick(("status", "code", "err"))
    rec = ctx.names.pick(("rec", "item", "node", "entry"))
    fn = _c_name(ctx, ("create", "new", "make", "alloc"))
    free = indent(2, f"free({rec});")
    close = indent(1, "}")
    use = indent(1, f"{rec}->{count} = {status};")
    body: list[Line] = [
        indent(1, f"struct {tag} *{rec} = calloc(1, sizeof *{rec});"),
        *guard(f"{rec} == NULL", "NULL"),
        indent(1, f"if ({status} != 0) {{"),
        Diff((free, close, use), (free, indent(2, "return NULL;"), close, use), flaw=2),
        indent(1, f"return {rec};"),
    ]
    signature = f"struct {tag} *{fn}(int {status})"
    return Part(function(ctx, signature, body), {"stdlib.h"}, types=[definition], variant="error")


def uaf_list(ctx: Context) -> Part:
    tag = ctx.names.pick(("node", f"{ctx.entity.noun}_node", "link", "cell"))
    nxt = ctx.rng.choice(("next", "tail", "link"))
    value = ctx.rng.choice(("value", "id", "payload"))
    definition = [
        f"struct {tag} {{",
        indent(1, f"int {value};"),
        indent(1, f"struct {tag} *{nxt};"),
        "};",
    ]
    head = ctx.names.pick(("head", "list", "first"))
    cur = ctx.names.pick(("cur", "it", "p"))
    after = ctx.names.pick(("following", "rest", "after"))
    fn = _c_name(ctx, ("free", "destroy", "clear"), ctx.entity.noun + "_list")
    loop = indent(1, f"while ({cur} != NULL) {{")
    body: list[Line] = [
        indent(1, f"struct {tag} *{cur} = {head};"),
        Diff(
            (loop, indent(2, f"free({cur});"), indent(2, f"{cur} = {cur}->{nxt};")),
            (
                loop,
                indent(2, f"struct {tag} *{after} = {cur}->{nxt};"),
                indent(2, f"free({cur});"),
                indent(2, f"{cur} = {after};"),
            ),
            flaw=2,
        ),
        indent(1, "}"),
    ]
    signature = f"void {fn}(struct {tag} *{head})"
    return Part(function(ctx, signature, body), {"stdlib.h"}, types=[definition], variant="list")


# CWE-190: integer overflow ------------------------------------------------------------


def overflow_size_mul(ctx: Context) -> Part:
    count = ctx.names.pick(("count", "nmemb", "items"))
    size = ctx.names.pick(("size", "elem_size", "width"))
    total = ctx.names.pick(("total", "bytes", "nbytes"))
    p = ctx.names.pick(("p", "block", "mem"))
    i = ctx.names.pick(("i", "k"))
    fn = _c_name(ctx, ("alloc", "reserve", "allocate"), ctx.entity.noun + "_array")
    mul = indent(1, f"size_t {total} = {count} * {size};")
    body: list[Line] = [
        Diff((mul,), (*guard(f"{size} != 0 && {count} > SIZE_MAX / {size}", "NULL"), mul)),
        indent(1, f"unsigned char *{p} = malloc({total});"),
        *guard(f"{p} == NULL", "NULL"),
        indent(1, f"for (size_t {i} = 0; {i} < {count}; {i}++) {{"),
        indent(2, f"memset({p} + {i} * {size}, 0, {size});"),
        indent(1, "}"),
        indent(1, f"return {p};"),
    ]
    signature = f"void *{fn}(size_t {count}, size_t {size})"
    imports = {"stdlib.h", "string.h", "stdint.h"}
    return Part(function(ctx, signature, body), imports, variant="size_mul")


def overflow_concat(ctx: Context) -> Part:
    a = ctx.names.pick(("a", "head", "left"))
    alen = f"{a}_len"
    b = ctx.names.pick(("b", "body", "right"))
    blen = f"{b}_len"
    ctx.names.used.update((alen, blen))
    total = ctx.names.pick(("total", "joined_len", "sum"))
    out = ctx.names.pick(("out", "joined", "result"))
    fn = _c_name(ctx, ("join", "concat", "merge"), ctx.entity.noun + "_parts")
    add = indent(1, f"uint32_t {total} = {alen} + {blen};")
    body: list[Line] = [
        Diff((add,), (*guard(f"{blen} > UINT32_MAX - {alen}", "NULL"), add)),
        indent(1, f"char *{out} = malloc((size_t){total} + 1);"),
        *guard(f"{out} == NULL", "NULL"),
        indent(1, f"memcpy({out}, {a}, {alen});"),
        indent(1, f"memcpy({out} + {alen}, {b}, {blen});"),
        indent(1, f"{out}[{total}] = '\\0';"),
        indent(1, f"return {out};"),
    ]
    signature = f"char *{fn}(const char *{a}, uint32_t {alen}, const char *{b}, uint32_t {blen})"
    imports = {"stdlib.h", "string.h", "stdint.h"}
    return Part(function(ctx, signature, body), imports, variant="concat")


def overflow_image(ctx: Context) -> Part:
    width = ctx.names.pick(("width", "w", "cols"))
    height = ctx.names.pick(("height", "h", "rows"))
    nbytes = ctx.names.pick(("bytes", "stride_total", "len"))
    px = ctx.names.pick(("px", "pixels", "raster"))
    y = ctx.names.pick(("y", "row", "line"))
    fn = _c_name(ctx, ("alloc", "create", "blank"), ctx.entity.noun + "_image")
    mul = indent(1, f"int {nbytes} = {width} * {height} * 4;")
    check = f"{width} <= 0 || {height} <= 0 || {width} > INT_MAX / 4 / {height}"
    body: list[Line] = [
        Diff((mul,), (*guard(check, "NULL"), mul)),
        indent(1, f"unsigned char *{px} = malloc((size_t){nbytes});"),
        *guard(f"{px} == NULL", "NULL"),
        indent(1, f"for (int {y} = 0; {y} < {height}; {y}++) {{"),
        indent(2, f"memset({px} + (size_t){y} * {width} * 4, 0xff, (size_t){width} * 4);"),
        indent(1, "}"),
        indent(1, f"return {px};"),
    ]
    signature = f"unsigned char *{fn}(int {width}, int {height})"
    imports = {"stdlib.h", "string.h", "limits.h"}
    return Part(function(ctx, signature, body), imports, variant="image")


def overflow_records(ctx: Context) -> Part:
    tag, _name, _count, definition = _record_struct(ctx)
    src = ctx.names.pick(("src", "items", "records"))
    count = ctx.names.pick(("count", "n", "nitems"))
    nbytes = ctx.names.pick(("bytes", "size", "total"))
    copy = ctx.names.pick(("copy", "dup", "clone"))
    i = ctx.names.pick(("i", "k"))
    fn = _c_name(ctx, ("copy", "clone", "duplicate"), ctx.entity.table)
    mul = indent(1, f"unsigned int {nbytes} = {count} * (unsigned int)sizeof(struct {tag});")
    body: list[Line] = [
        Diff((mul,), (*guard(f"{count} > UINT_MAX / sizeof(struct {tag})", "NULL"), mul)),
        indent(1, f"struct {tag} *{copy} = malloc({nbytes});"),
        *guard(f"{copy} == NULL", "NULL"),
        indent(1, f"for (unsigned int {i} = 0; {i} < {count}; {i}++) {{"),
        indent(2, f"{copy}[{i}] = {src}[{i}];"),
        indent(1, "}"),
        indent(1, f"return {copy};"),
    ]
    signature = f"struct {tag} *{fn}(const struct {tag} *{src}, unsigned int {count})"
    imports = {"stdlib.h", "limits.h"}
    return Part(function(ctx, signature, body), imports, types=[definition], variant="records")


# CWE-78: OS command injection ---------------------------------------------------------

_SAFE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
_HOST_COMMANDS = ("ping -c 1 %s", "nslookup %s", "host %s", "traceroute -m 8 %s")
_FILE_COMMANDS = ("gzip -k %s", "sha256sum %s", "wc -l %s", "file %s")


def _allow_list(arg: str) -> tuple[str, ...]:
    """The fix: accept only names made of safe characters, not starting with - or ."""
    cond = (
        f"{arg}[0] == '-' || {arg}[0] == '.' || strspn({arg}, \"{_SAFE_CHARS}\") != strlen({arg})"
    )
    return guard(cond, "-1")


def cmdi_system(ctx: Context) -> Part:
    is_host = ctx.chance(0.5)
    arg = ctx.names.pick(("host", "target", "peer") if is_host else ("file", "path", "name"))
    template = ctx.rng.choice(_HOST_COMMANDS if is_host else _FILE_COMMANDS)
    cmd = ctx.names.pick(("cmd", "command", "line"))
    fn = _c_name(ctx, ("check", "probe", "run"), ctx.entity.noun)
    build = indent(1, f'snprintf({cmd}, sizeof {cmd}, "{template}", {arg});')
    run = indent(1, f"return system({cmd});")
    body: list[Line] = [
        indent(1, f"char {cmd}[{ctx.rng.choice((256, 512, 1024))}];"),
        Diff((build, run), (*_allow_list(arg), build, run), flaw=1),
    ]
    imports = {"stdio.h", "stdlib.h", "string.h"}
    return Part(function(ctx, f"int {fn}(const char *{arg})", body), imports, variant="system")


def cmdi_popen(ctx: Context) -> Part:
    d, define = _define(ctx, ("log_dir", "data_dir", "spool_dir"), f'"/var/log/{ctx.app}"')
    name = ctx.names.pick(("name", "log_name", "file"))
    cmd = ctx.names.pick(("cmd", "command", "shell_line"))
    pipe = ctx.names.pick(("pipe", "proc", "stream"))
    lines = ctx.names.pick(("lines", "count", "n"))
    fn = _c_name(ctx, ("count", "measure", "size"), ctx.entity.noun + "_log")
    build = indent(1, f'snprintf({cmd}, sizeof {cmd}, "wc -l < %s/%s", {d}, {name});')
    run = indent(1, f'{pipe} = popen({cmd}, "r");')
    decls = [
        indent(1, f"char {cmd}[512];"),
        indent(1, f"FILE *{pipe};"),
        indent(1, f"long {lines} = -1;"),
    ]
    ctx.rng.shuffle(decls)
    body: list[Line] = [
        *decls,
        Diff((build, run), (*_allow_list(name), build, run), flaw=1),
        *guard(f"{pipe} == NULL", "-1"),
        indent(1, f'if (fscanf({pipe}, "%ld", &{lines}) != 1) {{'),
        indent(2, f"{lines} = -1;"),
        indent(1, "}"),
        indent(1, f"pclose({pipe});"),
        indent(1, f"return {lines};"),
    ]
    imports = {"stdio.h", "string.h"}
    signature = f"long {fn}(const char *{name})"
    return Part(function(ctx, signature, body), imports, [define], variant="popen")


# CWE-22: path traversal ---------------------------------------------------------------


def _base_define(ctx: Context) -> tuple[str, str]:
    d = ctx.rng.choice(("uploads", "exports", "reports", "attachments", "media", "spool"))
    name = ctx.names.constant((f"{d}_dir", f"{d}_root", "base_dir", "storage_root"))
    return name, f'#define {name} "/var/lib/{ctx.app}/{d}"'


def _path_guard(name: str, result: str) -> tuple[str, ...]:
    """The fix: refuse names that climb (``..``) or are absolute."""
    return guard(f"strstr({name}, \"..\") != NULL || {name}[0] == '/'", result)


def traversal_fopen(ctx: Context) -> Part:
    base, define = _base_define(ctx)
    name = ctx.names.pick(("name", "filename", "requested"))
    path = ctx.names.pick(("path", "full", "fullpath"))
    fn = _c_name(ctx, ("open", "read", "load"), ctx.entity.noun + "_file")
    build = indent(1, f'snprintf({path}, sizeof {path}, "%s/%s", {base}, {name});')
    use = indent(1, f'return fopen({path}, "rb");')
    body: list[Line] = [
        indent(1, f"char {path}[512];"),
        Diff((build, use), (*_path_guard(name, "NULL"), build, use), flaw=1),
    ]
    signature = f"FILE *{fn}(const char *{name})"
    imports = {"stdio.h", "string.h"}
    return Part(function(ctx, signature, body), imports, [define], variant="fopen")


def traversal_write(ctx: Context) -> Part:
    base, define = _base_define(ctx)
    name = ctx.names.pick(("name", "filename", "upload"))
    data = ctx.names.pick(("data", "content", "bytes"))
    length = ctx.names.pick(("len", "length", "size"))
    path = ctx.names.pick(("path", "dest", "target"))
    fp = ctx.names.pick(("fp", "out", "f"))
    fn = _c_name(ctx, ("save", "store", "write"), ctx.entity.noun + "_upload")
    build = indent(1, f'snprintf({path}, sizeof {path}, "%s/%s", {base}, {name});')
    use = indent(1, f'{fp} = fopen({path}, "wb");')
    decls = [indent(1, f"char {path}[512];"), indent(1, f"FILE *{fp};")]
    ctx.rng.shuffle(decls)
    body: list[Line] = [
        *decls,
        Diff((build, use), (*_path_guard(name, "-1"), build, use), flaw=1),
        *guard(f"{fp} == NULL", "-1"),
        indent(1, f"if (fwrite({data}, 1, {length}, {fp}) != {length}) {{"),
        indent(2, f"fclose({fp});"),
        indent(2, "return -1;"),
        indent(1, "}"),
        indent(1, f"return fclose({fp});"),
    ]
    signature = f"int {fn}(const char *{name}, const char *{data}, size_t {length})"
    imports = {"stdio.h", "string.h"}
    return Part(function(ctx, signature, body), imports, [define], variant="write")


def traversal_open(ctx: Context) -> Part:
    base, define = _base_define(ctx)
    name = ctx.names.pick(("name", "filename", "asset"))
    out = ctx.names.pick(("out", "dst", "buffer"))
    cap = ctx.names.pick(("cap", "capacity", "max"))
    path = ctx.names.pick(("path", "full", "where"))
    fd = ctx.names.pick(("fd", "handle", "desc"))
    got = ctx.names.pick(("got", "nread", "r"))
    fn = _c_name(ctx, ("read", "slurp", "fetch"), ctx.entity.noun + "_asset")
    build = indent(1, f'snprintf({path}, sizeof {path}, "%s/%s", {base}, {name});')
    use = indent(1, f"{fd} = open({path}, O_RDONLY);")
    decls = [
        indent(1, f"char {path}[512];"),
        indent(1, f"int {fd};"),
        indent(1, f"ssize_t {got};"),
    ]
    ctx.rng.shuffle(decls)
    body: list[Line] = [
        *decls,
        Diff((build, use), (*_path_guard(name, "-1"), build, use), flaw=1),
        *guard(f"{fd} < 0", "-1"),
        indent(1, f"{got} = read({fd}, {out}, {cap});"),
        indent(1, f"close({fd});"),
        indent(1, f"return {got};"),
    ]
    signature = f"ssize_t {fn}(const char *{name}, char *{out}, size_t {cap})"
    imports = {"stdio.h", "string.h", "fcntl.h", "unistd.h"}
    return Part(function(ctx, signature, body), imports, [define], variant="open")


# CWE-798: hard-coded credentials -----------------------------------------------------


def _env_name(ctx: Context, what: str) -> str:
    return f"{ctx.app.upper()}_{what}"


def creds_compare(ctx: Context) -> Part:
    user = ctx.names.pick(("user", "username", "login"))
    pw = ctx.names.pick(("pw", "password", "pass"))
    expected = ctx.names.pick(("expected", "stored", "reference"))
    admin = ctx.rng.choice(("admin", "root", "operator", "service"))
    fn = _c_name(ctx, ("check", "verify", "authenticate"), "login")
    body: list[Line] = [
        Diff(
            (indent(1, f'const char *{expected} = "{secret(ctx.rng)}";'),),
            (
                indent(
                    1, f'const char *{expected} = getenv("{_env_name(ctx, "ADMIN_PASSWORD")}");'
                ),
                *guard(f"{expected} == NULL", "0"),
            ),
        ),
        indent(1, f'return strcmp({user}, "{admin}") == 0 && strcmp({pw}, {expected}) == 0;'),
    ]
    signature = f"int {fn}(const char *{user}, const char *{pw})"
    imports = {"stdlib.h", "string.h"}
    return Part(function(ctx, signature, body), imports, variant="compare")


def creds_header(ctx: Context) -> Part:
    out = ctx.names.pick(("out", "header", "line"))
    cap = ctx.names.pick(("cap", "size", "len"))
    n = ctx.names.pick(("n", "written", "w"))
    tok = ctx.names.pick(("token", "tok", "bearer"))
    fn = _c_name(ctx, ("format", "build", "make"), "auth_header")
    fmt = '"Authorization: Bearer %s", '
    body: list[Line] = [
        Diff(
            (indent(1, f'int {n} = snprintf({out}, {cap}, {fmt}"{secret(ctx.rng)}");'),),
            (
                indent(1, f'const char *{tok} = getenv("{_env_name(ctx, "API_TOKEN")}");'),
                *guard(f"{tok} == NULL", "-1"),
                indent(1, f"int {n} = snprintf({out}, {cap}, {fmt}{tok});"),
            ),
        ),
        indent(1, f"return ({n} >= 0 && (size_t){n} < {cap}) ? 0 : -1;"),
    ]
    signature = f"int {fn}(char *{out}, size_t {cap})"
    imports = {"stdio.h", "stdlib.h"}
    return Part(function(ctx, signature, body), imports, variant="header")


def creds_dsn(ctx: Context) -> Part:
    dsn = ctx.names.pick(("dsn", "conninfo", "out"))
    cap = ctx.names.pick(("cap", "size", "len"))
    host = ctx.names.pick(("host", "server", "db_host"))
    n = ctx.names.pick(("n", "written", "w"))
    pw = ctx.names.pick(("pw", "password", "secret"))
    user = ctx.rng.choice(("app", ctx.app, "reporting", "service"))
    fn = _c_name(ctx, ("format", "build", "make"), "conninfo")
    head = f'int {n} = snprintf({dsn}, {cap}, "host=%s dbname={ctx.app} user={user} password='
    body: list[Line] = [
        Diff(
            (indent(1, head + f'{secret(ctx.rng)}", {host});'),),
            (
                indent(1, f'const char *{pw} = getenv("{_env_name(ctx, "DB_PASSWORD")}");'),
                *guard(f"{pw} == NULL", "-1"),
                indent(1, head + f'%s", {host}, {pw});'),
            ),
        ),
        indent(1, f"return ({n} >= 0 && (size_t){n} < {cap}) ? 0 : -1;"),
    ]
    signature = f"int {fn}(char *{dsn}, size_t {cap}, const char *{host})"
    imports = {"stdio.h", "stdlib.h"}
    return Part(function(ctx, signature, body), imports, variant="dsn")


FLAWS: dict[str, tuple[Template, ...]] = {
    "CWE-787": (oob_strcpy, oob_loop, oob_memcpy, oob_sprintf, oob_index),
    "CWE-416": (uaf_print, uaf_buffer, uaf_error_path, uaf_list),
    "CWE-190": (overflow_size_mul, overflow_concat, overflow_image, overflow_records),
    "CWE-78": (cmdi_system, cmdi_popen),
    "CWE-22": (traversal_fopen, traversal_write, traversal_open),
    "CWE-798": (creds_compare, creds_header, creds_dsn),
}


# Decoys -------------------------------------------------------------------------------


def decoy_copy(ctx: Context) -> Part:
    dst = ctx.names.pick(("dst", "dest", "out"))
    cap = ctx.names.pick(("cap", "dst_size", "room"))
    src = ctx.names.pick(("src", "source", "origin"))
    fn = _c_name(ctx, ("copy", "set"), ctx.entity.noun + "_field")
    body: list[Line] = [
        *guard(f"{cap} == 0", ""),
        indent(1, f"strncpy({dst}, {src}, {cap} - 1);"),
        indent(1, f"{dst}[{cap} - 1] = '\\0';"),
    ]
    signature = f"void {fn}(char *{dst}, size_t {cap}, const char *{src})"
    return Part(function(ctx, signature, body), {"string.h"})


def decoy_checksum(ctx: Context) -> Part:
    data = ctx.names.pick(("data", "bytes", "buf"))
    length = ctx.names.pick(("len", "length", "size"))
    acc = ctx.names.pick(("acc", "h", "crc"))
    i = ctx.names.pick(("i", "k"))
    fn = _c_name(ctx, ("checksum", "hash", "fold"), ctx.entity.noun)
    body: list[Line] = [
        indent(1, f"unsigned int {acc} = 0;"),
        indent(1, f"for (size_t {i} = 0; {i} < {length}; {i}++) {{"),
        indent(2, f"{acc} = (({acc} << 5) | ({acc} >> 27)) ^ {data}[{i}];"),
        indent(1, "}"),
        indent(1, f"return {acc};"),
    ]
    signature = f"unsigned int {fn}(const unsigned char *{data}, size_t {length})"
    return Part(function(ctx, signature, body), {"stddef.h"})


def decoy_clamp(ctx: Context) -> Part:
    v = ctx.names.pick(("v", "value", "x"))
    lo = ctx.names.pick(("lo", "low", "min_value"))
    hi = ctx.names.pick(("hi", "high", "max_value"))
    fn = _c_name(ctx, ("clamp", "bound", "limit"), ctx.entity.noun + "_level")
    body: list[Line] = [
        *guard(f"{v} < {lo}", lo),
        *guard(f"{v} > {hi}", hi),
        indent(1, f"return {v};"),
    ]
    return Part(function(ctx, f"int {fn}(int {v}, int {lo}, int {hi})", body))


def decoy_release(ctx: Context) -> Part:
    pp = ctx.names.pick(("pp", "slot", "ref"))
    fn = _c_name(ctx, ("release", "reset", "drop"), ctx.entity.noun + "_buffer")
    body: list[Line] = [
        *guard(f"{pp} == NULL", ""),
        indent(1, f"free(*{pp});"),
        indent(1, f"*{pp} = NULL;"),
    ]
    return Part(function(ctx, f"void {fn}(char **{pp})", body), {"stdlib.h"})


def decoy_calloc(ctx: Context) -> Part:
    count = ctx.names.pick(("count", "n", "slots"))
    fn = _c_name(ctx, ("alloc", "new", "make"), ctx.entity.noun + "_ids")
    body: list[Line] = [
        *guard(f"{count} == 0 || {count} > SIZE_MAX / sizeof(int)", "NULL"),
        indent(1, f"return calloc({count}, sizeof(int));"),
    ]
    return Part(function(ctx, f"int *{fn}(size_t {count})", body), {"stdlib.h", "stdint.h"})


def decoy_config_line(ctx: Context) -> Part:
    path = f'"/etc/{ctx.app}.conf"'
    conf, define = _define(ctx, ("config_path", "conf_file", "settings_path"), path)
    line = ctx.names.pick(("line", "buf", "first_line"))
    cap = ctx.names.pick(("cap", "size", "room"))
    fp = ctx.names.pick(("fp", "f", "conf"))
    fn = _c_name(ctx, ("read", "load"), "config_line")
    body: list[Line] = [
        *guard(f"{cap} <= 0", "-1"),
        indent(1, f'FILE *{fp} = fopen({conf}, "r");'),
        *guard(f"{fp} == NULL", "-1"),
        indent(1, f"if (fgets({line}, {cap}, {fp}) == NULL) {{"),
        indent(2, f"fclose({fp});"),
        indent(2, "return -1;"),
        indent(1, "}"),
        indent(1, f"fclose({fp});"),
        indent(1, "return 0;"),
    ]
    signature = f"int {fn}(char *{line}, int {cap})"
    return Part(function(ctx, signature, body), {"stdio.h"}, [define])


def decoy_env(ctx: Context) -> Part:
    v = ctx.names.pick(("v", "value", "setting"))
    what, default = ctx.rng.choice((("LOG_LEVEL", "info"), ("HOST", "localhost"), ("MODE", "ro")))
    fn = _c_name(ctx, ("get", "current", "read"), what.lower())
    body: list[Line] = [
        indent(1, f'const char *{v} = getenv("{_env_name(ctx, what)}");'),
        indent(1, f'return {v} != NULL ? {v} : "{default}";'),
    ]
    return Part(function(ctx, f"const char *{fn}(void)", body), {"stdlib.h"})


def decoy_format_id(ctx: Context) -> Part:
    out = ctx.names.pick(("out", "dst", "label"))
    cap = ctx.names.pick(("cap", "size", "len"))
    ident = ctx.names.pick(("id", "number", "seq"))
    n = ctx.names.pick(("n", "written", "w"))
    fn = _c_name(ctx, ("format", "print", "make"), ctx.entity.noun + "_code")
    body: list[Line] = [
        indent(1, f'int {n} = snprintf({out}, {cap}, "{ctx.entity.noun}-%06d", {ident});'),
        indent(1, f"return {n} >= 0 && (size_t){n} < {cap};"),
    ]
    signature = f"int {fn}(char *{out}, size_t {cap}, int {ident})"
    return Part(function(ctx, signature, body), {"stdio.h"})


DECOYS: tuple[Template, ...] = (
    decoy_copy,
    decoy_checksum,
    decoy_clamp,
    decoy_release,
    decoy_calloc,
    decoy_config_line,
    decoy_env,
    decoy_format_id,
)
