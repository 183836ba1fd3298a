#!/usr/bin/env python3
"""Fault injection for `fargate-sim demo`, in bounded loops on loopback only.

    reliability/faults.py [--bin PATH] [--rounds N] [PROBE ...]

Probes (all by default):
  signals     SIGINT, SIGTERM or SIGHUP at a random moment (0.03-0.5 s) of a run
  kill-demo   SIGKILL of the demo after each step, then `demo --cleanup`
  kill-ls     SIGKILL of the LocalStack the demo started, after each step
  stall       a LocalStack that answers its health check, then stalls (or is slow)
  parallel    50 demos at once on one LocalStack

Each probe prints one JSON line with its figures, and the script ends with a summary. A
LocalStack for the probes that need one is started with `fargate-sim localstack start`; leaks
are counted by listing that LocalStack's roles and buckets with boto3 (from LocalStack's own
pinned environment, which the script re-runs itself under). Exit status 1 when a probe found
a leak, a hang or a wrong exit status.
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("FARGATE_SIM_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "fargate-sim")
VENV_PY = os.path.join(CACHE, "localstack-4.13.1-venv", "bin", "python")

if os.environ.get("FAULTS_REEXEC") != "1" and os.path.exists(VENV_PY) and sys.executable != VENV_PY:
    os.environ["FAULTS_REEXEC"] = "1"
    os.execv(VENV_PY, [VENV_PY] + sys.argv)

import boto3  # noqa: E402  (from LocalStack's environment)

STEP = re.compile(r"^.\[(\d+)/\d+\] ")
RUN_ID = re.compile(r"^run ([0-9a-f]{8}):")


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name="eu-west-1",
              aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("s3", **kw), boto3.client("iam", **kw)


def leaked(endpoint, run_id):
    """Buckets and roles of run `run_id` still in LocalStack."""
    s3, iam = clients(endpoint)
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    names += [r["RoleName"] for r in iam.list_roles().get("Roles", [])]
    return [n for n in names if run_id and n.endswith(run_id)]


def all_demo_resources(endpoint):
    s3, iam = clients(endpoint)
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    names += [r["RoleName"] for r in iam.list_roles().get("Roles", [])]
    return [n for n in names if re.search(r"-[0-9a-f]{8}$", n)]


class Demo:
    """A `fargate-sim demo` run whose stdout is read line by line as it comes."""

    def __init__(self, args, env=None):
        self.lines = []
        self.step = 0
        self.run_id = None
        self.started = time.monotonic()
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env, start_new_session=True)
        self.err = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line)
            m = STEP.match(line)
            if m:
                self.step = int(m.group(1))
            m = RUN_ID.match(line)
            if m:
                self.run_id = m.group(1)

    def wait_step(self, n, timeout=60):
        end = time.monotonic() + timeout
        while self.step < n and self.p.poll() is None and time.monotonic() < end:
            time.sleep(0.005)
        return self.step >= n

    def wait(self, timeout=90):
        try:
            code = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            return None
        time.sleep(0.05)
        return code

    @property
    def seconds(self):
        return time.monotonic() - self.started


def start_localstack(binary):
    p = subprocess.Popen([binary, "localstack", "start", "--no-docker"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, env=clean_env())
    endpoint = p.stdout.readline().strip()
    if not endpoint.startswith("http://127.0.0.1:"):
        sys.exit(f"faults: LocalStack did not start ({endpoint!r})")
    return p, endpoint


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_ENDPOINT_URL", "FARGATE_SIM_LOCALSTACK_URL", "FAULTS_REEXEC")}
    env.update(extra)
    return env


SCRATCH = tempfile.mkdtemp(prefix="faults-cache-")


def given_env():
    """For runs against a LocalStack named by URL: a scratch cache, so that the journals of
    deliberately broken runs stay out of the user's."""
    return clean_env(FARGATE_SIM_CACHE_DIR=SCRATCH)


