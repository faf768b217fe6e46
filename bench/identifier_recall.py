"""Recall guard of the identifier test (not a test): how many random keys it would hide.

    python bench/identifier_recall.py [--keys 1000000] [--seed 0]

Draws uniformly random keys of the two bare shapes, 44 characters of [A-Za-z0-9_-] (IBM
Cloud API key) and 32 of [A-Za-z0-9] (IonQ API key), and prints the fraction that
`keyguard.filter.shapes.looks_like_words` calls identifiers. Issue 8 requires < 1e-4 for both.
Measured (1,000,000 keys each, seed 0): 44-char 1 key (1.0e-6), 32-char 32 keys (3.2e-5,
the letter-only rule that predates the `_`/`-` pieces: the same 32 before the change);
re-run after any change to the identifier test.
"""

from __future__ import annotations

import argparse
import random
import time

from keyguard.filter.shapes import looks_like_words
from keyguard.rulepack.fakes import BASE62, BASE64URL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for length, alphabet, name in ((44, BASE64URL, "IBM Cloud API key"), (32, BASE62, "IonQ API key")):
        start = time.perf_counter()
        rejected = []
        for _ in range(args.keys):
            key = "".join(rng.choices(alphabet, k=length))
            if looks_like_words(key):
                rejected.append(key)
        seconds = time.perf_counter() - start
        fraction = len(rejected) / args.keys
        print(f"{length}-char {name}: {len(rejected)} of {args.keys} called identifiers "
              f"(fraction {fraction:.2e}, {'OK' if fraction < 1e-4 else 'TOO MANY'}; {seconds:.1f} s)")


if __name__ == "__main__":
    main()
