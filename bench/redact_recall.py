"""How well `keyguard.report.redact.redact_keys` hides generated keys, and how fast it is.

For each key shape the rule packs and research notes know, generate N random keys, put each
in a few contexts (bare, quoted assignment, folder and file name), redact, and count the keys
of which more than 8 characters stay visible (longest common substring of key and output;
the redacted form itself shows 4). Prints the fraction per shape (target < 1e-4), then the
throughput on a text of ordinary paths and words.

    python bench/redact_recall.py [N]      # default 20000 per shape
"""

from __future__ import annotations

import random
import string
import sys
import time

from keyguard.report.redact import redact_keys

B62 = string.ascii_letters + string.digits
B64URL = B62 + "-_"
B64 = B62 + "+/"
HEX = "0123456789abcdef"


def shapes(rng: random.Random) -> dict[str, str]:
    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    h = pick(HEX, 32)
    return {
        "ionq 32 base62": pick(B62, 32),
        "ibm 44 base64url": pick(B64URL, 44),
        "iqm 64 base62": pick(B62, 64),
        "azure 86 base64url": pick(B64URL, 86),
        "base64 40 std": pick(B64, 40),
        "qi 40 hex": pick(HEX, 40),
        "legacy 128 hex": pick(HEX, 128),
        "uuid": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
        "dwave DEV-40hex": "DEV-" + pick(HEX, 40),
    }


def visible(key: str, text: str) -> int:
    """Length of the longest substring of `key` that appears in `text`."""
    best = 0
    for i in range(len(key)):
        j = i + best + 1
        while j <= len(key) and key[i:j] in text:
            best = j - i
            j += 1
    return best


# Standing alone (a value, a path component) and glued to a word in one file-name piece.
ALONE = ("{k}", 'token = "{k}"', "data/{k}/run2024.py")
GLUED = ("notes_{k}.ipynb", "{k}_backup")
CONTEXTS = ALONE + GLUED


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rng = random.Random(8)
    leaks: dict[tuple[str, str], int] = {}
    for _ in range(n):
        for name, key in shapes(rng).items():
            for group, contexts in (("alone", ALONE), ("glued", GLUED)):
                worst = max(visible(key, redact_keys(c.format(k=key))) for c in contexts)
                if worst > 8:
                    leaks[name, group] = leaks.get((name, group), 0) + 1
    print(f"{n} keys per shape; keys with > 8 characters visible after redaction")
    print(f"  {'shape':22s} {'alone ' + str(ALONE):>10s}")
    print(f"  {'':22s} glued {GLUED}")
    for name in shapes(rng):
        a, g = leaks.get((name, "alone"), 0), leaks.get((name, "glued"), 0)
        print(f"  {name:22s} alone {a:5d} ({a / n:.1e})   glued {g:5d} ({g / n:.1e})")
    words = ("tests/test_verify_429_backoff.py src/qiskit_runtime/QiskitRuntimeService.py "
             "os.environ[\"QISKIT_IBM_TOKEN\"] https://cloud.ibm.com/iam/apikeys 2025-07-01 ") * 20000
    start = time.perf_counter()
    out = redact_keys(words)
    seconds = time.perf_counter() - start
    assert out == words
    print(f"throughput on ordinary text: {len(words) / seconds / 1e6:.1f} MB/s ({len(words)} chars)")


if __name__ == "__main__":
    main()
