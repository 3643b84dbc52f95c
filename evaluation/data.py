"""`ethos data fetch`: the VITAL files from their authors' public repository into a data folder.

VITAL (Shetty et al., 2025; MIT licence) is published as one JSON file per task in
github.com/anudeex/VITAL, folder `dataset/`. Each file is read from the commit it was last
changed in, so a fetch today gets the same bytes as a fetch next year. A fetched file must be a
whole task file (every item passes eval's schema checks) and must match its SHA-256 in the
folder's `SHA256SUMS`: written on the first fetch, checked by every later fetch and by `--check`.
A user who has the checksums from elsewhere puts them in `SHA256SUMS` first.

The fifth task's file (steerable ValueKaleidoscope) is not in that repository.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ethos.errors import EthosError, RunFailure
from ethos.evaluation.tasks import checked_items, task_of_file
from ethos.inputs import MAX_INPUT_BYTES, write_file

REPOSITORY = "https://raw.githubusercontent.com/anudeex/VITAL"
# file -> the commit of the public repository that holds it
FILES = {
    "vital_overton_valuekaleidoscope.json": "0f1efa6e2fb02f61d19f75332641d9deea3c6bd2",
    "vital_steerable_opinionqa.json": "0f1efa6e2fb02f61d19f75332641d9deea3c6bd2",
    "vital_distributional_moralchoice.json": "10cbef9cc17b72fc161273c3827ba2e111b6d3ed",
    "vital_distributional_globalopinionqa.json": "10cbef9cc17b72fc161273c3827ba2e111b6d3ed",
}
SUMS = "SHA256SUMS"


def source_url(name: str, source: str | None) -> str:
    """Where `name` is read from: the pinned commit, or `source/NAME` (a mirror)."""
    return f"{source.rstrip('/')}/{name}" if source else f"{REPOSITORY}/{FILES[name]}/dataset/{name}"


def read_sums(folder: Path) -> dict[str, str]:
    path = folder / SUMS
    if not path.is_file():
        return {}
    sums = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        digest, _, name = line.strip().partition("  ")
        if not line.strip():
            continue
        if len(digest) != 64 or not name:
            raise EthosError(f"{path}: line {number} is not `SHA256  FILE`")
        sums[name.strip()] = digest.lower()
    return sums


def _download(url: str, timeout: float) -> bytes:
    import httpx

    try:  # the whole request bounded in time and size; no redirect followed anywhere
        with httpx.Client(timeout=timeout, follow_redirects=False) as client, client.stream("GET", url) as reply:
            if reply.status_code != 200:
                raise RunFailure(f"{url}: the server answered {reply.status_code}")
            body = bytearray()
            for chunk in reply.iter_bytes():
                body += chunk
                if len(body) > MAX_INPUT_BYTES:
                    raise RunFailure(f"{url}: larger than {MAX_INPUT_BYTES // 2**20} MB: not a VITAL file")
            return bytes(body)
    except httpx.HTTPError as exc:
        raise RunFailure(
            f"cannot reach {url} ({exc.__class__.__name__}): are you offline? Download the files by hand "
            f"into the folder, or pass --source with a mirror"
        ) from None


def _checked(name: str, body: bytes, where: str) -> None:
    """A whole task file: every item passes eval's checks (the error names the item and field)."""
    import json

    task = task_of_file(Path(name))
    try:
        items = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EthosError(f"{where}: not a VITAL file (not JSON: {exc.__class__.__name__})") from None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise EthosError(f"{where}: not a VITAL file (expected a list of items)")
    checked_items(task, items, where)  # as eval loads them: a file recorded here is one eval takes


def fetch(folder: Path, *, source: str | None = None, timeout: float = 60.0, files: list[str] | None = None) -> list[dict]:
    """Fetch, check and store each file; returns one row per file: name, bytes, sha256, status."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EthosError(f"--into {folder}: cannot create the folder ({exc.strerror})") from None
    sums, rows = read_sums(folder), []
    for name in files or list(FILES):
        url = source_url(name, source)
        body = _download(url, timeout)
        digest = hashlib.sha256(body).hexdigest()
        if name in sums and sums[name] != digest:
            raise EthosError(
                f"{url}: SHA-256 {digest[:16]}… differs from {folder / SUMS} ({sums[name][:16]}…): the file changed; nothing was written"
            )
        _checked(name, body, url)
        write_file(folder / name, body)
        rows.append({"file": name, "bytes": len(body), "sha256": digest, "status": "checked" if name in sums else "recorded"})
        sums[name] = digest
    write_file(folder / SUMS, "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))
    return rows


def check(folder: Path) -> list[dict]:
    """The files in `folder` against its SHA256SUMS."""
    sums = read_sums(folder)
    if not sums:
        raise EthosError(f"{folder / SUMS}: no checksums to check against (run `ethos data fetch --into {folder}` first)")
    rows = []
    for name, expected in sorted(sums.items()):
        path = folder / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        rows.append({"file": name, "sha256": digest, "status": "ok" if digest == expected else "missing" if digest is None else "changed"})
    return rows