def probe_signals(binary, endpoint, rounds):
    runs, leaks, bad_exit, unnamed = 0, [], [], 0
    for i in range(rounds):
        sig = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP][i % 3]
        d = Demo([binary, "demo", "--endpoint", endpoint], env=given_env())
        time.sleep(random.uniform(0.03, 0.5))
        if d.p.poll() is None:
            d.p.send_signal(sig)
        code = d.wait()
        runs += 1
        if code not in (0, 130):
            bad_exit.append((sig.name, code))
        text = "".join(d.lines)
        if code == 130 and "removed:" not in text and "nothing was created" not in text:
            unnamed += 1
        left = leaked(endpoint, d.run_id)
        if left:
            leaks.append(left)
    return {"probe": "signals", "runs": runs, "leaks": len(leaks), "leaked": leaks[:5],
            "bad_exit": bad_exit, "reports_without_names": unnamed,
            "ok": not leaks and not bad_exit and not unnamed}


def probe_kill_demo(binary, endpoint, rounds):
    runs, leaks, cleanup_fail = 0, [], 0
    with tempfile.TemporaryDirectory() as cache:
        env = clean_env(FARGATE_SIM_CACHE_DIR=cache)
        for r in range(rounds):
            for step in range(1, 13):
                d = Demo([binary, "demo", "--endpoint", endpoint], env=env)
                d.wait_step(step)
                os.killpg(d.p.pid, signal.SIGKILL)
                d.wait()
                c = subprocess.run([binary, "demo", "--cleanup"], env=env, capture_output=True,
                                   text=True, timeout=90)
                runs += 1
                if c.returncode != 0:
                    cleanup_fail += 1
                left = leaked(endpoint, d.run_id)
                if left:
                    leaks.append((step, left))
        journals_left = len([f for f in os.listdir(os.path.join(cache, "runs"))
                             if f.endswith(".json")]) if os.path.isdir(os.path.join(cache, "runs")) else 0
    return {"probe": "kill-demo", "runs": runs, "leaks": len(leaks), "leaked": leaks[:5],
            "cleanup_failures": cleanup_fail, "journals_left": journals_left,
            "ok": not leaks and not cleanup_fail and not journals_left}


