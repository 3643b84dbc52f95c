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
from ethos.inputs import MAX_INPUT_BYTES, read_text, write_file

REPOSITORY = "https://raw.githubusercontent.com/anudeex/VITAL"
PUBLIC_PAGE = "github.com/anudeex/VITAL"
# file -> the commit of the public repository that holds it
FILES = {
    "vital_overton_valuekaleidoscope.json": "0f1efa6e2fb02f61d19f75332641d9deea3c6bd2",
    "vital_steerable_opinionqa.json": "0f1efa6e2fb02f61d19f75332641d9deea3c6bd2",
    "vital_distributional_moralchoice.json": "10cbef9cc17b72fc161273c3827ba2e111b6d3ed",
    "vital_distributional_globalopinionqa.json": "10cbef9cc17b72fc161273c3827ba2e111b6d3ed",
}
SUMS = "SHA256SUMS"


def source_url(name: str, source: str | None) -> str:
    """Where `name` is read from: the pinned commit, or `source/NAME` (a mirror: a URL, a `file://`
    URL or a local folder); a query string stays after the name."""
    if not source:
        return f"{REPOSITORY}/{FILES[name]}/dataset/{name}"
    base, mark, query = source.partition("?")
    return f"{base.rstrip('/')}/{name}{mark}{query}"


def _local(source: str | None) -> Path | None:
    """The folder a `--source` names when it is one on this machine (a path or a `file://` URL)."""
    if not source:
        return None
    if source.startswith("file://"):
        return Path(source.removeprefix("file://"))
    return None if "://" in source else Path(source)


def read_sums(folder: Path) -> dict[str, str]:
    """The folder's SHA256SUMS: a checksum per VITAL file. A line naming anything else (a path, a
    file of another name) is refused by its number: the file never reads outside its folder."""
    path = folder / SUMS
    if not path.exists():
        return {}
    sums = {}
    for number, line in enumerate(read_text(path).splitlines(), 1):
        digest, _, name = line.strip().partition("  ")
        if not line.strip():
            continue
        if len(digest) != 64 or not name:
            raise EthosError(f"{path}: line {number} is not `SHA256  FILE`")
        if name.strip() not in FILES and not (name.strip().startswith("vital_") and Path(name.strip()).name == name.strip()):
            raise EthosError(f"{path}: line {number} names {name.strip()[:60]!r}, not a VITAL file in this folder")
        sums[name.strip()] = digest.lower()
    return sums


def _download(url: str, timeout: float) -> bytes:
    """The file at `url`, the whole of it within `timeout` seconds and 64 MB; a local file as it is."""
    import time

    import httpx

    if "://" not in url or url.startswith("file://"):
        path = Path(url.removeprefix("file://"))
        try:
            return read_text(path).encode("utf-8")
        except OSError as exc:
            raise EthosError(f"{path}: cannot read it ({exc.strerror or exc.__class__.__name__})") from None
    deadline = time.monotonic() + timeout
    try:  # the whole request bounded in time and size; no redirect followed anywhere
        with httpx.Client(timeout=timeout, follow_redirects=False) as client, client.stream("GET", url) as reply:
            if reply.status_code != 200:
                raise RunFailure(f"{url}: the server answered {reply.status_code}")
            body = bytearray()
            for chunk in reply.iter_bytes():
                body += chunk
                if len(body) > MAX_INPUT_BYTES:
                    raise RunFailure(f"{url}: larger than {MAX_INPUT_BYTES // 2**20} MB: not a VITAL file")
                if time.monotonic() > deadline:
                    raise RunFailure(f"{url}: not whole within --timeout {timeout:g} s")
            return bytes(body)
    except httpx.HTTPError as exc:
        raise RunFailure(
            f"cannot reach {url.split('/dataset/')[0].rsplit('/', 1)[0]} ({exc.__class__.__name__}): are you offline? Download "
            f"{', '.join(FILES)} by hand from {PUBLIC_PAGE} (folder dataset/) into the folder and run `ethos data check --init`, "
            "or pass --source with a mirror or a local folder"
        ) from None


def _checked(name: str, body: bytes, where: str) -> None:
    """A whole task file: every item passes eval's checks (the error names the item and field)."""
    import json

    from ethos.evaluation.tasks import checked_items, task_of_file  # here: `ethos --help` lists FILES without loading the tasks

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
    local = _local(source)
    if local is not None and (local / "dataset").is_dir() and not any((local / name).exists() for name in FILES):
        local = local / "dataset"  # a clone of the VITAL repository keeps its files in dataset/
    if local is not None:
        missing = [name for name in files or FILES if not (local / name).is_file()]
        if missing:
            raise EthosError(
                f"--source {source}: no {', '.join(missing)} there (looked in {local}); give the folder that holds the task files, "
                "or a clone of the VITAL repository"
            )
    for name in files or list(FILES):
        url = str(local / name) if local else source_url(name, source)
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


def check(folder: Path, *, init: bool = False) -> list[dict]:
    """The files in `folder` against its SHA256SUMS. `init`: the VITAL files placed there by hand,
    each checked as eval loads it, are recorded in SHA256SUMS first (a file already recorded is
    checked against its line, never replaced)."""
    sums = read_sums(folder)
    if init:
        found = [name for name in FILES if (folder / name).exists() and name not in sums]
        if not found and not sums:
            named = sorted(p.name for p in folder.glob("vital_*.json"))
            hint = f" (it holds {', '.join(named[:4])}: rename them to these names)" if named else ""
            raise EthosError(f"{folder}: none of {', '.join(FILES)} is there to record{hint}")
        for name in found:
            body = read_text(folder / name).encode("utf-8")
            _checked(name, body, str(folder / name))
            sums[name] = hashlib.sha256(body).hexdigest()
        write_file(folder / SUMS, "".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))
    if not sums:
        raise EthosError(
            f"{folder / SUMS}: no checksums to check against: `ethos data fetch --into {folder}`, or, for files placed there by hand, "
            f"`ethos data check --init --into {folder}`"
        )
    rows = []
    for name, expected in sorted(sums.items()):
        path = folder / name
        try:
            digest = hashlib.sha256(read_text(path).encode("utf-8")).hexdigest()
        except (OSError, EthosError, UnicodeDecodeError):
            digest = None
        rows.append({"file": name, "sha256": digest, "status": "ok" if digest == expected else "missing" if digest is None else "changed"})
    return rows
