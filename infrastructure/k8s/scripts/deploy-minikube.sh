#!/usr/bin/env bash
# Apply the minikube overlay (infrastructure/k8s/overlays/minikube) to the
# current minikube cluster and wait for the rollout. Expects a running
# cluster (setup-minikube.sh) and the host databases.
#
# A thin wrapper: arguments are passed on, e.g. `deploy-minikube.sh --dry-run`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
exec cargo xtask k8s apply --overlay minikube "$@"