def localstack_pids(root_pid):
    """Processes below `root_pid` whose command line runs LocalStack."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        children.setdefault(ppid, []).append((int(pid), cmd))
    found, todo = [], [root_pid]
    while todo:
        for pid, cmd in children.get(todo.pop(), []):
            todo.append(pid)
            if b"localstack" in cmd and b"python" in cmd:
                found.append(pid)
    return found


def probe_kill_localstack(binary, rounds):
    runs, wrong_exit, silent, slow, cleanup_fail = 0, [], 0, [], 0
    exits, longest, sample = {}, 0.0, ""
    runs_dir = os.path.join(CACHE, "runs")
    if True:
        env = clean_env()
        for _ in range(rounds):
            for step in range(1, 13):
                d = Demo([binary, "demo"], env=env)
                d.wait_step(step, timeout=120)
                killed_at = time.monotonic()
                for pid in localstack_pids(d.p.pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                code = d.wait()
                runs += 1
                took = time.monotonic() - killed_at
                longest = max(longest, took)
                exits.setdefault(step, []).append(code)
                if code == 2 and not sample:
                    sample = next((l.strip() for l in d.err if l.startswith("error:")), "")
                if took > 20:
                    slow.append((step, round(took, 1)))
                # Killed before the last AWS call: the run must say so and exit 2. Killed
                # after it, the run may end normally (0) if nothing was left to reach.
                if code not in (0, 2):
                    wrong_exit.append((step, code))
                err = "".join(d.err)
                if code == 2 and "LocalStack" not in err and "connect" not in err:
                    silent += 1
                # The next run finds the dead run's journal and drops it: its resources went
                # with the LocalStack it started.
                subprocess.run([binary, "demo", "--cleanup"], env=env, capture_output=True,
                               text=True, timeout=90)
                if d.run_id and os.path.exists(os.path.join(runs_dir, d.run_id + ".json")):
                    cleanup_fail += 1
    return {"probe": "kill-localstack", "runs": runs, "wrong_exit": wrong_exit,
            "exit_by_step": exits, "longest_seconds_to_end": round(longest, 1), "sample_error": sample,
            "errors_without_reason": silent, "slow_endings": slow, "journals_not_dropped": cleanup_fail,
            "ok": not wrong_exit and not silent and not slow and not cleanup_fail}


class StallProxy:
    """Forwards /_localstack/health to LocalStack; any other request is held (stall) or
    forwarded after `delay` seconds."""

    def __init__(self, upstream, delay=None):
        self.upstream = upstream.replace("http://", "").split(":")
        self.delay = delay
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(256)
        self.url = f"http://127.0.0.1:{self.s.getsockname()[1]}"
        self.held = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        first = c.recv(65536)
        if not first.startswith(b"GET /_localstack/health") and self.delay is None:
            self.held.append(c)
            return
        if not first.startswith(b"GET /_localstack/health"):
            time.sleep(self.delay)
        u = socket.create_connection((self.upstream[0], int(self.upstream[1])))
        u.sendall(first)

        def pump(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            for x in (a, b):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        pump(u, c)

    def close(self):
        self.s.close()


def probe_stall(binary, endpoint):
    out = {"probe": "stall"}
    ok = True
    proxy = StallProxy(endpoint)
    d = Demo([binary, "demo", "--endpoint", proxy.url], env=given_env())
    code = d.wait(120)
    err = "".join(d.err)
    out["stalled_exit"], out["stalled_seconds"] = code, round(d.seconds, 1)
    out["stalled_message"] = next((l.strip() for l in err.splitlines() if l.startswith("error:")), "")
    ok &= code == 2 and "no answer in time" in err
    # Ctrl-C while a call is stalled: the run ends within a few seconds.
    d = Demo([binary, "demo", "--endpoint", proxy.url], env=given_env())
    time.sleep(1.0)
    t = time.monotonic()
    d.p.send_signal(signal.SIGINT)
    code = d.wait(60)
    out["ctrl_c_exit"], out["ctrl_c_seconds"] = code, round(time.monotonic() - t, 1)
    ok &= code in (2, 130) and time.monotonic() - t < 15
    proxy.close()
    # A slow LocalStack (0.3 s per request) still gets through.
    slow = StallProxy(endpoint, delay=0.3)
    d = Demo([binary, "demo", "--endpoint", slow.url], env=given_env())
    code = d.wait(180)
    out["slow_exit"], out["slow_seconds"] = code, round(d.seconds, 1)
    ok &= code == 0 and not leaked(endpoint, d.run_id)
    slow.close()
    out["ok"] = bool(ok)
    return out


def probe_parallel(binary, endpoint, n=50):
    t = time.monotonic()
    demos = [Demo([binary, "demo", "--endpoint", endpoint], env=given_env()) for _ in range(n)]
    codes = [d.wait(300) for d in demos]
    took = time.monotonic() - t
    left = all_demo_resources(endpoint)
    passed = sum(1 for c in codes if c == 0)
    return {"probe": "parallel", "runs": n, "passed": passed, "seconds": round(took, 1),
            "left": left[:5], "ok": passed == n and not left}


def main():
    ap = argparse.ArgumentParser(description="fault injection for fargate-sim demo")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "fargate-sim"))
    ap.add_argument("--rounds", type=int, default=1,
                    help="rounds of each probe (signals: 60 runs a round)")
    ap.add_argument("probes", nargs="*",
                    default=["signals", "kill-demo", "kill-ls", "stall", "parallel"])
    a = ap.parse_args()
    random.seed(12)
    ls, endpoint = start_localstack(a.bin)
    results = []
    try:
        for p in a.probes:
            if p == "signals":
                r = probe_signals(a.bin, endpoint, 60 * a.rounds)
            elif p == "kill-demo":
                r = probe_kill_demo(a.bin, endpoint, a.rounds)
            elif p == "kill-ls":
                r = probe_kill_localstack(a.bin, a.rounds)
            elif p == "stall":
                r = probe_stall(a.bin, endpoint)
            elif p == "parallel":
                r = probe_parallel(a.bin, endpoint)
            else:
                sys.exit(f"faults: unknown probe {p}")
            print(json.dumps(r), flush=True)
            results.append(r)
    finally:
        ls.send_signal(signal.SIGINT)
        ls.wait(30)
    bad = [r["probe"] for r in results if not r["ok"]]
    print(f"faults: {len(results) - len(bad)} of {len(results)} probes passed" +
          (f"; failed: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
