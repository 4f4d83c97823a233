#!/usr/bin/env python3
"""A Durable traffic adapter as an executable: drives a load balancer's HTTP
API (here Durable's own router admin API, standing in for a cloud load
balancer). It shows the exec protocol (docs/adapters.md), in both forms: it
serves JSON lines when the first line is the long-lived form's hello.

In the host file:  plugins: {lb: {command: ["/usr/bin/python3", "/opt/durable/router_traffic.py", "127.0.0.1:7071"], longLived: true}}
In a target:       traffic: {kind: "exec", plugin: "lb"}
"""
import json
import sys
import urllib.error
import urllib.request


class AdapterError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def call(admin, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://%s%s" % (admin, path), data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        message = e.read().decode(errors="replace")
        kind = {400: "invalid", 404: "not-found", 409: "conflict"}.get(e.code, "unavailable")
        raise AdapterError(kind, "%s %s: %d %s" % (method, path, e.code, message.strip()))
    except (urllib.error.URLError, OSError) as e:
        raise AdapterError("unavailable", "%s %s: %s" % (method, path, e))


def handle(admin, req):
    """The response to one request."""
    try:
        if not isinstance(req, dict) or req.get("version") != 1:
            raise AdapterError("invalid", "protocol version %r: this adapter speaks 1" % (req.get("version") if isinstance(req, dict) else None))
        op = req.get("op")
        if op == "set-split":
            split = req["split"]
            call(admin, "PUT", "/v1/splits/" + split["service"], split)
            result = None
        elif op == "split":
            result = call(admin, "GET", "/v1/splits/" + req["service"])
        elif op == "splits":
            result = [split for _, split in sorted(call(admin, "GET", "/v1/splits").items())]
        elif op == "in-flight":
            metrics = call(admin, "GET", "/v1/metrics")
            result = metrics.get(req["service"], {}).get(req["set"], {}).get("inFlight", 0)
        else:
            raise AdapterError("invalid", "operation %r is not a traffic operation" % op)
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
    if len(sys.argv) != 2:
        json.dump({"error": {"kind": "invalid", "message": "usage: router_traffic.py ADMIN_HOST:PORT"}}, sys.stdout)
        return
    admin = sys.argv[1]
    run(lambda req: handle(admin, req))


if __name__ == "__main__":
    main()
