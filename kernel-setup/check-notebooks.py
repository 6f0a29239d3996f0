"""Asserts on the outputs of the executed notebooks in build/notebooks/.

The notebooks' prose interprets the numbers their cells print; these checks
hold the numbers to what the prose says (a change of the code that moves them
fails here, and the prose is then updated with the check), and check the
facts that follow from the math whatever the numbers.

Usage: check-notebooks.py [NOTEBOOK.ipynb ...] (default: all)
"""
import json
import pathlib
import re
import sys

out = pathlib.Path(__file__).resolve().parent.parent / "build" / "notebooks"
fail = []


def load(name):
    nb = json.loads((out / name).read_text())
    text, images = [], 0
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if o.get("output_type") == "error" or o.get("name") == "stderr":
                fail.append(f"{name}: a cell shows an error: {''.join(o.get('text', o.get('evalue', '')))[:200]}")
            if "text" in o:
                text.append("".join(o["text"]))
            data = o.get("data", {})
            html = "".join(data.get("text/html", ""))
            images += ("image/png" in data) + html.count("data:image/png;base64,")
            if html:
                text.append(re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]*>", "", html)))
    return "\n".join(text), images


def num(pattern, text, what):
    m = re.search(pattern, text, re.M)
    if not m:
        fail.append(f"{what}: no output matches {pattern!r}")
        return None
    return float(m.group(1))


def near(v, want, rel, what):
    if v is not None and abs(v - want) > rel * abs(want):
        fail.append(f"{what}: {v}, the prose says {want}")


# The methods of the paper's comparison, as notebooks 3 and 4 label them.
PAPER_METHODS = ["analytic", "analytic+safeguard", "sgd", "adam", "lbfgs"]


def train_means(text, dataset, labels):
    """Returns the mean training MSE of each of the labels that has a row
    for the data set in a summary table (data, method, runs, train MSE ...)."""
    alts = "|".join(re.escape(l) for l in sorted(labels, key=len, reverse=True))
    means = {}
    for m in re.finditer(rf"\b{dataset}\s+({alts})\s+\d+(?: \(\d+ failed\))?\s+([0-9.e+-]+) ±", text):
        means[m.group(1)] = float(m.group(2))
    return means


def lowest_is(text, dataset, labels, winners, what):
    """Fails unless one of winners has the lowest mean training MSE of the
    labels on the data set; returns the means."""
    means = train_means(text, dataset, labels)
    best = min(means, key=means.get) if means else None
    if best not in winners:
        fail.append(f"{what}: on {dataset} the lowest mean training MSE is {best}'s: {means}")
    return means


def check1(text):
    w = "notebook 1"
    for step in ["hidden", "output"]:
        g = num(rf"after the {step} step: relative gradient of the {step} sub-problem ([0-9.e+-]+)", text, w)
        if g is not None and g > 1e-14:
            fail.append(f"{w}: {step}-step relative gradient {g}, want rounding level")
    near(num(r"changed (\d+) of 1600 entries", text, w), 414, 0, w + ", flips")
    near(num(r"at the moved W: relative gradient of the hidden sub-problem ([0-9.e+-]+)", text, w), 6e-2, 0.2, w + ", moved W")
    near(num(r"iteration 16: training MSE ([0-9.]+)", text, w), 0.007236, 1e-3, w + ", iteration 16")
    near(num(r"iteration 300: training MSE ([0-9.]+)", text, w), 0.007199, 1e-3, w + ", iteration 300")
    near(num(r"stopped after iteration (\d+): converged", text, w), 434, 0, w + ", fixed point")
    fixed = num(r"joint relative gradient at the fixed point: ([0-9.e+-]+)", text, w)
    polished = num(r"after L-BFGS polishing .*joint relative gradient ([0-9.e+-]+)", text, w)
    if fixed is not None and polished is not None and not polished < 1e-3 * fixed:
        fail.append(f"{w}: polishing took the gradient from {fixed} to {polished}")
    near(num(r"t = 0: surrogate ([0-9.]+)", text, w), 0.15035, 1e-3, w + ", loss at t = 0")
    near(num(r"t = 1: surrogate ([0-9.]+)", text, w), 0.03555, 1e-3, w + ", surrogate at t = 1")
    near(num(r"t = 1: surrogate [0-9.]+, true ([0-9.]+)", text, w), 0.05710, 1e-3, w + ", true loss at t = 1")
    # Both polished points are minima whose only flat directions are the
    # four neurons' scaling symmetry (no neuron is dead or linear).
    m = re.search(r"analytic, polished\s+training MSE ([0-9.]+), \|gradient\| [0-9.e+-]+: (\d+) negative, (\d+) zero", text)
    if not m or m.group(2) != "0" or m.group(3) != "4":
        fail.append(f"{w}: the polished analytic fixed point is not a minimum with 4 flat directions: {m and m.groups()}")
    m2 = re.search(r"adam, polished\s+training MSE ([0-9.]+), \|gradient\| [0-9.e+-]+: (\d+) negative, (\d+) zero", text)
    if not m2 or m2.group(2) != "0" or m2.group(3) != "4":
        fail.append(f"{w}: Adam's polished end point is not a minimum with 4 flat directions: {m2 and m2.groups()}")
    near(m and float(m.group(1)), 0.007195, 1e-3, w + ", analytic polished")
    near(m2 and float(m2.group(1)), 0.004423, 1e-3, w + ", Adam polished")


