"""Pack authoring: the README's sample pack loads and passes, `keyguard rules` sees user
packs from the config, `keyguard rules check` reports failing examples, schema errors name
the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from keyguard.cli import cli
from keyguard.rulepack.load import RulePackError, load_ruleset, parse_pack
from keyguard.rulepack.rules_check import check_examples

from helpers import ROOT


def readme_pack() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Rule packs"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


@pytest.fixture()
def user_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's sample pack in a project whose config extends the rules with it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    pack = tmp_path / "rules" / "acme_quantum.toml"
    pack.write_text(readme_pack(), encoding="utf-8")
    (tmp_path / ".keyguard.toml").write_text('extend-rules = ["rules/acme_quantum.toml"]\n')
    return pack


def test_readme_sample_pack_loads_and_its_examples_pass(user_pack: Path) -> None:
    ruleset = load_ruleset((str(user_pack),))
    (pack,) = [p for p in ruleset.packs if p.provider.id == "acme-quantum"]
    assert {"KG951", "KG952"} <= set(ruleset.rules)
    results = check_examples(ruleset, [pack])
    assert [r.failures for r in results] == [[]] * len(pack.examples)
    assert len(results) >= 2


def test_rules_lists_and_explains_user_packs_from_the_config(user_pack: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["rules"])
    assert listed.exit_code == 0 and "KG951" in listed.output and "Acme Quantum" in listed.output
    explained = runner.invoke(cli, ["rules", "KG952"])
    assert explained.exit_code == 0, explained.output
    assert "Acme Quantum credential literal" in explained.output
    assert "Rotation:" in explained.output and "https://acme-quantum.example/tokens" in explained.output
    assert "lab-token-2024-xyz!" in explained.output  # the example, as written in the pack


def test_rules_check_passes_and_reports_each_failure(user_pack: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["rules", "check", str(user_pack)])
    assert ok.exit_code == 0, ok.output
    assert re.search(r"2 example\(s\): 2 passed, 0 failed", ok.output)
    broken = tmp_path / "broken.toml"
    text = readme_pack().replace('id = "acme-quantum"', 'id = "acme-broken"')
    text = text.replace("KG951", "KG961").replace("KG952", "KG962")
    text = text.replace('expect = ["KG962@3"]', 'expect = ["KG962@1"]')
    text = text.replace('client = Client(token=os.environ["ACME_QUANTUM_TOKEN"])', "client = Client()")
    text = text.replace("acme_quantum.AcmeClient", "acme_broken.AcmeClient").replace(
        "from acme_quantum", "from acme_broken").replace('distinctive_calls = ["AcmeClient"]', "")
    broken.write_text(text, encoding="utf-8")
    failed = runner.invoke(cli, ["rules", "check", str(broken)])
    assert failed.exit_code == 1
    assert f"FAIL {broken} [[example]] #1 INVALID" in failed.output
    assert "expected [KG962@1], found [KG962@3]" in failed.output
    assert "fixed text differs" in failed.output and "+client = Client(token=os.environ" in failed.output
    assert "2 example(s): 1 passed, 1 failed." in failed.output
    # Without a pack argument, every loaded pack's examples run: built-in and the config's.
    every = runner.invoke(cli, ["rules", "check"])
    assert every.exit_code == 0, every.output
    assert len(load_ruleset((str(user_pack),)).examples) == int(re.search(r"(\d+) example", every.output).group(1))


@pytest.mark.parametrize(("change", "message"), [
    (("[provider]\n", "[provider]\ncolour = \"red\"\n"), "[provider]: unknown key(s) 'colour'"),
    (("kind = \"acme-quantum-token\"\ntitle = \"Acme Quantum API token\"",
      "kind = \"acme-quantum-token\"\nsevere = true\ntitle = \"Acme Quantum API token\""),
     "[[rule]] #1 KG951: unknown key(s) 'severe'"),
    (("rules = [\"KG951\"]\n\n[[credential_file]]", "rules = [\"KG951\"]\nsaves = 1\n\n[[credential_file]]"),
     "[[call_site]] #1: unknown key(s) 'saves'"),
    (("format = \"json\"", "format = \"yaml\""), "[[credential_file]] #1: format must be one of"),
    (("keys_url = \"https://acme-quantum.example/tokens\"", "keys_url = \"acme-quantum.example\""),
     "keys_url must be an https:// URL"),
    (("token=\"<your-token>\"", "token=\"{{acme_token}}\""), "unknown marker {{acme_token}}"),
    (("position = 0", "position = 0\npersist_rule = \"KG952\""), "needs saves_to"),
    (("description = \"What it is and what it grants.\"",
      "description = \"x\"\nrevoke = \"at {console}\""), "unknown field(s) {console}"),
])
def test_schema_errors_name_the_file_and_the_key(tmp_path: Path, change, message) -> None:
    text = readme_pack()
    assert change[0] in text
    path = tmp_path / "acme.toml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_ruleset((str(path),))
    assert str(path) in str(info.value) and message in str(info.value)


def test_cli_schema_error_is_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(readme_pack().replace("[provider]\n", "[provider]\nbogus = 1\n"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", str(bad)])
    assert result.exit_code == 2
    assert "bad.toml [provider]: unknown key(s) 'bogus'" in result.output
    assert "Traceback" not in result.output


def test_every_builtin_pack_key_is_documented() -> None:
    """docs/rule-packs.md names every key the loader accepts."""
    doc = (ROOT / "docs" / "rule-packs.md").read_text(encoding="utf-8")
    import keyguard.rulepack.load as rp

    source = Path(rp.__file__).read_text(encoding="utf-8")
    keys = set()
    for group in re.findall(r"_check_keys\(\s*\w+,\s*\{([^}]*)\}", source, re.S):
        keys.update(re.findall(r'"([a-z_]+)"', group))
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert missing == []
    # The id table has a row for every built-in pack, and every id is inside its row's block.
    rows = re.findall(r"^\| KG(\d{3})-KG(\d{3}) \| .*?\(`rules/([a-z0-9_]+\.toml)`\) \|$", doc, re.M)
    blocks = {name: (int(lo), int(hi)) for lo, hi, name in rows}
    for pack in load_ruleset().packs:
        name = Path(pack.path).name
        assert name in blocks, f"docs/rule-packs.md 'Rule ids' needs a row for rules/{name}"
        lo, hi = blocks[name]
        assert all(lo <= int(r.id[2:]) <= hi for r in pack.rules), name
    assert parse_pack(readme_pack(), "README.md").provider.id == "acme-quantum"
