#!/usr/bin/env bash
# Apply a cloud overlay (dev, staging or prod) to its EKS cluster:
#   infrastructure/k8s/scripts/deploy-cloud.sh ENV [toolkit options...]
# e.g. `deploy-cloud.sh staging --dry-run`. The toolkit checks the kube
# context against the environment, writes the overlay's secrets.env from
# infrastructure/env/ENV.env and asks for confirmation where the environment
# requires it.
set -euo pipefail

usage() {
  echo "usage: $(basename "$0") dev|staging|prod [cargo xtask k8s apply options...]" >&2
  exit 2
}

[ "$#" -ge 1 ] || usage
env="$1"
shift
case "$env" in
  dev | staging | prod) ;;
  *)
    echo "error: unknown cloud environment \`$env\` (expected dev, staging or prod)" >&2
    usage
    ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
exec cargo xtask k8s apply --overlay "$env" "$@"
