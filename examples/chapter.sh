#!/usr/bin/env bash
# The chapter, command by command, against `fargate-sim up`:
#
#   eval "$(fargate-sim up --detach)"
#   examples/chapter.sh
#
# It uses the real `kubectl` and `aws` on PATH, and `fargate-sim eksctl` where the chapter
# types `eksctl`. BUCKET names the bucket (a unique default otherwise), ROLE the role (s3-read
# otherwise); FARGATE_SIM names the binary (`fargate-sim` on PATH otherwise).
set -euo pipefail
cd "$(dirname "$0")"

: "${AWS_ENDPOINT_URL:?run eval \"\$(fargate-sim up --detach)\" first}"
: "${KUBECONFIG:?run eval \"\$(fargate-sim up --detach)\" first}"
FARGATE_SIM=${FARGATE_SIM:-fargate-sim}
BUCKET=${BUCKET:-chapter-$(date +%s)-$$}
ROLE=${ROLE:-s3-read}
export BUCKET
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
eksctl() { "$FARGATE_SIM" eksctl "$@"; }
say() { printf '\n# %s\n' "$*"; }
node_of() { kubectl -n test get pod "$1" -o jsonpath='{.spec.nodeName}{"\n"}'; }

say "The cluster, with its default profile (namespaces default and kube-system)"
eksctl create cluster -f cluster.yaml

say "A namespace and a pod in it: no profile selects namespace test yet"
kubectl create namespace test
kubectl apply -f test-pod.yaml
kubectl -n test get pods -o wide
echo "node of test: $(node_of test)"

say "A profile for namespace test (profiles are immutable: a new namespace needs a new one)"
eksctl create fargateprofile -f new-namespace-cluster.yaml
echo "node of test: $(node_of test)   (a pod stays where it was placed)"

say "Deleted and created again, the pod goes to Fargate"
kubectl -n test delete pod test
kubectl apply -f test-pod.yaml
kubectl -n test get pods -o wide
echo "node of test: $(node_of test)"

say "The role s3-read, trusted by Fargate pods, with S3 read access"
aws iam create-role --role-name "$ROLE" \
  --assume-role-policy-document file://role-trust-policy.json \
  --query Role.Arn --output text > "$work/role-arn"
ROLE_ARN=$(cat "$work/role-arn")
export ROLE_ARN
aws iam attach-role-policy --role-name "$ROLE" \
  --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess

say "A profile with s3-read as its pod execution role"
sed "s|\${ROLE_ARN}|$ROLE_ARN|" execution-role-cluster.yaml > "$work/execution-role-cluster.yaml"
eksctl create fargateprofile -f "$work/execution-role-cluster.yaml"

say "A bucket and an object"
aws s3 mb "s3://$BUCKET"
echo "Hello from the bucket $BUCKET" > "$work/hello.txt"
aws s3 cp "$work/hello.txt" "s3://$BUCKET/hello.txt"

say "The pod reads the object and prints it"
sed "s|\${BUCKET}|$BUCKET|" s3-pod.yaml > "$work/s3-pod.yaml"
kubectl apply -f "$work/s3-pod.yaml"
kubectl -n test logs -f s3
kubectl -n test get pods

say "Cleaning up"
kubectl delete namespace test
eksctl delete fargateprofile --cluster fargate-sim --name s3
eksctl delete fargateprofile --cluster fargate-sim --name test
aws iam detach-role-policy --role-name "$ROLE" \
  --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
aws iam delete-role --role-name "$ROLE"
aws s3 rb "s3://$BUCKET" --force
