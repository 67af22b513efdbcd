#!/usr/bin/env python3
"""Build a large git repository for timing `keyguard scan staged` (a pre-commit hook's job).

    scripts/gen-staged-bench-repo.py OUT_DIR [--dirs 5000] [--files-per-dir 20] [--seed 7]

OUT_DIR gets a repository with one commit of DIRS x FILES_PER_DIR small Rust-looking files
(100,000 by default, in src/mNN/dNNNN/), written through `git fast-import` (seconds, not
minutes), then checked out, and one file changed and staged: the case a hook meets on every
commit. No file holds anything key-shaped. Then, for example:

    cd OUT_DIR && hyperfine -N --warmup 5 'keyguard scan staged -q'

The same arguments always give the same repository (fixed identity, date and seed).
"""

import argparse
import os
import random
import subprocess
import sys

WORDS = "alpha beta gamma delta config value request response handler client server".split()


def stream(dirs, per_dir, seed):
    r = random.Random(seed)
    yield b"commit refs/heads/main\n"
    yield b"author Bench <bench@example.com> 1704067200 +0000\n"
    yield b"committer Bench <bench@example.com> 1704067200 +0000\n"
    yield b"data 5\ninit\n"
    for d in range(dirs):
        for f in range(per_dir):
            body = "".join(
                f'let {r.choice(WORDS)}_{i} = "{r.choice(WORDS)}";\n'
                for i in range(r.randint(5, 40))
            ).encode()
            path = f"src/m{d // 100:02d}/d{d:04d}/f{f:02d}.rs"
            yield f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n"
    yield b"\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--dirs", type=int, default=5000)
    ap.add_argument("--files-per-dir", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f"{a.out} exists and is not empty")
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")

    def git(*args, **kw):
        subprocess.run(["git", *args], cwd=a.out, env=env, check=True, **kw)

    git("init", "-q", "-b", "main", ".")
    imp = subprocess.Popen(
        ["git", "fast-import", "--quiet"], cwd=a.out, env=env, stdin=subprocess.PIPE
    )
    for chunk in stream(a.dirs, a.files_per_dir, a.seed):
        imp.stdin.write(chunk)
    imp.stdin.close()
    if imp.wait() != 0:
        sys.exit("git fast-import failed")
    git("checkout", "-q", "main")
    changed = f"src/m{(a.dirs // 2) // 100:02d}/d{a.dirs // 2:04d}/f{a.files_per_dir // 2:02d}.rs"
    with open(os.path.join(a.out, changed), "a") as f:
        f.write('let added = "one staged line";\n')
    git("add", changed)
    print(f"{a.out}: {a.dirs * a.files_per_dir} files; staged a change to {changed}")


if __name__ == "__main__":
    main()
