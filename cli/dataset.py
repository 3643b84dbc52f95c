"""`ethos data fetch|check`: the VITAL files from their public repository."""

from __future__ import annotations

from ethos.cli.render import info
from ethos.errors import EthosError
from ethos.evaluation.data import check, fetch


def data_command(args) -> int:

    if args.action == "check":
        rows = check(args.into, init=args.init)
        for row in rows:
            print(f"{row['status']:<8} {row['file']}")
        bad = [r["file"] for r in rows if r["status"] != "ok"]
        if bad:
            raise EthosError(f"{args.into}: {len(bad)} file(s) missing or changed: {', '.join(bad)}")
        return 0
    info(f"Fetching VITAL into {args.into} ...")
    for row in fetch(args.into, source=args.source, timeout=args.timeout):
        print(f"{row['status']:<8} {row['file']} ({row['bytes'] / 1e6:.1f} MB, sha256 {row['sha256'][:16]}…)")
    info(f"Done: use it with `ethos eval --data {args.into} --task ...`")
    return 0
