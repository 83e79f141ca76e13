"""The numbers of one kernel-benchmark run (bench/kernels.py) and their
markdown tables: one per shape, then summaries of decode against the DRAM
read bandwidth and of M > 8 against OpenBLAS. A run saves them as JSON
(--json) and `kernels.py --report-from FILE` prints the tables again.
"""

import json

from kernel_models import (DECODE_MAX_M, MB, decode_copies, scheme_applies,
                           shape_label)

# A summary cell gets a '*' where the other processes used at least this
# share of the CPUs while it (or its OpenBLAS baseline) was measured.
BUSY_MARK = 0.25


class RunResults:
    """What one run measured.

    times: {(n, k, m, scheme, threads, source): (ms per linear, others)},
      source "openblas" (scheme "f32") or a lowering; others is the CPU
      share the other processes used meanwhile.
    weight_bytes: {(n, k, scheme, lowering, "decode"|"prefill"): bytes of
      one linear's weights in the compiled library}.
    dram: [(when, {threads: GB/s})], measured along the run.
    """

    def __init__(self, command="", started="", openblas=None, shapes=(),
                 ms=(), schemes=(), threads=(), kernels=()):
        self.command, self.started = command, started
        self.openblas = openblas or {}
        self.shapes, self.ms, self.schemes = list(shapes), list(ms), list(schemes)
        self.threads, self.kernels = list(threads), list(kernels)
        self.times, self.weight_bytes, self.dram = {}, {}, []

    def dram_used(self, threads):
        """The denominator of % DRAM: the best measurement at `threads`."""
        return max(point[threads] for _, point in self.dram)

    def to_json(self):
        return {
            "command": self.command, "started": self.started,
            "openblas": self.openblas,
            "selection": {"shapes": self.shapes, "m": self.ms,
                          "schemes": self.schemes, "threads": self.threads,
                          "kernels": self.kernels},
            "dram_gbps": self.dram,
            "results": [dict(zip(("n", "k", "m", "scheme", "threads",
                                  "source"), key), ms=v[0], others=v[1])
                        for key, v in self.times.items()],
            "bytes_per_linear": [dict(zip(("n", "k", "scheme", "kernels",
                                           "class"), key), bytes=v)
                                 for key, v in self.weight_bytes.items()],
        }

    @classmethod
    def from_json(cls, data):
        run = cls(data.get("command", ""), data.get("started", ""),
                  data.get("openblas"))
        for r in data["results"]:
            run.times[(r["n"], r["k"], r["m"], r["scheme"], r["threads"],
                       r["source"])] = (r["ms"], r["others"])
        for r in data["bytes_per_linear"]:
            run.weight_bytes[(r["n"], r["k"], r["scheme"], r["kernels"],
                              r["class"])] = r["bytes"]
        run.dram = [(when, {int(t): g for t, g in point.items()})
                    for when, point in data["dram_gbps"]]
        selection = data.get("selection")
        if selection:
            run.shapes = [tuple(s) for s in selection["shapes"]]
            run.ms, run.schemes = selection["m"], selection["schemes"]
            run.threads, run.kernels = selection["threads"], selection["kernels"]
        else:  # Files written before the selection was saved.
            keys = run.times.keys()
            run.shapes = list(dict.fromkeys((key[0], key[1]) for key in keys))
            run.ms = sorted({key[2] for key in keys})
            run.schemes = list(dict.fromkeys(
                key[3] for key in keys if key[5] != "openblas"))
            run.threads = sorted({key[4] for key in keys})
            run.kernels = list(dict.fromkeys(
                key[5] for key in keys if key[5] != "openblas"))
        return run

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.from_json(json.load(f))

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=1)

    def measures(self, n, k, m, scheme, threads, source):
        """(ms, GB/s, share of DRAM, GFLOP/s, share of OpenBLAS, others,
        OpenBLAS's others) of one cell, or None if not measured."""
        entry = self.times.get((n, k, m, scheme, threads, source))
        if entry is None:
            return None
        ms, others = entry
        cls = "decode" if m <= DECODE_MAX_M else "prefill"
        nbytes = (4 * n * k if source == "openblas" else
                  self.weight_bytes.get((n, k, scheme, source, cls), 0))
        gbps = nbytes / (ms * 1e-3) / 1e9
        gflops = 2 * m * n * k / (ms * 1e-3) / 1e9
        blas = self.times.get((n, k, m, "f32", threads, "openblas"))
        return (ms, gbps, gbps / self.dram_used(threads), gflops,
                blas[0] / ms if blas else None, others,
                blas[1] if blas else None)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value):
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def fmt_ms(value):
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.4f}"


