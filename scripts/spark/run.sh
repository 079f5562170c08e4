#!/usr/bin/env bash
# `make spark`: installs what the local Spark check needs when it is missing — Java 17 from
# Debian's packages, pyspark from PyPI into .venv-spark/ (git-ignored) —
# builds the explainer binary, runs the module's unit tests (no Spark), then the local-mode
# job (scripts/spark/check_local.py). Extra arguments go to check_local.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"

if ! command -v java >/dev/null 2>&1; then
  echo "make spark: installing Java 17 from Debian's packages (openjdk-17-jre-headless)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless
fi

# A Python that imports pyspark: EXPLAINER_SPARK_PYTHON, else python3 when it has pyspark,
# else .venv-spark/ (created with pyspark from PyPI on first use).
py="${EXPLAINER_SPARK_PYTHON:-}"
if [ -z "$py" ]; then
  if python3 -c 'import pyspark' >/dev/null 2>&1; then
    py="$(command -v python3)"
  else
    venv="$root/.venv-spark"
    if ! "$venv/bin/python" -c 'import pyspark' >/dev/null 2>&1; then
      echo "make spark: installing pyspark from PyPI into .venv-spark/" >&2
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q "pyspark>=3.5,<5"
    fi
    py="$venv/bin/python"
  fi
fi

lt="$(bash scripts/libtorch.sh)"
export LIBTORCH="$lt"
profile="${EXPLAINER_SPARK_PROFILE:-debug}"
if [ "$profile" = release ]; then
  cargo build --quiet --release -p explainer-cli
else
  cargo build --quiet -p explainer-cli
fi
binary="$root/target/$profile/explainer"

export PYSPARK_PYTHON="$py" PYSPARK_DRIVER_PYTHON="$py"
PYTHONPATH=python EXPLAINER_BIN="$binary" "$py" -m unittest discover -s python/tests
"$py" scripts/spark/check_local.py --binary "$binary" "$@"
