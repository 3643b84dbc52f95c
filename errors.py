"""The two kinds of failure the CLI reports as one line (see the README's exit codes).

- `EthosError`: a problem with what the user gave (a flag, a file, an item, a spec). Exit 2, the
  usage-error status of Unix and argparse.
- `RunFailure`: work that failed while running (an endpoint, a model, failed eval items). Exit 1.
"""


class EthosError(Exception):
    """A problem the user can fix in the input. The CLI prints it as one line and exits 2."""

    exit_code = 2


class RunFailure(EthosError):
    """A failure while running (endpoint, model, failed items). The CLI prints it and exits 1."""

    exit_code = 1
