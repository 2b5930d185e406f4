"""Resident memory of this test process, for the long-run memory tests (test_memory.py,
test_tuning.py); bench/serving_load.py reads another process's the same way."""


def rss_mib() -> float:
    """This process's resident set size (VmRSS), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
