"""Digests of the notebooks' code, to tell whether committed outputs come
from the committed cells.

    notebook-digest.py stamp EXECUTED.ipynb...   record each one's digest in
                                                 its metadata (relunet.code_sha256)
    notebook-digest.py check NOTEBOOK.ipynb...   fail unless each one carries
                                                 outputs made from its cells

The digest is the SHA-256 of the code cells' sources in order: editing a
code cell, adding or removing one changes it; prose does not (check-notebooks
holds the prose to the outputs).
"""
import hashlib
import json
import sys


def digest(nb):
    h = hashlib.sha256()
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            h.update(json.dumps("".join(c["source"])).encode())
            h.update(b"\n")
    return h.hexdigest()


def main(mode, paths):
    bad = 0
    for p in paths:
        nb = json.load(open(p))
        meta = nb["metadata"].setdefault("relunet", {})
        if mode == "stamp":
            meta["code_sha256"] = digest(nb)
            with open(p, "w") as f:
                json.dump(nb, f, indent=1, ensure_ascii=False)
                f.write("\n")
            continue
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        counts = [c.get("execution_count") for c in code]
        if meta.get("code_sha256") != digest(nb):
            print(f"notebook-digest: {p}: its outputs were not made by its code cells as they are now; "
                  "run kernel-setup/publish-notebooks", file=sys.stderr)
            bad += 1
        elif None in counts or counts != sorted(counts):
            print(f"notebook-digest: {p}: not every code cell ran, in order (execution counts {counts}); "
                  "run kernel-setup/publish-notebooks", file=sys.stderr)
            bad += 1
    if mode == "check":
        print(f"notebook-digest: {len(paths)} notebooks, {bad} with outputs not from their cells")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("stamp", "check"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
