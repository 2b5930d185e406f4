"""Mutation testing of the modules where a silent bug costs users most (run by scripts/mutation.sh).

Each module group is mutated by mutmut (https://mutmut.readthedocs.io) against only the tests that
cover it, in its own working copy under build/mutation/<group>/, so groups never share state and a
run starts clean. A mutant is *killed* when a selected test fails (or times out) with it in place;
a surviving mutant is either a gap in the tests or *equivalent* (no test could tell it apart),
and the equivalent ones are listed, with the reason, in scripts/mutation-equivalent.txt.

    python scripts/mutation.py                 # every group
    python scripts/mutation.py rbm registry    # some groups
    python scripts/mutation.py --list          # the groups, their modules and tests

The score of a group is killed / (mutants - equivalent). The summary goes to
build/mutation/summary.json and to the terminal with the diff of every surviving mutant.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"
EQUIVALENT = ROOT / "scripts" / "mutation-equivalent.txt"
TARGET = 0.85


@dataclass(frozen=True)
class Group:
    modules: tuple[str, ...]
    tests: tuple[str, ...]
    what: str


GROUPS = {
    "export": Group(
        ("keras_dl/export/saved_model.py", "keras_dl/export/layout.py"),
        ("tests/test_export.py",),
        "the exporter's parity check and its staging / atomic rename",
    ),
    "rbm": Group(
        ("keras_dl/layers/rbm.py",),
        ("tests/test_rbm.py",),
        "the RBM layer: CD-k / PCD update, Gibbs chain, free energy, pseudo-likelihood",
    ),
    "resume": Group(
        ("keras_dl/training/monitoring.py", "keras_dl/training/run_dir.py"),
        ("tests/test_monitor.py", "tests/test_run_dir.py"),
        "resume state: MonitorState and the run-dir comparison",
    ),
    "registry": Group(
        ("keras_dl/registry.py",),
        ("tests/test_registry.py",),
        "the registry's registration and argument checking",
    ),
    "serving": Group(
        ("keras_dl/serving/server.py", "keras_dl/serving/repository.py",
         "keras_dl/serving/rest.py", "keras_dl/serving/grpc_service.py",
         "keras_dl/serving/connections.py", "keras_dl/serving/calls.py"),
        ("tests/test_serving.py", "tests/test_serving_hardening.py",
         "tests/test_serving_limits.py"),
        "the server's request handling and model repository",
    ),
}


# mutmut wraps each mutated function in a trampoline taking (*args, **kwargs); Keras reads a
# layer's __init__ arguments with inspect.getfullargspec, which does not follow __wrapped__.
PLUGIN = '''"""Loaded into pytest by scripts/mutation.py: Keras sees through mutmut's trampolines."""
import functools
import inspect

_getfullargspec = inspect.getfullargspec


@functools.wraps(_getfullargspec)
def getfullargspec(function):
    return _getfullargspec(inspect.unwrap(function))


