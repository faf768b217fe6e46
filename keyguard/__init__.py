"""keyguard: find, fix and verify leaked quantum-cloud credentials.

Importing this package is cheap on purpose (the pre-commit hook runs on every commit):
submodules pull in libcst, nbformat or httpx only when a file or flag needs them.
"""

__version__ = "0.1.0"
# Where keyguard is published (SARIF informationUri, the README's install commands): the
# repository, since no release is on a package index yet. OWNER is filled in at release.
REPOSITORY_URL = "https://github.com/OWNER/keyguard"
