"""The findings cache (keyguard.pipeline.cache): reused only when content and rule set are unchanged,
never holding a secret, safe under concurrent runs, and off when asked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import keyguard.pipeline.scan
from keyguard.config import Config, load_config
from keyguard.pipeline.scan import scan_paths
from keyguard.rulepack.fakes import FakeKeys


def _tree(folder: Path, seed: str = "cache") -> list[str]:
    """A small tree with keys in a .py file, a notebook (source and output) and a .env;
    returns the planted secrets."""
    fake = FakeKeys(seed)
    ionq, ibm, crn = fake.ionq_key(), fake.ibm_key(), fake.crn()
    (folder / "pkg").mkdir()
    (folder / "pkg" / "app.py").write_text(
        "from qiskit_ionq import IonQProvider\n"
        f'provider = IonQProvider("{ionq}")\n', encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        f'service = QiskitRuntimeService(channel="ibm_cloud", token="{ibm}", instance="{crn}")')
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"token {ibm}\n")]
    nb.cells = [cell]
    (folder / "nb.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    (folder / ".env").write_text(f"IONQ_API_KEY={ionq}\n", encoding="utf-8")
    (folder / "clean.py").write_text("print('hello')\n", encoding="utf-8")
    return [ionq, ibm, crn]


def _scan(folder: Path, cache_dir: Path | None, **settings: object):
    config = Config(jobs=1, root=str(folder), **settings)  # type: ignore[arg-type]
    return scan_paths(["."], config, cache_dir=cache_dir)


def _report(result) -> list[tuple]:
    return [(f.rule_id, f.location, f.secret.reveal(), f.message, f.fingerprint, f.fixable,
             f.context, f.confidence) for f in result.findings]


def _no_rescan(monkeypatch) -> list[str]:
    scanned: list[str] = []
    original = keyguard.pipeline.scan.scan_bytes

    def spy(path, data, engine, keep_document=False):
        scanned.append(path)
        return original(path, data, engine, keep_document)

    monkeypatch.setattr(keyguard.pipeline.scan, "scan_bytes", spy)
    return scanned


def test_unchanged_tree_is_served_from_the_cache(tmp_path, monkeypatch):
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    _tree(tree)
    monkeypatch.chdir(tree)
    first = _scan(tree, cache)
    assert len(first.findings) >= 4
    scanned = _no_rescan(monkeypatch)
    second = _scan(tree, cache)
    assert scanned == []
    assert _report(second) == _report(first)
    assert second.files_scanned == first.files_scanned and second.notes == first.notes


def test_changed_file_is_scanned_again(tmp_path, monkeypatch):
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    _tree(tree)
    monkeypatch.chdir(tree)
    _scan(tree, cache)
    other = FakeKeys("changed").ionq_key()
    (tree / "clean.py").write_text(f'IonQProvider("{other}")\nionq = 1\n', encoding="utf-8")
    scanned = _no_rescan(monkeypatch)
    result = _scan(tree, cache)
    assert scanned == ["clean.py"]
    assert other in [f.secret.reveal() for f in result.findings]


def _reads(monkeypatch) -> list[int]:
    """Counts the files the cache hashes, i.e. the files read for it."""
    import keyguard.pipeline.cache as cache_module

    hashed: list[int] = []
    original = cache_module.content_hash

    def spy(data: bytes) -> str:
        hashed.append(len(data))
        return original(data)

    monkeypatch.setattr(cache_module, "content_hash", spy)
    return hashed


def test_unchanged_files_without_findings_are_not_even_read(tmp_path, monkeypatch):
    import keyguard.pipeline.cache as cache_module

    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    _tree(tree)
    monkeypatch.chdir(tree)
    monkeypatch.setattr(cache_module, "_RACY_NS", 0)  # the files are not seconds old here
    first = _scan(tree, cache)
    hashed = _reads(monkeypatch)
    second = _scan(tree, cache)
    # clean.py is answered from its stat; the files with findings are read to rebuild the
    # secrets (the cache holds none).
    assert len(hashed) == first.files_scanned - 1
    assert _report(second) == _report(first) and second.notes == first.notes
    # The same size and an old mtime restored (cp -p, rsync -t): ctime still tells.
    import os
    import time

    clean = tree / "clean.py"
    before = clean.stat()
    time.sleep(0.05)  # past the filesystem clock's tick, so ctime moves
    key = FakeKeys("same-size").ionq_key()
    text = f'K="{key}"#ionq\n'
    clean.write_text(text[:before.st_size].ljust(before.st_size), encoding="utf-8")
    os.utime(clean, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert clean.stat().st_size == before.st_size and clean.stat().st_mtime_ns == before.st_mtime_ns
    hashed.clear()
    _scan(tree, cache)
    assert len(hashed) == first.files_scanned  # clean.py read again


def test_a_file_written_just_before_the_scan_is_read_again(tmp_path, monkeypatch):
    # Racily clean: a write in the same clock tick as the read would leave the stat as it
    # was, so a stat that recent is not trusted, and the file is hashed on the next run.
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    _tree(tree)
    monkeypatch.chdir(tree)
    first = _scan(tree, cache)
    hashed = _reads(monkeypatch)
    _scan(tree, cache)
    assert len(hashed) == first.files_scanned


def test_rule_set_or_selection_change_invalidates(tmp_path, monkeypatch):
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    _tree(tree)
    monkeypatch.chdir(tree)
    full = _scan(tree, cache)
    only_ibm = _scan(tree, cache, select=("KG2",))
    assert {f.rule_id[:3] for f in only_ibm.findings} == {"KG2"}
    assert len(only_ibm.findings) < len(full.findings)
    pack = Path(keyguard.pipeline.scan.__file__).resolve().parents[2] / "rules" / "ionq.toml"
    extra = tmp_path / "extra.toml"
    text = pack.read_text(encoding="utf-8").replace('id = "ionq"', 'id = "ionq2"', 1)
    extra.write_text(text.replace('"KG1', '"KG9'), encoding="utf-8")
    scanned = _no_rescan(monkeypatch)
    with_extra = _scan(tree, cache, extend_rules=(str(extra),))
    assert scanned  # a new pack: every file is scanned again
    assert any(f.rule_id.startswith("KG9") for f in with_extra.findings)


def test_cache_files_hold_no_secret(tmp_path, monkeypatch):
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    secrets = _tree(tree)
    monkeypatch.chdir(tree)
    result = _scan(tree, cache)
    assert {f.secret.reveal() for f in result.findings} >= set(secrets)
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in secrets:
            assert secret not in text and secret[4:20] not in text, path


def test_tampered_entry_is_not_trusted(tmp_path, monkeypatch):
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    _tree(tree)
    monkeypatch.chdir(tree)
    first = _scan(tree, cache)
    for shard in cache.rglob("*.json"):
        data = json.loads(shard.read_text(encoding="utf-8"))
        for entry in data.values():
            for finding in entry.get("f", []):
                finding["o"] += 1  # points one character off: the fingerprint will not match
        shard.write_text(json.dumps(data), encoding="utf-8")
    assert _report(_scan(tree, cache)) == _report(first)
    for shard in cache.rglob("*.json"):
        shard.write_text("{not json", encoding="utf-8")
    assert _report(_scan(tree, cache)) == _report(first)


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_concurrent_runs_share_one_cache(tmp_path):
    tree, cache = tmp_path / "tree", tmp_path / "cache"
    tree.mkdir()
    _tree(tree)
    for i in range(60):  # enough files for several shards
        (tree / f"m{i}.py").write_text(f"x = {i}\n", encoding="utf-8")
    import os

    env = {**os.environ, "KEYGUARD_CACHE_DIR": str(cache)}
    args = ["scan", "--format", "json", "--show-secrets", "-q", "."]
    procs = [subprocess.Popen([sys.executable, "-m", "keyguard", *args], cwd=tree, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    reports = [json.loads(out)["findings"] for out, _ in outputs]
    assert all(p.returncode == 1 for p in procs), [err for _, err in outputs]
    assert reports[0] == reports[1] == reports[2] and reports[0]
    for shard in cache.rglob("*.json"):
        json.loads(shard.read_text(encoding="utf-8"))  # never torn
    assert not [p for p in cache.rglob("*.tmp")]
    again = _cli(args, tree, env)
    assert json.loads(again.stdout)["findings"] == reports[0]


def test_disabled_or_moved_cache(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    _tree(tree)
    import os

    env = {k: v for k, v in os.environ.items() if k != "KEYGUARD_CACHE_DIR"}
    assert _cli(["scan", "--no-cache", "."], tree, env).returncode == 1
    assert not (tree / ".keyguard_cache").exists()
    (tree / ".keyguard.toml").write_text("cache = false\n", encoding="utf-8")
    assert _cli(["scan", "."], tree, env).returncode == 1
    assert not (tree / ".keyguard_cache").exists()
    (tree / ".keyguard.toml").write_text('cache-dir = "../elsewhere"\n', encoding="utf-8")
    assert _cli(["scan", "."], tree, env).returncode == 1
    assert list((tmp_path / "elsewhere").rglob("*.json"))
    moved = tmp_path / "moved"
    assert _cli(["scan", "."], tree, {**env, "KEYGUARD_CACHE_DIR": str(moved)}).returncode == 1
    assert list(moved.rglob("*.json"))
    (tree / ".keyguard.toml").unlink()
    proc = _cli(["scan", "."], tree, env)  # the default: beside the config root, ignored by git
    assert proc.returncode == 1
    assert (tree / ".keyguard_cache" / ".gitignore").read_text(encoding="utf-8").endswith("*\n")
    assert "scanned file" in proc.stderr and _cli(["scan", "."], tree, env).stderr == proc.stderr


def test_cache_setting_must_be_boolean(tmp_path):
    (tmp_path / ".keyguard.toml").write_text('cache = "no"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="cache"):
        load_config(["."], cwd=str(tmp_path))
