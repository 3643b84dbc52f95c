"""The output boundary: every text that leaves EthosAgents (a terminal line, the live view, a table,
`--json`, a record, a trace, a cache row, a checkpoint, Markdown, HTML, SVG, CSV, the served state)
passes `outward`, which redacts secrets and neutralises control, escape and bidi characters in the
way its medium needs. The sinks call it themselves (`NeutralStream`, `write_file`, the store, the
cache, the renderers), so a caller cannot forget it; `tests/unit/test_output_boundary.py` walks them.

Redacted by value (environment variables whose names say they hold a secret) and by pattern
(URL user-info and query values, bearer tokens, key-shaped strings such as `sk-…` and `hf_…`),
so a key given only on the command line is caught too. A file is redacted value by value before it
is serialised (`redacted`, `json_text`); its writer then escapes for its medium and never edits the
serialised text. No pattern reaches past a backslash, so text already escaped (a JSON line on the
terminal, LaTeX) keeps its escapes.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ethos.errors import EthosError

MASK = "[redacted]"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL", re.IGNORECASE)
_PATTERNS = [
    # scheme://user:pass@host, to the last "@" of the URL: a password may hold "/", "?" or "#"
    (re.compile(r"(?<=://)[^\s\"'<>\\]*@"), MASK + "@"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"), r"\1" + MASK),
    (re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{8,}"), MASK),  # OpenAI-style keys
    (re.compile(r"\bhf_[A-Za-z0-9]{8,}"), MASK),  # Hugging Face tokens
    (re.compile(r"\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{8,}"), MASK),
    (re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}"), r"\1" + MASK),  # an Authorization header echoed back
    # a secret-named parameter anywhere, with or without a URL around it: `?api-key=...`, `;token=...`,
    # a fragment's `#access_token=...`; never a metavariable (`--set KEY=VALUE` in a help text)
    (
        re.compile(
            r"(?i)((?:^|[\s?&;#\"'(])(?:api[-_]?key|apikey|key|token|access[-_]?token|auth|secret|password|passwd|sig|signature)=)"
            r"(?-i:(?![A-Z][A-Z_]{0,19}(?![^\s&#\"'<>;)\\])))[^\s&#\"'<>;)\\]+"
        ),
        r"\1" + MASK,
    ),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s\"'<>?#;\\]*;)[^\s\"'<>?#/\\]+"), r"\1" + MASK),  # a URL's ;params
]
# A path segment of a URL that looks like a key: 24 or more letters and digits, with both.
_URL_PATH_KEY = re.compile(
    r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s\"'<>/?#\\]*(?:/[^\s\"'<>?#\\]*)*?/)([A-Za-z0-9_\-]{24,})(?=[/?#;\s\"'<>\\]|$)"
)


def _mask_path_key(match: re.Match) -> str:
    segment = match[2]
    looks_random = any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)
    return match[1] + (MASK if looks_random else segment)


# A query value in a URL: `?name=value&...` keeps each name, masks each value.
_URL_QUERY = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s\"'<>?#\\]*\?)([^\s\"'<>#\\]*)", re.IGNORECASE)


def _mask_query(match: re.Match) -> str:
    pairs = [part.partition("=") for part in match[2].split("&")]
    return match[1] + "&".join(f"{name}={MASK}" if sep else name for name, sep, _ in pairs)


def secret_variable(name: str) -> bool:
    """Whether `name` is an environment variable whose value `redact` masks (a key's variable must be one)."""
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,99}", name)) and bool(_SECRET_NAME.search(name))


# Text that none of the patterns can match holds none of these: most text is checked by this alone.
_MAY_MATCH = re.compile(r"(?i)://|bearer|basic|[srp]k-|hf_|gh[pousr]_|github_pat_|=")


_GITHUB_TOKEN = re.compile("gh[pousr]_")


