"""`keyguard scan --verify`: asking a provider whether a found key is live (http)."""