inspect.getfullargspec = getfullargspec
'''


def read_equivalent() -> dict[str, tuple[str, str]]:
    """Mutant name -> (a fragment of its mutated line, why no test can tell it apart)."""
    table = {}
    if not EQUIVALENT.exists():
        return table
    for number, line in enumerate(EQUIVALENT.read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not all(parts):
            sys.exit(f"{EQUIVALENT.name}:{number}: expected 'mutant | mutated line fragment | "
                     f"reason', got {line!r}")
        table[parts[0]] = (parts[1], parts[2])
    return table


def mutmut(workdir: Path, *args: str, capture: bool = True) -> str:
    command = [sys.executable, "-m", "mutmut", *args]
    done = subprocess.run(command, cwd=workdir, text=True, capture_output=capture,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                               "KERAS_DL_SERVER_FIXTURE_SCOPE": "function"})
    if done.returncode != 0 and not capture:
        raise SystemExit(f"mutmut {' '.join(args)} failed with exit code {done.returncode}")
    if done.returncode not in (0, 1) and capture:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"mutmut {' '.join(args)} failed with exit code {done.returncode}")
    return done.stdout if capture else ""


def prepare(name: str, group: Group) -> Path:
    workdir = WORK / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    shutil.copytree(ROOT / "keras_dl", workdir / "keras_dl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", workdir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    # some tests run a benchmark's code (the serving tests start bench/serving_load.py's server)
    shutil.copytree(ROOT / "bench", workdir / "bench", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", workdir / "pyproject.toml")
    missing = [path for path in group.modules + group.tests if not (ROOT / path).exists()]
    if missing:
        sys.exit(f"group {name!r}: {', '.join(missing)} not found")
    (workdir / "mutation_plugin.py").write_text(PLUGIN, "utf-8")
    # forkserver: each mutant's process forks from one that has imported TensorFlow but run no
    # op (forking mutmut's main process, which ran the suite once, can deadlock TensorFlow's
    # thread pools, and a deadlock would be misread as a timeout, that is, a killed mutant)
    lines = ["[mutmut]", "source_paths = keras_dl", "also_copy =", "    mutation_plugin.py", "    bench",
             "process_isolation = forkserver",
             "only_mutate ="]
    lines += [f"    {module}" for module in group.modules]
    # one process per mutant run; the suite's own xdist workers would only add start-up time
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -p",
              "    mutation_plugin", "    -n", "    0",
              "pytest_add_cli_args_test_selection ="]
    lines += [f"    {test}" for test in group.tests]
    (workdir / "setup.cfg").write_text("\n".join(lines) + "\n", "utf-8")
    return workdir


def mutated_line(diff: str) -> str:
    added = [line[1:].strip() for line in diff.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:].strip() for line in diff.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    return " / ".join(added) if added else "(removed) " + " / ".join(removed)


def run_group(name: str, group: Group, jobs: int, equivalent: dict) -> dict:
    print(f"== {name}: {group.what}\n   mutating {', '.join(group.modules)}\n"
          f"   against {', '.join(group.tests)}", flush=True)
    workdir = prepare(name, group)
    start = time.perf_counter()
    mutmut(workdir, "run", "--max-children", str(jobs), capture=False)
    seconds = time.perf_counter() - start
    statuses = {}
    for line in mutmut(workdir, "results", "--all", "true").splitlines():
        match = re.match(r"\s*(\S+): (.+)$", line)
        if match:
            statuses[match.group(1)] = match.group(2).strip()
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    survivors, judged, stale = [], [], []
    for mutant, status in sorted(statuses.items()):
        if status == "killed" or status == "timeout":
            continue
        diff = mutmut(workdir, "show", mutant)
        line = mutated_line(diff)
        if mutant in equivalent:
            fragment, reason = equivalent[mutant]
            if fragment in line:
                judged.append({"mutant": mutant, "line": line, "reason": reason})
                continue
            stale.append(mutant)
        survivors.append({"mutant": mutant, "status": status, "line": line, "diff": diff})
    unchecked = counts.get("not checked", 0)
    if unchecked:
        raise SystemExit(f"group {name!r}: {unchecked} of {len(statuses)} mutants were not "
                         "checked (mutmut stopped early); see its output above")
    detected = counts.get("killed", 0) + counts.get("timeout", 0)
    total = len(statuses)
    scored = total - len(judged)
    return {
        "group": name, "modules": list(group.modules), "tests": list(group.tests),
        "mutants": total, "killed": counts.get("killed", 0), "timeout": counts.get("timeout", 0),
        "equivalent": len(judged), "not_killed": len(survivors),
        "score": detected / scored if scored else 1.0, "seconds": round(seconds, 1),
        "survivors": survivors, "judged_equivalent": judged, "stale_equivalent": stale,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP",
                        help=f"groups to run (default: all of {', '.join(GROUPS)})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="mutants tested at once (default: the CPU count)")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, group in GROUPS.items():
            print(f"{name:9} {group.what}\n          modules: {', '.join(group.modules)}\n"
                  f"          tests:   {', '.join(group.tests)}")
        return 0
    unknown = [name for name in args.groups if name not in GROUPS]
    if unknown:
        parser.error(f"unknown group {unknown[0]!r}; allowed: {', '.join(GROUPS)}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    equivalent = read_equivalent()
    results = [run_group(name, GROUPS[name], args.jobs, equivalent)
               for name in (args.groups or GROUPS)]
    WORK.mkdir(parents=True, exist_ok=True)
    summary = WORK / "summary.json"
    previous = json.loads(summary.read_text()) if summary.exists() else {}
    previous.update({result["group"]: result for result in results})
    summary.write_text(json.dumps(previous, indent=2) + "\n")
    print()
    for result in results:
        for survivor in result["survivors"]:
            print(f"--- {result['group']}: {survivor['mutant']} ({survivor['status']})\n"
                  f"{survivor['diff'].strip()}\n")
        for mutant in result["stale_equivalent"]:
            print(f"{result['group']}: {mutant} is listed as equivalent in {EQUIVALENT.name} but "
                  "its mutated line changed; review it again")
    print(f"{'group':9} {'mutants':>7} {'killed':>6} {'timeout':>7} {'equiv.':>6} "
          f"{'survived':>8} {'score':>6} {'time':>7}")
    for r in results:
        print(f"{r['group']:9} {r['mutants']:7d} {r['killed']:6d} {r['timeout']:7d} "
              f"{r['equivalent']:6d} {r['not_killed']:8d} {r['score']:6.1%} {r['seconds']:6.0f}s")
    print(f"summary: {summary.relative_to(ROOT)}")
    return 0 if all(r["score"] >= TARGET for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