def _may_match(text: str) -> bool:
    """`_MAY_MATCH.search(text)`, as substring scans for ASCII text (ten times faster than the
    case-blind regex; in ASCII, lower() is what a case-blind match compares)."""
    if not text.isascii():
        return _MAY_MATCH.search(text) is not None
    lowered = text.lower()
    if "=" in lowered or "://" in lowered or "bearer" in lowered or "basic" in lowered:
        return True
    if "k-" in lowered and ("sk-" in lowered or "rk-" in lowered or "pk-" in lowered):
        return True
    return "_" in lowered and ("hf_" in lowered or "github_pat_" in lowered or _GITHUB_TOKEN.search(lowered) is not None)


_secrets: tuple[dict | None, list[str]] = (None, [])  # (the environment they were read from, the values)


def _secret_values() -> list[str]:
    """The values of the environment's secret-named variables, as the environment holds them now (a
    test or a caller may set one): read again only when it changed, which a copy of its raw mapping
    tells at C speed (decoding every variable for every text was a tenth of a model call's CPU)."""
    global _secrets
    raw = getattr(os.environ, "_data", None)
    now = dict(raw) if raw is not None else dict(os.environ)
    if now != _secrets[0]:
        _secrets = (now, [value for name, value in os.environ.items() if len(value) >= 6 and _SECRET_NAME.search(name)])
    return _secrets[1]


def redact(text: str) -> str:
    """`text` with the environment's secrets and every secret a pattern finds masked."""
    return _masked(text, _secret_values())


def _masked(text: str, secrets: list[str]) -> str:
    """`text` with `secrets` (the environment's) and every secret a pattern finds masked."""
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    if not _may_match(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _URL_PATH_KEY.sub(_mask_path_key, text)
    return _URL_QUERY.sub(_mask_query, text)


def redacted(data):
    """`data` with every text in it redacted, keys too, and non-finite numbers as None (JSON has
    none): what a file may hold, before it is serialised. Other objects become their text."""
    return _redacted(data, _secret_values())  # the environment read once for the whole value


def _redacted(data, secrets: list[str]):
    if isinstance(data, str):
        return _masked(data, secrets)
    if isinstance(data, dict):
        return {_masked(k, secrets) if isinstance(k, str) else k: _redacted(v, secrets) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_redacted(v, secrets) for v in data]
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if data is None or isinstance(data, (bool, int)):
        return data
    return _masked(str(data), secrets)


def json_text(data, *, indent: int | None = None) -> str:
    """`data` as JSON that may leave the program: secrets masked in its values before it is
    serialised, and the control characters JSON lets through (DEL, C1, bidi marks, lone surrogates)
    written as JSON's own escapes, which only occur inside strings and read back exactly."""
    secrets = _secret_values()  # the environment read once for the whole value
    if indent is None and (text := _plain_json(data, secrets)) is not None:
        return neutral(text)
    return neutral(json.dumps(_serialisable(data, secrets), ensure_ascii=False, indent=indent))


def _serialisable(data, secrets: list[str], depth: int = 0):
    """What `redacted(data)` serialises to, walking only the parts that need it: below the top (a
    record holds an endpoint's URL in its settings, and nothing to mask in its conversation), each
    part of the first two levels is serialised whole first and kept if clean; deeper, walked whole."""
    if depth == 2 or not isinstance(data, (dict, list, tuple)):
        return _redacted(data, secrets)
    if depth > 0 and _plain_json(data, secrets) is not None:
        return data
    if isinstance(data, dict):
        return {_masked(k, secrets) if isinstance(k, str) else k: _serialisable(v, secrets, depth + 1) for k, v in data.items()}
    return [_serialisable(v, secrets, depth + 1) for v in data]


def _plain_json(data, secrets: list[str]) -> str | None:
    """`data` serialised as it is, where that is what redacting it first would give: it serialises
    with finite numbers, and its text holds none of `secrets` and no pattern's trigger. JSON escapes
    each character on its own and none of a trigger's, so a text holding a secret or a trigger holds
    it in the serialised form too (a secret in its escaped form). Checking the whole line once
    instead of walking every text in it took most of the CPU of writing a trace line. None: walk it."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # an object JSON does not know, NaN or infinity, a cycle
        return None
    if _may_match(text) or any(value in text for value in _escaped(secrets)):
        return None
    return text


def _escaped(secrets: list[str]) -> list[str]:
    """`secrets` (the list `_secret_values` keeps) as JSON writes them inside a string."""
    global _escaped_secrets
    if _escaped_secrets[0] is not secrets:
        _escaped_secrets = (secrets, [json.dumps(value, ensure_ascii=False)[1:-1] for value in secrets])
    return _escaped_secrets[1]


_escaped_secrets: tuple[list | None, list[str]] = (None, [])


# C0 controls but tab and newline, DEL, C1 controls (ESC, CSI, OSC start here), the bidi overrides
# and marks that reorder what a reader sees, zero-width characters that hide text, and the line and
# paragraph separators some terminals break on.
# Lone surrogates too: no UTF-8 file or terminal can take them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def neutral(text: str) -> str:
    """`text` with every control and escape sequence shown as a visible escape (`\\u001b`), so that
    model replies, data files and endpoint messages cannot retitle, clear or write to a terminal."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", text)  # the escape JSON uses: `--json` output stays valid


