#!/usr/bin/env python3
"""A long-lived exec plug-in for the tests of the long-lived form. It answers
in-flight with the number of calls this process has answered; the service
of an in-flight call chooses a misbehaviour:

  slow: sleeps 2 s first     hang: never answers     garbage: prints "hello"
  long: prints a 2 MiB line  wrong-call: answers another call number
  exit: writes to stderr and exits 3 mid-call
  flood: writes 1 MiB to stderr, then answers
  deaf: answers, then closes its stdin and sleeps
  spawn: starts a child that sleeps (its pid in PID_FILE.child), then hangs

Arguments: PID_FILE (each start appends its pid) and optionally a startup
misbehaviour: --exit-at-once, --one-shot (reads stdin to its end, as a
one-shot plug-in does), --version-2, --no-call.
"""
import json
import os
import subprocess
import sys
import time

pid_file, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
with open(pid_file, "a") as f:
    f.write("%d\n" % os.getpid())
if mode == "--exit-at-once":
    sys.stderr.write("cannot reach the cloud API\n")
    sys.exit(3)
if mode == "--one-shot":
    req = json.load(sys.stdin)
    print(json.dumps({"result": None}))
    sys.exit(0)


def answer(call, **fields):
    sys.stdout.write(json.dumps(dict(call=call, **fields)) + "\n")
    sys.stdout.flush()


served = 0
while True:
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    req = json.loads(line)
    call = req["call"]
    if mode == "--no-call":
        print(json.dumps({"result": {"version": 1}}), flush=True)
        continue
    if req["op"] == "hello":
        answer(call, result={"version": 2 if mode == "--version-2" else 1})
        continue
    service = req.get("service")
    if service == "slow":
        time.sleep(2)
    elif service == "hang":
        time.sleep(3600)
    elif service == "spawn":
        child = subprocess.Popen(["sleep", "3600"])
        with open(pid_file + ".child", "w") as f:
            f.write("%d\n" % child.pid)
        time.sleep(3600)
    elif service == "garbage":
        print("hello", flush=True)
        continue
    elif service == "long":
        sys.stdout.write("x" * (17 << 20) + "\n")
        sys.stdout.flush()
        continue
    elif service == "wrong-call":
        answer(call + 1, result=0)
        continue
    elif service == "exit":
        sys.stderr.write("lost the connection to the load balancer\n")
        sys.exit(3)
    elif service == "flood":
        sys.stderr.write("x" * (1 << 20) + "\nthe last words\n")
        sys.stderr.flush()
    served += 1
    answer(call, result=served)
    if service == "deaf":
        os.close(0)
        time.sleep(3600)
