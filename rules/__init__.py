"""Built-in rule packs: one TOML file per provider (data only, loaded by keyguard.rulepack.load)."""