def check2(text):
    w = "notebook 2"
    near(num(r"surrogate ([0-9.]+), true loss [0-9.]+ \(was", text, w), 0.05090, 1e-3, w + ", surrogate")
    near(num(r"surrogate [0-9.]+, true loss ([0-9.]+) \(was", text, w), 7.785, 1e-3, w + ", true loss")
    near(num(r"(\d+) of 3864 entries of G flipped", text, w), 735, 0, w + ", flips")
    near(num(r"output step: training MSE ([0-9.]+)", text, w), 0.02285, 1e-3, w + ", output step")
    if not re.search(r"record: iteration 1, hidden .*\n.*record: iteration 1, pattern .*\n.*record: iteration 1, output", text):
        fail.append(f"{w}: the sub-steps are not three records of iteration 1")
    near(num(r"stopped after 30 alternations: iteration limit; final training MSE ([0-9.]+)", text, w), 0.00373, 1e-2, w + ", final")
    m = re.search(r"reference: (\d+) of 30 alternations raised the loss; final ([0-9.]+), best ([0-9.]+)", text)
    s = num(r"safeguard: no progress after \d+ alternations, final ([0-9.]+)", text, w)
    if not m or s is None or not s < float(m.group(2)):
        fail.append(f"{w}: safeguard line missing or not below the reference's final loss")
    statuses = re.findall(r"seed \d: (converged|no progress|iteration limit)", text)
    if len(statuses) != 8:
        fail.append(f"{w}: {len(statuses)} seeds in the stopping-rule cell, want 8")
    for alpha in ["0.05", "0.20"]:
        if not re.search(rf"\b{alpha}\b.*\b0\s*$", text, re.M):
            fail.append(f"{w}: dead neurons with α = {alpha}")
    near(num(r"test R² ([0-9.]+)", text, w), 0.9881, 2e-3, w + ", SDF test R²")


