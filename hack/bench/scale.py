#!/usr/bin/env python3
"""The measuring half of hack/bench/scale.sh, for one running reconciler.

scale.py API TOKENFILE REPO PID SERVICES

Waits until every service runs on the first target (the warm-up), then RUNS
times, each once the journal is quiet, commits a change of one service's env to REPO, calls POST /v1/trigger
and times, from the journal's timestamps, trigger -> revision loaded (the
revision entry naming the commit) and loaded -> first action (the first
intent entry after it); then waits for the journal to be quiet and measures
the reconciler's CPU over IDLE seconds (/proc/PID/stat, its own and its
plug-ins') and its peak RSS (VmHWM). Each wait is bounded by TIMEOUT
seconds. Prints one line of results, "key=value" pairs, on stdout; progress
goes to stderr. RUNS, IDLE and TIMEOUT come from the environment.
"""

import datetime
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


class Journal:
    """Reads the journal from where it was last read."""

    def __init__(self, api):
        self.api, self.seq = api, 0

    def read(self):
        entries = []
        while True:
            url = f"{self.api}/v1/journal?after={self.seq}&limit=1000"
            with urllib.request.urlopen(url, timeout=60) as r:
                page = json.load(r)
            if not page:
                return entries
            entries += page
            self.seq = page[-1]["seq"]


def stamp(entry):
    """The entry's time in seconds since the epoch (RFC 3339, nanoseconds)."""
    t = entry["time"]
    head, _, frac = t.rstrip("Z").partition(".")
    base = datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.timezone.utc)
    return base.timestamp() + float("0." + (frac or "0"))


def wait(what, timeout, poll):
    """Calls poll every 50 ms until it returns something, or fails after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = poll()
        if got is not None:
            return got
        time.sleep(0.05)
    sys.exit(f"scale.py: timed out after {timeout}s waiting for {what}; "
             "raise TIMEOUT, or look at the reconciler's log")


def warm_up(journal, services, timeout):
    """Waits until every service's bake has started on the first stage."""
    baking = set()

    def poll():
        for e in journal.read():
            if e["kind"] == "revision" and e.get("result") != "accepted":
                sys.exit(f"scale.py: the generated repository was rejected: {e['message']}")
            if e.get("action") == "bake-started":
                baking.add(e["service"])
        return True if len(baking) >= services else None

    start = time.monotonic()
    wait(f"all {services} services to run on the first stage", timeout, poll)
    return time.monotonic() - start


def commit(repo, run, services):
    """Commits a change of one service's env; returns the commit's hash."""
    name = service_name(run * 7919 % services)
    with open(os.path.join(repo, "bench-revision.cue"), "w") as f:
        f.write(f'package infra\n\nservices: "{name}": run: env: BENCH_REVISION: "{run}"\n')
    git = ["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", f"bench revision {run}: {name}"], check=True)
    return subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def service_name(i):
    """internal/benchrepo.Name."""
    teams = ["checkout", "catalog", "payments", "search", "identity", "shipping", "pricing", "reviews"]
    return f"{teams[i % len(teams)]}-{i:05d}"


def trigger(api, token):
    req = urllib.request.Request(f"{api}/v1/trigger", method="POST",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60):
        pass


def one_run(journal, api, token, repo, run, services, timeout):
    """Commits, triggers and returns (trigger -> loaded, loaded -> first action)."""
    rev = commit(repo, run, services)[:10]
    t0 = time.time()
    trigger(api, token)
    found = {}

    def poll():
        for e in journal.read():
            if "loaded" not in found and e["kind"] == "revision" and f"revision {rev} " in e["message"]:
                if e.get("result") != "accepted":
                    sys.exit(f"scale.py: revision {rev} was rejected: {e['message']}")
                found["loaded"] = stamp(e)
            elif "loaded" in found and e["kind"] == "intent":
                found["action"] = stamp(e)
                return True
        return None

    wait(f"revision {rev} to be loaded and acted on", timeout, poll)
    return found["loaded"] - t0, found["action"] - found["loaded"]


def quiet(journal, timeout, still=5.0):
    """Waits until the journal gets no entry for `still` seconds."""
    last = [time.monotonic()]

    def poll():
        if journal.read():
            last[0] = time.monotonic()
        return True if time.monotonic() - last[0] >= still else None

    wait(f"the journal to be quiet for {still}s", timeout, poll)


def cpu(pid):
    """Seconds of CPU: the process's own, and its plug-ins' (children it has
    waited for, plus the live ones)."""
    own, waited = ticks(pid)
    live = 0
    for child in children(pid):
        try:
            live += sum(ticks(child))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return own / TICK, (waited + live) / TICK


def ticks(pid):
    """(utime+stime, cutime+cstime) of pid in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state, field 3 of stat(5); utime is field 14.
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += f.read().split()
        except FileNotFoundError:
            pass
    return out


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    sys.exit(f"scale.py: no {key} in /proc/{pid}/status")


def idle(journal, pid, seconds):
    """Cores used by the reconciler and its plug-ins over seconds, and how
    many journal entries came meanwhile."""
    own0, plug0 = cpu(pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    own1, plug1 = cpu(pid)
    took = time.monotonic() - t0
    return (own1 - own0) / took, (plug1 - plug0) / took, len(journal.read())


def spread(xs):
    return f"{statistics.median(xs):.3f}({min(xs):.3f}-{max(xs):.3f})"


def main():
    api, token_file, repo, pid, services = sys.argv[1:6]
    services, runs = int(services), int(os.environ.get("RUNS", "5"))
    timeout, idle_s = float(os.environ.get("TIMEOUT", "900")), float(os.environ.get("IDLE", "30"))
    with open(token_file) as f:
        token = f.read().split()[1]
    journal = Journal(api)
    took = warm_up(journal, services, timeout)
    print(f"  warm-up: every service on the first stage after {took:.1f}s", file=sys.stderr)
    # Nothing in flight: every service serves, the first stage's bake waits
    # on its time, the later stages on their gates.
    quiet(journal, timeout)
    own, plug, entries = idle(journal, pid, idle_s)
    print(f"  idle, nothing in flight: {own:.3f} cores, plug-ins {plug:.3f}, {entries} entries", file=sys.stderr)
    loads, acts = [], []
    for run in range(1, runs + 1):
        quiet(journal, timeout)
        load, act = one_run(journal, api, token, repo, run, services, timeout)
        print(f"  run {run}: trigger->loaded {load:.3f}s, loaded->first action {act:.3f}s", file=sys.stderr)
        loads.append(load)
        acts.append(act)
    # The runs' canaries bake (minutes each): the loop steps them at the
    # active pace, health-checking their sets, and looks at the rest
    # every idle period.
    quiet(journal, timeout)
    baking, _, _ = idle(journal, pid, idle_s)
    print(f"loaded={spread(loads)} action={spread(acts)} idle_cpu={own:.3f} plugin_cpu={plug:.3f} "
          f"idle_entries={entries} baking_cpu={baking:.3f} rss_mib={status(pid, 'VmHWM') / 1024:.0f} warmup_s={took:.1f}")


if __name__ == "__main__":
    main()
