#!/usr/bin/env python3
"""A Durable runtime adapter as an executable: runs infra-sets as Docker
containers through the docker CLI. It shows the exec protocol
(docs/adapters.md) in both forms: one JSON request on stdin and one JSON
response on stdout (one-shot), or, when the first line is the hello of the
long-lived form, one request per line and one response per line until stdin
ends.

In the host file:  plugins: {docker-py: {command: ["/usr/bin/python3", "/opt/durable/docker_runtime.py", "--owner", "team-a"], longLived: true}}
In a target:       runtime: {kind: "exec", plugin: "docker-py"}
"""
import json
import re
import subprocess
import sys

PINNED = re.compile(r"^[^@\s]+@sha256:[a-f0-9]{64}$")
LABEL = "io.durable.exec"


class AdapterError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def docker(*args, check=True):
    # stdin is Durable's: in the long-lived form, the next requests.
    p = subprocess.run(["docker", *args], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AdapterError("unavailable", "docker %s: %s" % (args[0], p.stderr.strip()))
    return p


def containers(owner, set_id=None):
    filters = ["--filter", "label=%s.owner=%s" % (LABEL, owner)]
    if set_id:
        filters += ["--filter", "label=%s.set=%s" % (LABEL, set_id)]
    out = docker("ps", "-a", "--no-trunc", *filters, "--format", "{{json .}}").stdout
    found = []
    for line in out.splitlines():
        c = json.loads(line)
        labels = dict(kv.split("=", 1) for kv in c["Labels"].split(",") if "=" in kv)
        found.append({
            "id": c["ID"],
            "running": c["State"] == "running",
            "set": labels.get(LABEL + ".set"),
            "service": labels.get(LABEL + ".service", ""),
            "release": labels.get(LABEL + ".release", ""),
            "index": int(labels.get(LABEL + ".index", "-1")),
            "port": labels.get(LABEL + ".port", ""),
        })
    found.sort(key=lambda c: c["id"])
    return found


def endpoint(c):
    out = docker("port", c["id"], c["port"] + "/tcp").stdout.split()
    v4 = [e for e in out if e.startswith("127.0.0.1:")]
    return v4[0] if v4 else ""


def ensure(owner, spec):
    if not PINNED.match(spec.get("artifact") or ""):
        raise AdapterError("invalid", "artifact %r must be pinned by digest" % spec.get("artifact"))
    if not spec.get("id") or spec.get("port", 0) <= 0:
        raise AdapterError("invalid", "spec needs an id and a port")
    kept = {}
    for c in containers(owner, spec["id"]):
        if not c["running"] or c["index"] in kept or c["index"] >= spec["replicas"]:
            docker("rm", "-f", c["id"])
        else:
            kept[c["index"]] = c
    if len(kept) < spec["replicas"] and docker("image", "inspect", spec["artifact"], check=False).returncode != 0:
        docker("pull", "-q", spec["artifact"])
    for i in range(spec["replicas"]):
        if i in kept:
            continue
        port = str(spec["port"])
        args = ["run", "-d", "--restart", "unless-stopped", "-p", "127.0.0.1::" + port,
                "-e", "PORT=" + port, "-e", "HOST=0.0.0.0"]
        for k, v in sorted((spec.get("env") or {}).items()):
            args += ["-e", "%s=%s" % (k, v)]
        for k, v in (("owner", owner), ("set", spec["id"]), ("service", spec["service"]),
                     ("release", spec["release"]), ("index", str(i)), ("port", port)):
            args += ["--label", "%s.%s=%s" % (LABEL, k, v)]
        args += [spec["artifact"], *(spec.get("args") or [])]
        cid = docker(*args).stdout.strip()
        kept[i] = {"id": cid, "index": i, "port": port}
    return {"id": spec["id"], "service": spec["service"], "release": spec["release"],
            "instances": [{"index": i, "endpoint": endpoint(kept[i])} for i in range(spec["replicas"])]}


def observe(owner):
    sets = {}
    for c in containers(owner):
        if not c["running"]:
            continue
        s = sets.setdefault(c["set"], {"id": c["set"], "service": c["service"], "release": c["release"], "instances": []})
        s["instances"].append({"index": c["index"], "endpoint": endpoint(c)})
    return list(sets.values())


UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def seconds(duration):
    """Seconds in a Go duration string such as "1m30s" or "500ms"."""
    parts = re.findall(r"([0-9.]+)(h|ms|m|s|us|µs|ns)", duration)
    return sum(float(n) * UNITS[u] for n, u in parts)


def remove(owner, set_id, grace):
    ids = [c["id"] for c in containers(owner, set_id)]
    if ids:
        docker("stop", "-t", str(int(seconds(grace))), *ids, check=False)
        docker("rm", "-f", *ids)
    return None


def handle(owner, req):
    """The response to one request."""
    try:
        if not isinstance(req, dict) or req.get("version") != 1:
            raise AdapterError("invalid", "protocol version %r: this adapter speaks 1" % (req.get("version") if isinstance(req, dict) else None))
        op = req.get("op")
        if op == "ensure":
            result = ensure(owner, req["spec"])
        elif op == "observe":
            result = observe(owner)
        elif op == "remove":
            result = remove(owner, req["id"], req.get("grace", "10s"))
        else:
            raise AdapterError("invalid", "operation %r is not a runtime operation" % op)
        return {"result": result}
    except AdapterError as e:
        return {"error": {"kind": e.kind, "message": str(e)}}
    except (ValueError, KeyError, TypeError) as e:
        return {"error": {"kind": "invalid", "message": "bad request: %s" % e}}


def serve(handler, first):
    """The long-lived form: answer each line, echoing its call number."""
    req, bad = first, None
    while True:
        if bad is not None:
            resp = {"error": {"kind": "invalid", "message": "bad request line: %s" % bad}}
        elif isinstance(req, dict) and req.get("op") == "hello":
            resp = {"result": {"version": 1}}
        else:
            resp = handler(req)
        resp["call"] = req.get("call") if isinstance(req, dict) else None
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            return
        try:
            req, bad = json.loads(line), None
        except ValueError as e:
            req, bad = None, e


def run(handler):
    """Answers one request (one-shot) or serves, when the first line is the
    long-lived form's hello."""
    first = sys.stdin.readline()
    try:
        try:
            req = json.loads(first)
        except ValueError:
            req = json.loads(first + sys.stdin.read())
    except ValueError as e:
        json.dump({"error": {"kind": "invalid", "message": "bad request: %s" % e}}, sys.stdout)
        return
    if isinstance(req, dict) and req.get("op") == "hello" and "call" in req:
        serve(handler, req)
    else:
        json.dump(handler(req), sys.stdout)


def main():
    owner = "durable-exec"
    if len(sys.argv) == 3 and sys.argv[1] == "--owner":
        owner = sys.argv[2]
    run(lambda req: handle(owner, req))


if __name__ == "__main__":
    main()
