"""A shared machine: how busy the other processes keep the CPUs.

Helpers of the benchmark drivers in bench/ (standard library only):
cpu_busy() samples /proc/stat, wait_quiet() waits for the others to leave
the CPUs a measurement needs, and OthersMeter says how much CPU the other
processes used while a child process of ours was being measured.
"""

import os
import resource
import sys
import time


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _stat_jiffies():
    """(all jiffies, idle + iowait jiffies) of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    return sum(values), values[3] + values[4]


def cpu_busy(interval=1.0):
    """Fraction of all CPUs busy over `interval` s (/proc/stat; this process
    sleeps meanwhile, so it is the other processes' use)."""
    try:
        total0, idle0 = _stat_jiffies()
        time.sleep(interval)
        total1, idle1 = _stat_jiffies()
    except OSError:
        return float("nan")
    total = total1 - total0
    return 1.0 - (idle1 - idle0) / total if total > 0 else float("nan")


def quiet_threshold(quiet, threads):
    """The busy fraction below which `threads` CPUs count as free: `quiet`
    plus the share of the CPUs a measurement at `threads` does not use."""
    cpus = os.cpu_count() or 1
    return quiet + max(0, cpus - threads) / cpus


def wait_quiet(quiet, threads, max_wait, log=_log):
    """Waits (up to `max_wait` s) until the other processes leave `threads`
    CPUs free (busy below quiet_threshold over 2 s). Returns the last busy
    fraction."""
    threshold = quiet_threshold(quiet, threads)
    deadline = time.monotonic() + max_wait
    busy = cpu_busy(2.0)
    announced = False
    while busy >= threshold and time.monotonic() < deadline:
        if not announced:
            log(f"  (machine {busy:.0%} busy; waiting up to {max_wait} s for "
                f"< {threshold:.0%})")
            announced = True
        busy = cpu_busy(2.0)
    if busy >= threshold:
        log(f"  (still {busy:.0%} busy: measuring anyway)")
    return busy


class OthersMeter:
    """Measures the CPU the other processes used while this one waited for
    its children: use `with OthersMeter() as meter:` around a
    subprocess.run, then meter.others is the fraction of all CPUs busy with
    work that was neither this process's nor its children's (/proc/stat
    minus our rusage), over the wall time of the block."""

    def __enter__(self):
        self._clock = os.sysconf("SC_CLK_TCK")
        self._start = time.monotonic()
        self._ours = self._our_seconds()
        try:
            self._jiffies = _stat_jiffies()
        except OSError:
            self._jiffies = None
        self.others = float("nan")
        return self

    @staticmethod
    def _our_seconds():
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    def __exit__(self, *exc):
        wall = time.monotonic() - self._start
        if self._jiffies is None or wall <= 0:
            return False
        total1, idle1 = _stat_jiffies()
        total0, idle0 = self._jiffies
        busy_seconds = ((total1 - total0) - (idle1 - idle0)) / self._clock
        ours = self._our_seconds() - self._ours
        cpus = os.cpu_count() or 1
        self.others = max(0.0, busy_seconds - ours) / (wall * cpus)
        return False
