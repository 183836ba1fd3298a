"""bench/run: this project and its peers on the same workload, in one run.

    bench/run                 install peers if missing, generate, measure, write the report
    bench/run --install-only  only install the peers (CI does this before `cargo test`)
    bench/run --rounds N      rounds per tool (default 9)

Peers go to bench/peers/ (ignored by git): the npm packages pinned in bench/package.json and the
PyPI packages pinned in bench/requirements.txt. The workload goes to bench/work/. The tables are
written into docs/performance.md (between the peers markers) and docs/differential.md.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
WORK = BENCH / "work"
NODE_DIR = PEERS / "node"
VENV = PEERS / "venv"
PYTHON = VENV / "bin" / "python"


def say(msg):
    print(f"bench: {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def install():
    package = (BENCH / "package.json").read_text()
    marker = NODE_DIR / ".installed"
    if shutil.which("node") and shutil.which("npm"):
        if not marker.exists() or marker.read_text() != package:
            say("installing the npm peers into bench/peers/node …")
            NODE_DIR.mkdir(parents=True, exist_ok=True)
            (NODE_DIR / "package.json").write_text(package)
            run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR)
            marker.write_text(package)
    else:
        say("node/npm not found: iam-simulate and iam-policy will be skipped")
    reqs = (BENCH / "requirements.txt").read_text()
    marker = VENV / ".installed"
    if not marker.exists() or marker.read_text() != reqs:
        say("installing the PyPI peers into bench/peers/venv …")
        run([sys.executable, "-m", "venv", str(VENV)])
        run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(BENCH / "requirements.txt")])
        marker.write_text(reqs)


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() if shutil.which("node") else "no node"
    py = subprocess.run([str(PYTHON), "--version"], capture_output=True, text=True).stdout.strip()
    return f"{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Node {node}, {py}, rustc release build"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install-only", action="store_true")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--cases", type=int, default=12000)
    ap.add_argument("--files", type=int, default=1200)
    args = ap.parse_args()

    install()
    if args.install_only:
        return
    say("building fargate-sim-bench (release) …")
    run(["cargo", "build", "--release", "--quiet", "-p", "fargate-sim-bench"], cwd=ROOT)
    exe = ROOT / "target" / "release" / "fargate-sim-bench"
    run([str(exe), "gen", "--out", str(WORK), "--seed", str(args.seed), "--cases", str(args.cases), "--files", str(args.files)])
    cases = str(WORK / "cases.jsonl")
    tools = [
        ("fargate-sim eval", [str(exe), "eval", "--cases", cases]),
        ("fargate-sim validate", [str(exe), "validate", "--dir", str(WORK)]),
        ("moto eval", [str(PYTHON), str(BENCH / "peers.py"), "moto-eval", cases]),
        ("moto validate", [str(PYTHON), str(BENCH / "peers.py"), "moto-validate", str(WORK)]),
        ("parliament", [str(PYTHON), str(BENCH / "peers.py"), "parliament", str(WORK)]),
    ]
    if shutil.which("node"):
        tools += [
            ("iam-simulate", ["node", str(BENCH / "iam-simulate.mjs"), "eval", cases]),
            ("iam-policy", ["node", str(BENCH / "iam-simulate.mjs"), "validate", str(WORK)]),
        ]
    (WORK / "machine.txt").write_text(machine() + "\n")
    results = WORK / "results.jsonl"
    with results.open("w") as out:
        for r in range(args.rounds):
            # Interleaved: every tool once per round, starting one further along each time.
            order = tools[r % len(tools):] + tools[: r % len(tools)]
            for name, cmd in order:
                say(f"round {r + 1}/{args.rounds}: {name}")
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    err = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                    say(f"  {name} failed: {err}")
                    out.write(json.dumps({"tool": name, "mode": "", "kind": "eval" if "eval" in name or name == "iam-simulate" else "validate", "n": 0, "seconds": 0, "error": err}) + "\n")
                    continue
                for line in proc.stdout.splitlines():
                    if line.strip():
                        rec = json.loads(line)
                        if r > 0:
                            rec.pop("decisions", None)
                            rec.pop("flagged", None)
                        out.write(json.dumps(rec) + "\n")
    run([str(exe), "report", "--work", str(WORK), "--docs", str(ROOT / "docs")])
    say("wrote docs/performance.md (peer tables) and docs/differential.md")


if __name__ == "__main__":
    main()
