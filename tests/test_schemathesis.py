"""schemathesis over the served OpenAPI document, for a municipality, a prefecture, a carrier and a supplier key.

Every check, in the examples and fuzzing phases, with a fixed seed, a few examples per operation and
a time cap, so that the run is bounded and repeatable. tests/schemathesis_hooks.py teaches it the
API's own formats (codes with check digits, boxes in Japan); tests/schemathesis.toml names the few
answers that are right where a schema cannot state validity (a point 80 km from the town hall).
Operations that revoke the caller's own key are left out of the run (a revoked key would turn every
later request into a 401), not out of the document.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.paths import PROJECT_ROOT
from registry.settings import Settings
from tests.conftest import KeyFactory
from tests.served import served

ROLES = {"municipality": "131016", "prefecture": "130001", "carrier": "docomo", "supplier": "7000012050002"}
# Paths whose only operation revokes the caller's own key (DELETE is all /v1/keys/{key_id} takes).
SELF_REVOKING = ["/v1/keys/{key_id}"]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED, EXAMPLES = 20261130, 3
SECONDS = int(os.environ.get("KYODO_SCHEMATHESIS_SECONDS", "120"))


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_schemathesis_finds_nothing(role: str, settings: Settings, make_key: KeyFactory,
                                          tmp_path: Path) -> None:
    headers = await make_key(role, ROLES[role])
    cli = Path(sys.executable).with_name("schemathesis")
    # Unauthenticated probes (the ignored_auth check) must not exhaust the address's budget.
    with served(settings, KYODO_RATE_AUTH_FAILURES="100000", KYODO_RATE_KEY_REQUESTS="100000") as base:
        command = [str(cli), "--config-file", str(CONFIG), "run", f"{base}/schema/openapi.json", "--checks", "all",
                   "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--max-time", str(SECONDS),
                   "--workers", "1", "--phases", "examples,fuzzing",
                   "--generation-database", "none", "--no-color",
                   "--request-timeout", "20",
                   "-H", f"Authorization:{headers['Authorization']}",
                   *[arg for path in SELF_REVOKING for arg in ("--exclude-path", path)]]
        run = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=SECONDS + 120,
                             env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
                                  "PYTHONPATH": str(PROJECT_ROOT)}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
