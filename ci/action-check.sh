#!/usr/bin/env bash
# The check step of action.yml: one `migguard check --base` run with the
# reports the inputs ask for. Reads the inputs from the environment (BASE,
# BASE_REF, SUMMARY, SARIF, COMMENT, FAIL_ON, ARGS) and GitHub's
# (GITHUB_STEP_SUMMARY, GITHUB_OUTPUT). Exits with migguard's exit code.
set -euo pipefail

base=${BASE:-}
if [ -z "$base" ]; then
  if [ -z "${BASE_REF:-}" ]; then
    echo "migguard: this run is not for a pull request: set the action's \`base\` input (e.g. origin/main)" >&2
    exit 2
  fi
  base="origin/$BASE_REF"
fi

set -- check --base "$base" --fail-on "${FAIL_ON:-error}"
if [ "${SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  set -- "$@" --report "markdown=$GITHUB_STEP_SUMMARY"
fi
if [ -n "${SARIF:-}" ]; then
  set -- "$@" --report "sarif=$SARIF"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "sarif=${SARIF:-}" >> "$GITHUB_OUTPUT"
fi
if [ "${COMMENT:-false}" = true ]; then
  set -- "$@" --comment github
fi
# ARGS is split into words on purpose: it holds extra flags.
# shellcheck disable=SC2086
exec migguard "$@" ${ARGS:-}
