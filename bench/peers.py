"""The Python peers of bench/run, timed in process: moto (IAM policy evaluation and its
trust-policy validator) and parliament (policy linting). One round per invocation; one JSON
line per measured mode on stdout, in the shape fargate-sim-bench reads.

    peers.py moto-eval CASES.jsonl
    peers.py moto-validate WORK_DIR
    peers.py parliament WORK_DIR

Runs in bench/peers/venv (built by bench/run); nothing of the peers is in the repository.
"""

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

DECISION = {"DENIED": "ExplicitDeny", "PERMITTED": "Allow", "NEUTRAL": "ImplicitDeny"}


def moto_eval(path):
    from moto.iam.access_control import IAMPolicy, PermissionResult

    cases = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    prepared = []
    for c in cases:
        p = c.get("policies") or {}
        r = c["request"]
        docs = [(json.dumps(doc), None) for doc in p.get("identity") or []]
        for key in ("trust", "resource"):
            if p.get(key):
                # Resource-side policies are matched against the caller.
                docs.append((json.dumps(p[key]), r["principal"]))
        context = {k: v for k, v in (r.get("context") or {}).items()}
        # moto has no VPC endpoint policies: such a case is one it cannot express, so it is
        # counted as not answered rather than decided without the endpoint's policy.
        expressible = not p.get("endpoint")
        prepared.append((docs, r["action"], r.get("resource") or "*", context, expressible))

    decisions = []
    answered = 0.0  # time spent on the cases moto answers (a crash returns fast)
    clock = time.perf_counter
    started = clock()
    for docs, action, resource, context, expressible in prepared:
        if not expressible:
            decisions.append("Error")
            continue
        t0 = clock()
        try:
            result = PermissionResult.NEUTRAL
            for text, principal in docs:
                r = IAMPolicy(text).is_action_permitted(action, resource, principal, context)
                if r == PermissionResult.DENIED:
                    result = r
                    break
                if r == PermissionResult.PERMITTED:
                    result = r
            decisions.append(DECISION[result.name])
            answered += clock() - t0
        except Exception:  # noqa: BLE001 - a crash is the peer's answer for this case
            decisions.append("Error")
    seconds = clock() - started
    emit(
        f"moto {version('moto')}",
        "IAMPolicy.is_action_permitted",
        "eval",
        len(prepared),
        seconds,
        answered_n=sum(d != "Error" for d in decisions),
        answered_seconds=answered,
        decisions=decisions,
    )


def file_sets(work):
    """The files as (name, text) pairs: all of them, and the clean (AWS-recommended) ones."""
    work = Path(work)
    manifest = [json.loads(line) for line in (work / "files.jsonl").read_text().splitlines() if line.strip()]
    items = [(m["name"], (work / "files" / m["name"]).read_text(), m["defect"] is None) for m in manifest]
    return [("all", [(n, t) for n, t, _ in items]), ("clean", [(n, t) for n, t, c in items if c])]


MIN_SECONDS = 0.25  # whole passes until this much time has gone by, as every harness does


def timed_passes(items, flags):
    """Runs `flags(text)` over every file, in whole passes for at least MIN_SECONDS; returns
    (files checked, seconds, names flagged in the first pass)."""
    flagged = []
    passes = 0
    started = time.perf_counter()
    while passes == 0 or time.perf_counter() - started < MIN_SECONDS:
        for name, text in items:
            try:
                hit = flags(text)
            except Exception:  # noqa: BLE001 - a rejection (or a crash) flags the file
                hit = True
            if passes == 0 and hit:
                flagged.append(name)
        passes += 1
    return len(items) * passes, time.perf_counter() - started, flagged


def moto_validate(work):
    from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator

    def flags(text):
        IAMTrustPolicyDocumentValidator(text).validate()  # raises MalformedPolicyDocument
        return False

    for name, items in file_sets(work):
        n, seconds, flagged = timed_passes(items, flags)
        emit(f"moto {version('moto')}", "IAMTrustPolicyDocumentValidator", "validate", n, seconds, set=name, flagged=flagged)


def parliament_lint(work):
    import parliament

    for name, items in file_sets(work):
        n, seconds, flagged = timed_passes(items, lambda text: bool(parliament.analyze_policy_string(text).findings))
        emit(f"parliament {version('parliament')}", "analyze_policy_string", "validate", n, seconds, set=name, flagged=flagged)


def emit(tool, mode, kind, n, seconds, **extra):
    print(json.dumps({"tool": tool, "mode": mode, "kind": kind, "n": n, "seconds": seconds, **extra}))


if __name__ == "__main__":
    commands = {"moto-eval": moto_eval, "moto-validate": moto_validate, "parliament": parliament_lint}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        sys.exit("usage: peers.py moto-eval CASES.jsonl | moto-validate WORK_DIR | parliament WORK_DIR")
    commands[sys.argv[1]](sys.argv[2])
