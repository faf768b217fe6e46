"""Every test gets its own findings cache folder, outside the trees it scans: results never
leak from one test into another, and no test leaves a cache in the checkout."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("KEYGUARD_CACHE_DIR", str(tmp_path_factory.mktemp("keyguard-cache")))
