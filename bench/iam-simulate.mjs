// The Node peers of bench/run, timed in process: @cloud-copilot/iam-simulate (evaluation, in its
// validated `runSimulation` and unvalidated `runUnsafeSimulation` modes) and
// @cloud-copilot/iam-policy (trust-policy validation). One round per invocation; one JSON line
// per measured mode on stdout, in the shape fargate-sim-bench reads.
//
//   node bench/iam-simulate.mjs eval CASES.jsonl
//   node bench/iam-simulate.mjs validate WORK_DIR
//
// The packages come from bench/peers/node (installed by bench/run); nothing of theirs is in the
// repository.

import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(join(here, 'peers', 'node', 'package.json'))
const versionOf = (name) =>
  JSON.parse(readFileSync(join(here, 'peers', 'node', 'node_modules', name, 'package.json'), 'utf8')).version

function accountOf(arn) {
  const parts = typeof arn === 'string' ? arn.split(':') : []
  return parts.length > 4 && /^\d{12}$/.test(parts[4]) ? parts[4] : undefined
}

// A case line (docs/cases.md) as an iam-simulate Simulation.
function toSimulation(c, anonymousPrincipal) {
  const p = c.policies ?? {}
  const r = c.request
  const named = (list, prefix) => (list ?? []).map((policy, i) => ({ name: `${prefix}-${i}`, policy }))
  const org = (list, id) => (list && list.length ? [{ orgIdentifier: id, policies: named(list, id) }] : [])
  const contextVariables = {}
  for (const [k, v] of Object.entries(r.context ?? {})) {
    contextVariables[k] = Array.isArray(v) ? v.map(String) : String(v)
  }
  // The endpoint a request came through, as the case schema sets it.
  if (r.sourceVpce) contextVariables['aws:SourceVpce'] = r.sourceVpce
  if (r.sourceVpc) contextVariables['aws:SourceVpc'] = r.sourceVpc
  const sim = {
    request: {
      principal: r.principal === 'anonymous' ? anonymousPrincipal : r.principal,
      action: r.action,
      resource: {
        resource: r.resource ?? '*',
        accountId: r.resourceAccount ?? accountOf(r.resource) ?? accountOf(r.principal) ?? '000000000000',
      },
      contextVariables,
    },
    identityPolicies: named(p.identity, 'identity'),
    serviceControlPolicies: org(p.scp, 'o-bench'),
    resourceControlPolicies: org(p.rcp, 'o-bench'),
  }
  const resource = p.trust ?? p.resource
  if (resource) sim.resourcePolicy = resource
  if (p.boundary) sim.permissionBoundaryPolicies = named(p.boundary, 'boundary')
  if (p.session) sim.sessionPolicy = p.session
  if (p.endpoint) sim.vpcEndpointPolicies = [{ name: 'endpoint', policy: p.endpoint }]
  return sim
}

const DECISION = { Allowed: 'Allow', ExplicitlyDenied: 'ExplicitDeny', ImplicitlyDenied: 'ImplicitDeny' }

async function evalRound(path) {
  const sim = require('@cloud-copilot/iam-simulate')
  const version = versionOf('@cloud-copilot/iam-simulate')
  const cases = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
  const sims = cases.map((c) => toSimulation(c, sim.anonymousPrincipal))

  // Each call is also timed on its own, so that the report can give the rate on the cases the
  // mode answers (a call that throws returns fast, which flatters the rate over all cases).
  const now = () => process.hrtime.bigint()
  let started = now()
  const strict = []
  let strictAnswered = 0n
  for (const s of sims) {
    const t0 = now()
    let d
    try {
      const res = await sim.runSimulation(s, {})
      d = res.resultType === 'error' ? 'Error' : DECISION[res.overallResult] ?? 'Error'
    } catch {
      d = 'Error'
    }
    if (d !== 'Error') strictAnswered += now() - t0
    strict.push(d)
  }
  const strictSeconds = Number(now() - started) / 1e9

  started = now()
  const unsafe = []
  let unsafeAnswered = 0n
  for (const s of sims) {
    const t0 = now()
    let d
    try {
      const res = sim.runUnsafeSimulation(s, {})
      const result = typeof res === 'string' ? res : res?.result
      d = DECISION[result] ?? 'Error'
    } catch {
      d = 'Error'
    }
    if (d !== 'Error') unsafeAnswered += now() - t0
    unsafe.push(d)
  }
  const unsafeSeconds = Number(now() - started) / 1e9
  const tool = `iam-simulate ${version}`
  const out = (mode, seconds, decisions, answered) =>
    console.log(
      JSON.stringify({
        tool,
        mode,
        kind: 'eval',
        n: sims.length,
        seconds,
        answered_n: decisions.filter((d) => d !== 'Error').length,
        answered_seconds: Number(answered) / 1e9,
        decisions,
      }),
    )
  out('runSimulation, validated', strictSeconds, strict, strictAnswered)
  out('runUnsafeSimulation', unsafeSeconds, unsafe, unsafeAnswered)
}

function validateRound(work) {
  const policy = require('@cloud-copilot/iam-policy')
  const version = versionOf('@cloud-copilot/iam-policy')
  const manifest = readFileSync(join(work, 'files.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
  const all = manifest.map((m) => ({ name: m.name, clean: m.defect === null, text: readFileSync(join(work, 'files', m.name), 'utf8') }))
  for (const [set, files] of [['all', all], ['clean', all.filter((f) => f.clean)]]) {
    // Whole passes until a quarter of a second has gone by (as every harness does); the flags
    // come from the first pass.
    const started = process.hrtime.bigint()
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9
    const flagged = []
    let passes = 0
    while (passes === 0 || elapsed() < 0.25) {
      for (const f of files) {
        let errors
        try {
          errors = policy.validateTrustPolicy(JSON.parse(f.text))
        } catch {
          errors = ['not JSON']
        }
        if (passes === 0 && errors.length > 0) flagged.push(f.name)
      }
      passes += 1
    }
    const seconds = elapsed()
    console.log(JSON.stringify({ tool: `iam-policy ${version}`, mode: 'validateTrustPolicy', kind: 'validate', set, n: files.length * passes, files: files.length, seconds, flagged }))
  }
}

const [command, arg] = process.argv.slice(2)
if (command === 'eval') await evalRound(arg)
else if (command === 'validate') validateRound(arg)
else {
  console.error('usage: node bench/iam-simulate.mjs eval CASES.jsonl | validate WORK_DIR')
  process.exit(2)
}