MEDIA = ("terminal", "json", "markdown", "html", "xml", "csv")


def outward(text, medium: str = "terminal") -> str:
    """`text` as it may leave the program in `medium`: secrets masked, control characters shown as
    visible escapes (for JSON, the escapes JSON itself reads back: the file holds no raw control
    character, and a reader still gets the text), and what the medium would interpret escaped:
    - `markdown`: one line, HTML escaped, and no link, image, code span or table cell break;
    - `html`, `xml`: markup escaped (with control characters gone, the text is valid XML);
    - `csv`: a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab) starts with `'`."""
    text = neutral(redact(str(text if text is not None else "")))
    if medium in ("terminal", "json"):
        return text
    if medium == "markdown":
        text = html.escape(" ".join(text.split()), quote=False).replace("\\", "\\\\").replace("|", "\\|")
        return text.replace("[", "\\[").replace("]", "\\]").replace("`", "\\`")
    if medium in ("html", "xml"):
        return html.escape(text)
    if medium == "csv":
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text
    raise ValueError(f"unknown medium {medium!r}: one of {', '.join(MEDIA)}")


def split_endpoint(url: str) -> tuple[str, dict[str, str]]:
    """An endpoint URL as (base URL, query parameters): the client appends its path to the base
    and sends the query with every request (a query left in the base would end up before the path)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EthosError(f"--base-url must be an http(s) URL such as http://127.0.0.1:8080/v1, got {redact(url)!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise EthosError(f"--base-url has an invalid port: {redact(url)!r}") from None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), dict(parse_qsl(parts.query, keep_blank_values=True))


def endpoints(base_url: str) -> list[str]:
    """The endpoints a `--base-url` names: one URL, or replicas of one model, comma-separated
    (requests are spread over them); each is checked as `split_endpoint` checks one."""
    urls = [url.strip() for url in base_url.split(",") if url.strip()]
    if not urls:
        raise EthosError("--base-url is empty: give an http(s) URL, or several comma-separated")
    for url in urls:
        split_endpoint(url)
    return urls


def public_endpoint(url: str) -> str:
    """The endpoint as messages name it: scheme, host, port and path; no credentials, no query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class NeutralStream:
    """A text stream that writes what it is given through `outward`: installed on stdout and stderr
    by the CLI, so no outside text printed anywhere can drive the terminal. Progress bars and live
    views, whose own escape sequences are meant, write to the stream underneath (`raw`)."""

    def __init__(self, inner):
        self.raw = inner

    def write(self, text: str) -> int:
        self.raw.write(outward(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self.raw, name)


def raw(stream):
    """The stream under a NeutralStream (for output whose escape sequences are this program's own)."""
    return stream.raw if isinstance(stream, NeutralStream) else stream