def check3(text):
    w = "notebook 3"
    for s in ["abalone", "bike", "sdf", "sinx2"]:
        for meth in ["analytic", "analytic+safeguard", "sgd", "adam", "lbfgs"]:
            if not re.search(rf"\b{s}\s+{re.escape(meth)}\s+\d", text):
                fail.append(f"{w}: no table row for {s} / {meth}")
    if not re.search(r"bike\s+sgd\s+3 \(3 failed\)", text):
        fail.append(f"{w}: SGD at the reference's rate does not fail on every bike run")
    if len(re.findall(r"lr 0.003 seed \d: 60 epochs", text)) != 3:
        fail.append(f"{w}: SGD at lr 0.003 does not train on every seed")
    # The closing paragraph's ranking: analytic lowest mean training MSE on every set.
    for s in ["abalone", "bike", "sdf", "sinx2"]:
        lowest_is(text, s, PAPER_METHODS, ("analytic", "analytic+safeguard"), w)
    near(num(r"bike\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 2273, 1e-3, w + ", bike analytic")
    near(num(r"sinx2\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 0.3137, 1e-3, w + ", sinx2 analytic")
    near(num(r"sinx2\s+analytic\+safeguard\s+3\s+([0-9.e+-]+) ±", text, w), 0.3075, 1e-3, w + ", sinx2 safeguard")


def check4(text):
    w = "notebook 4"
    if "27556 patches: 225 inputs, 225 outputs; 22045 to train, 5511 to test" not in text:
        fail.append(f"{w}: the patches data set is not 27556 × 225 → 225 split 22045/5511")
    near(num(r"initial network \(W random, β fitted\): training MSE ([0-9.]+)", text, w), 455.7, 1e-3, w + ", initial patches network")
    near(num(r"alternation  1: training MSE\s+([0-9.]+)", text, w), 200.3, 1e-3, w + ", patches after 1 alternation")
    near(num(r"alternation  1: training MSE\s+[0-9.]+, (\d+) pattern flips", text, w), 117372, 0, w + ", first flips")
    near(num(r"alternation 10: training MSE\s+([0-9.]+)", text, w), 152.0, 1e-3, w + ", patches after 10 alternations")
    near(num(r"alternation 10: training MSE\s+[0-9.]+, (\d+) pattern flips", text, w), 8894, 0, w + ", tenth flips")
    # The noise's variance is σ² = 625: the noisy inputs must be that far from the clean patches.
    near(num(r"the noisy input's MSE ([0-9.]+)", text, w), 625, 0.02, w + ", noisy patches")
    near(num(r"the noisy photograph: MSE ([0-9.]+)", text, w), 625, 0.02, w + ", noisy photograph")
    out = num(r"the network's output ([0-9.]+)", text, w)
    near(out, 153.9, 1e-3, w + ", test patches denoised")
    img = num(r"denoised: MSE ([0-9.]+)", text, w)
    near(img, 127.7, 1e-3, w + ", photograph denoised")
    if out is not None and img is not None and not img < out:
        fail.append(f"{w}: averaging the overlapping patches did not help: {img} against {out}")
    # The year set when it is here, its stand-in otherwise: the prose's
    # numbers are the stand-in's.
    year = "year" if "using UCI's YearPredictionMSD" in text else "yearlike"
    if year == "yearlike":
        if "using its synthetic stand-in, yearlike" not in text:
            fail.append(f"{w}: the year cell says neither which set it used")
        test = num(r"test: MSE ([0-9.]+) years²", text, w)
        near(test, 28.25, 1e-3, w + ", yearlike test MSE")
        if test is not None and test < 25 * 0.97:
            fail.append(f"{w}: yearlike test MSE {test} below the noise floor 25")
        near(num(r"alternation 1: training MSE ([0-9.]+)", text, w), 36.84, 1e-3, w + ", yearlike alternation 1")
        near(num(r"alternation 3: training MSE ([0-9.]+)", text, w), 27.56, 1e-3, w + ", yearlike alternation 3")
        near(num(r"R² ([0-9.]+)\s*$", text, w), 0.775, 2e-3, w + ", yearlike test R²")
    for s in ["abalone", "bike", "sdf", "patches", year]:
        means = lowest_is(text, s, PAPER_METHODS, ("analytic", "analytic+safeguard"), w)
        if len(means) < 4:
            fail.append(f"{w}: {s}: {len(means)} table rows with a training MSE")
    near(num(r"bike\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 2273, 1e-3, w + ", bike analytic as in notebook 3")
    near(num(r"patches\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 161.6, 1e-3, w + ", patches analytic")
    near(num(r"patches\s+analytic\s+3\s+[0-9.e+-]+ ± [0-9.e+-]+\s+([0-9.e+-]+) ±", text, w), 200.4, 1e-3, w + ", patches analytic test")
    near(num(r"patches\s+lbfgs\s+3\s+([0-9.e+-]+) ±", text, w), 241.9, 1e-3, w + ", patches lbfgs")
    near(num(r"patches\s+adam\s+3\s+([0-9.e+-]+) ±", text, w), 571.4, 1e-3, w + ", patches adam")
    near(num(r"patches\s+sgd\s+3 \(2 failed\)\s+([0-9.e+-]+) \(1 run\)", text, w), 3526, 1e-3, w + ", patches surviving sgd")
    if year == "yearlike":
        near(num(r"yearlike\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 25.35, 1e-3, w + ", yearlike analytic")
        near(num(r"yearlike\s+analytic\s+3\s+[0-9.e+-]+ ± [0-9.e+-]+\s+([0-9.e+-]+) ±", text, w), 31.6, 1e-3, w + ", yearlike analytic test")
        near(num(r"yearlike\s+lbfgs\s+3\s+([0-9.e+-]+) ±", text, w), 25.61, 1e-3, w + ", yearlike lbfgs")
    if not re.search(r"patches\s+sgd\s+3 \(2 failed\)", text):
        fail.append(f"{w}: SGD at the reference's rate does not fail on 2 of 3 patches runs")


def check5(text):
    w = "notebook 5"
    default = "analytic+safeguard+datainit+restarts"
    sets = ["abalone", "bike", "sdf", "patches", "sinx2"]
    for s in sets:
        for meth in [default, "sgd", "adam", "lbfgs", "lm"]:
            if not re.search(rf"\b{s}\s+{re.escape(meth)}\s+\d", text):
                fail.append(f"{w}: no table row for {s} / {meth}")
    # LM on the patches is refused at once by its cost, and says why.
    if not re.search(r"patches, lm: 3 of 3 runs failed:\s+.*multiply-adds", text):
        fail.append(f"{w}: LM on the patches is not refused for its cost")
    if not re.search(r"bike, sgd: 3 of 3 runs failed:\s+.*diverged", text):
        fail.append(f"{w}: SGD at the reference's rate does not diverge on bike")
    # Every budgeted run that did not fail or stop on its own ends at its budget.
    for m in re.finditer(r"\b(abalone|bike|sdf|patches|sinx2)\s+(\S+)\s+3\s+\S+ ± \S+\s+\S+ ± \S+\s+\S+ ± \S+\s+\S+ ± \S+\s+([0-9.]+) ±", text):
        if m.group(2) in (default, "sgd", "adam") and float(m.group(3)) < 1:
            fail.append(f"{w}: {m.group(1)} / {m.group(2)} ran {m.group(3)} s, less than its budget")
    # The paired tests: one row per data set and other method.
    for s in sets:
        for meth in ["sgd", "adam", "lbfgs", "lm"]:
            if not re.search(rf"\b{s}\s+{re.escape(default)}\s+{re.escape(meth)}\s+\d", text):
                fail.append(f"{w}: no paired test for {s} / {meth}")
    # The prose's ranking: the default's mean training MSE is the lowest of all
    # methods on every data set.
    for s in sets:
        lowest_is(text, s, [default, "sgd", "adam", "lbfgs", "lm"], (default,), w)
    for v in ["analytic+safeguard", "analytic+safeguard+restarts", default, "analytic+explore+restarts", "analytic+safeguard+restarts+polish=lbfgs"]:
        if not re.search(rf"\b{re.escape(v)}\s+[0-9.]+ ± [0-9.e+-]+\s+[0-9.]+ ±", text):
            fail.append(f"{w}: no ablation row for {v!r}")
    g = num(r"analytic: stopped after alternation \d+ \([a-z ]+\), training MSE [0-9.]+, joint relative gradient ([0-9.e+-]+)", text, w)
    move = num(r"L-BFGS from there: \d+ iterations \([a-z ]+\) in [0-9.e+-]+ s, training MSE [0-9.]+ \(([0-9.e+-]+) % lower\)", text, w)
    if move is not None and move > 1:
        fail.append(f"{w}: the polish lowered the analytic end point's loss by {move} %, the prose says it barely moves")


checks = {"01-critical-points.ipynb": check1, "02-alternating-updates.ipynb": check2, "03-optimizer-comparison.ipynb": check3,
          "04-five-data-sets.ipynb": check4, "05-deeper-optima.ipynb": check5}
names = sys.argv[1:] or sorted(checks)
for name in names:
    text, images = load(name)
    # Every figure the notebook draws, so that a lost display fails.
    want = {"01-critical-points.ipynb": 4, "02-alternating-updates.ipynb": 7, "03-optimizer-comparison.ipynb": 10,
            "04-five-data-sets.ipynb": 5, "05-deeper-optima.ipynb": 5}.get(name, 1)
    if images < want:
        fail.append(f"{name}: {images} figures in the outputs, want {want}")
    print(f"check-notebooks: {name}: {images} figures")
    if name in checks:
        checks[name](text)
    else:
        fail.append(f"{name}: no checks for this notebook")

for f in fail:
    print("FAIL:", f)
print(f"check-notebooks: {len(names)} notebooks, {len(fail)} failures")
sys.exit(1 if fail else 0)