def pct(value):
    return "–" if value is None else f"{100 * value:.0f}"


def shape_table(run, n, k):
    """The table of one shape: a row per M, scheme and thread count."""
    kernels = run.kernels
    both = "reference" in kernels and "fast" in kernels
    header = ["M", "scheme", "thr", "L", "MB/linear", "OpenBLAS ms",
              "OpenBLAS GFLOP/s"]
    for kern in kernels:
        header += [f"{kern} ms", "GB/s", "% DRAM", "GFLOP/s", "% BLAS"]
    header += (["ref/fast"] if both else []) + ["others %"]
    rows = []
    for m in run.ms:
        cls = "decode" if m <= DECODE_MAX_M else "prefill"
        for scheme in run.schemes:
            if not scheme_applies(k, scheme):
                continue
            for threads in run.threads:
                blas = run.measures(n, k, m, "f32", threads, "openblas")
                nbytes = run.weight_bytes.get((n, k, scheme, kernels[0], cls))
                copies = decode_copies(n, k, scheme) if cls == "decode" else 1
                row = [m, scheme, threads, copies,
                       fmt(nbytes / MB) if nbytes else "–",
                       fmt_ms(blas[0]) if blas else "–",
                       fmt(blas[3]) if blas else "–"]
                others = [pct(blas[5]) if blas else "–"]
                times = {}
                for kern in kernels:
                    got = run.measures(n, k, m, scheme, threads, kern)
                    if got is None:
                        row += ["–"] * 5
                        others.append("–")
                        continue
                    times[kern] = got[0]
                    row += [fmt_ms(got[0]), fmt(got[1]), pct(got[2]),
                            fmt(got[3]), pct(got[4])]
                    others.append(pct(got[5]))
                if both:
                    row.append(f"{times['reference'] / times['fast']:.2f}"
                               if len(times) == 2 else "–")
                row.append("/".join(others))
                rows.append(row)
    return markdown_table(header, rows)


def summary_table(run, kern, decode):
    """% of DRAM (decode) or of OpenBLAS (M > 8) of lowering `kern`, a row
    per shape and M, a column per scheme and thread count."""
    ms = [m for m in run.ms if (m <= DECODE_MAX_M) == decode]
    if not ms:
        return None
    header = ["N×K", "M"] + [f"{s} {t}T" for s in run.schemes
                             for t in run.threads]
    rows = []
    for n, k in run.shapes:
        for m in ms:
            row = [f"{n}×{k}", m]
            for scheme in run.schemes:
                for threads in run.threads:
                    got = run.measures(n, k, m, scheme, threads, kern)
                    value = got and got[2 if decode else 4]
                    if value is None:
                        row.append("–")
                        continue
                    busy = got[5] >= BUSY_MARK or (
                        not decode and got[6] is not None and
                        got[6] >= BUSY_MARK)
                    row.append(pct(value) + ("*" if busy else ""))
            rows.append(row)
    return markdown_table(header, rows)


def report(run):
    """The markdown report of `run`."""
    out = [f"# Kernel bench, {run.started}\n",
           f"Command: `{run.command}`\n",
           f"OpenBLAS: {run.openblas.get('corename', 'not linked')} kernels "
           f"({run.openblas.get('config', '').replace(',', ' ')})\n",
           "DRAM read GB/s (best over 1, 2, 4, 8 streams per thread), "
           "measured along the run; the best of each column is the "
           "denominator of % DRAM:\n",
           markdown_table(
               ["measured"] + [f"{t} thread(s)" for t in run.threads],
               [[when] + [f"{point[t]:.2f}" for t in run.threads]
                for when, point in run.dram] +
               [["**used**"] + [f"**{run.dram_used(t):.2f}**"
                                for t in run.threads]]) + "\n"]
    for n, k in run.shapes:
        out += [f"## {n}×{k} {shape_label(n, k)}\n",
                shape_table(run, n, k) + "\n"]
    for kern in run.kernels:
        for decode, title in (
                (True, "decode, % of DRAM read bandwidth"),
                (False, f"M > {DECODE_MAX_M}, % of OpenBLAS sgemm GFLOP/s")):
            table = summary_table(run, kern, decode)
            if table:
                out += [f"## Summary ({kern}): {title}\n", table + "\n"]
    out.append(f"`*`: the other processes used {BUSY_MARK:.0%} or more of "
               "the CPUs while the cell (or its OpenBLAS baseline) was "
               "measured; the shape tables give the share (others %: "
               "OpenBLAS / each lowering).\n")
    return "\n".join(out)
