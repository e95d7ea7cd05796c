#!/usr/bin/env bash
# Set up the minikube environment (roadmap Phase 2, Step 2): start minikube
# with the profile of infrastructure/config/environments.json, enable its
# addons, build and load the images, start the host databases, apply the
# minikube overlay, wait for the rollout and port-forward the Session Agent.
#
# A thin wrapper: all the work is done by the toolkit. Arguments are passed
# on, e.g. `setup-minikube.sh --dry-run`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
exec cargo xtask minikube up "$@"
