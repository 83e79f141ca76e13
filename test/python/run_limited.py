"""Runs a command under resource limits and expects it to fail.

Usage: run_limited.py [--file-size BYTES] [--address-space BYTES] COMMAND...

--file-size sets RLIMIT_FSIZE, as a full disk would stop a writer (writes
past it fail, and the writer gets SIGXFSZ). --address-space sets RLIMIT_AS,
so a program that allocates memory proportional to a size claimed by a
hostile file dies instead of swapping; it is skipped under AddressSanitizer
(ASAN_OPTIONS set), whose shadow memory needs terabytes of address space.

Prints "status: <exit code>" or "status: signal <name>". Exits 0 when the
command failed (by status or signal) and 1 when it succeeded, so that a lit
RUN line can require the failure and then check what was left behind.
"""

import argparse
import os
import resource
import signal
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--file-size", type=int)
    parser.add_argument("--address-space", type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    limit_memory = args.address_space and "ASAN_OPTIONS" not in os.environ

    def set_limits():
        if args.file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (args.file_size, args.file_size))
        if limit_memory:
            resource.setrlimit(resource.RLIMIT_AS,
                               (args.address_space, args.address_space))

    result = subprocess.run(args.command, preexec_fn=set_limits)
    if result.returncode < 0:
        print(f"status: signal {signal.Signals(-result.returncode).name}")
    else:
        print(f"status: {result.returncode}")
    sys.stdout.flush()
    return 0 if result.returncode != 0 else 1


if __name__ == "__main__":
    sys.exit(main())
