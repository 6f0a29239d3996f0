"""Asserts on the outputs of the executed notebooks in build/notebooks/.

The notebooks' prose interprets the numbers their cells print; these checks
hold the numbers to what the prose says (a change of the code that moves them
fails here, and the prose is then updated with the check), and check the
facts that follow from the math whatever the numbers.

Usage: check-notebooks.py [--committed] [NOTEBOOK.ipynb ...] (default: all);
--committed checks the committed notebooks in notebooks/ instead.
"""
import json
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
args = sys.argv[1:]
committed = bool(args) and args[0] == "--committed"
if committed:
    args = args[1:]
out = root / "notebooks" if committed else root / "build" / "notebooks"
fail = []


def load(name):
    """Returns the text of a notebook's outputs, its figure count and the
    text of its markdown cells."""
    nb = json.loads((out / name).read_text())
    text, images, prose = [], 0, []
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            prose.append("".join(c["source"]))
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
    return "\n".join(text), images, "\n\n".join(prose)


VALUE = r"(n/a \([a-z ]+\)|[0-9.e+-]+(?: ± [0-9.e+-]+)?(?: \((?:1 run|\d+ of \d+ runs)\))?)"


def summary(text):
    """Returns the rows of the summary tables in the outputs (data, method,
    runs, train MSE, test MSE, ...): {data: {method: (train, test)}}, NaN
    for a value that is not a number."""
    rows = {}
    for m in re.finditer(rf"(?:^|\s)([a-z][a-z0-9]*)\s+(\S+)\s+\d+(?: \(\d+ failed\))?\s+{VALUE}\s+{VALUE}", text):
        def val(v):
            try:
                return float(v.split()[0])
            except ValueError:
                return float("nan")
        rows.setdefault(m.group(1), {})[m.group(2)] = (val(m.group(3)), val(m.group(4)))
    return rows


# A ranking sentence of the prose: it names a method or a label and says
# lowest or highest. Each must have the one form that is checked against
# the summary tables of the outputs:
#   `LABEL` [or `LABEL`] has the lowest|highest mean training|test MSE
#   [of the N methods] on SET[, SET and SET] | on every data set
# so that a ranking no output supports fails, and no ranking goes
# unchecked. What a budgeted run ranks differs between runs: such prose
# says what the printed ranking shows, not which method it is.
RANKING = re.compile(r"\b(lowest|highest)\b")
METHOD = re.compile(r"`[a-z][a-z0-9+=.,-]*`|\b(analytic|SGD|Adam|L-BFGS|LM|sgd|adam|lbfgs|lm)\b")
CLAIM = re.compile(r"((?:`[^`]+`(?: or )?)+) has the (lowest|highest) mean (training|test) MSE(?: of the \w+ \w+)? on (every data set|[a-z][a-z0-9]*(?:, [a-z][a-z0-9]*)*(?:,? and [a-z][a-z0-9]*)?)\b")


def sentences(prose):
    prose = re.sub(r"\$[^$]*\$", "", prose)  # math is no claim
    return [x.strip() for x in re.split(r"(?<=[.!?:;])\s+(?=[A-Z*`(])|\n\n|\n[*-] ", prose) if x.strip()]


def check_rankings(name, text, prose):
    rows = summary(text)
    for sent in sentences(prose):
        if not RANKING.search(sent) or not METHOD.search(sent):
            continue
        claims = list(CLAIM.finditer(sent))
        if not claims:
            fail.append(f"{name}: a ranking sentence that is not in the checked form: {sent[:160]!r}")
            continue
        for c in claims:
            labels = re.findall(r"`([^`]+)`", c.group(1))
            col = 0 if c.group(3) == "training" else 1
            sets = c.group(4).strip()
            names = sorted(rows) if sets == "every data set" else [x for x in re.split(r",\s*|\s+and\s+", sets) if x]
            for ds in names:
                means = {k: v[col] for k, v in rows.get(ds, {}).items() if v[col] == v[col]}
                if not means:
                    fail.append(f"{name}: {sent[:100]!r}: no summary rows for {ds!r}")
                    continue
                pick = min if c.group(2) == "lowest" else max
                top = pick(means, key=means.get)
                if top not in labels:
                    fail.append(f"{name}: the prose says {' or '.join(labels)} has the {c.group(2)} mean {c.group(3)} MSE on {ds}, the output says {top}: {means}")


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
    near(num(r"bike\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 4216, 1e-3, w + ", bike analytic")
    near(num(r"sinx2\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 0.3137, 1e-3, w + ", sinx2 analytic")
    near(num(r"sinx2\s+analytic\+safeguard\s+3\s+([0-9.e+-]+) ±", text, w), 0.3088, 1e-3, w + ", sinx2 safeguard")


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
    near(num(r"bike\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 4216, 1e-3, w + ", bike analytic as in notebook 3")
    near(num(r"patches\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 161.6, 1e-3, w + ", patches analytic")
    near(num(r"patches\s+analytic\s+3\s+[0-9.e+-]+ ± [0-9.e+-]+\s+([0-9.e+-]+) ±", text, w), 200.4, 1e-3, w + ", patches analytic test")
    near(num(r"patches\s+lbfgs\s+3\s+([0-9.e+-]+) ±", text, w), 241.9, 1e-3, w + ", patches lbfgs")
    near(num(r"patches\s+adam\s+3\s+([0-9.e+-]+) ±", text, w), 571.4, 1e-3, w + ", patches adam")
    near(num(r"patches\s+sgd\s+3 \(2 failed\)\s+([0-9.e+-]+) \(1 run\)", text, w), 3526, 1e-3, w + ", patches surviving sgd")
    if year == "yearlike":
        near(num(r"yearlike\s+analytic\s+3\s+([0-9.e+-]+) ±", text, w), 25.35, 1e-3, w + ", yearlike analytic")
        near(num(r"yearlike\s+analytic\s+3\s+[0-9.e+-]+ ± [0-9.e+-]+\s+([0-9.e+-]+) ±", text, w), 31.6, 1e-3, w + ", yearlike analytic test")
        near(num(r"yearlike\s+lbfgs\s+3\s+([0-9.e+-]+) ±", text, w), 25.63, 1e-3, w + ", yearlike lbfgs")
    if not re.search(r"patches\s+sgd\s+3 \(2 failed\)", text):
        fail.append(f"{w}: SGD at the reference's rate does not fail on 2 of 3 patches runs")


def check5(text):
    w = "notebook 5"
    m = re.search(r"^abalone\s+(analytic\S*)\s+3\s", text, re.M)
    default = m.group(1) if m else "analytic+auto"
    sets = ["abalone", "bike", "sdf", "patches", "sinx2"]
    for s in sets:
        for meth in [default, "sgd", "adam", "lbfgs", "lm"]:
            if not re.search(rf"\b{s}\s+{re.escape(meth)}\s+\d", text):
                fail.append(f"{w}: no table row for {s} / {meth}")
        # The lines that name the lowest of this run, which the prose refers to.
        if not re.search(rf"^{s}: lowest mean training MSE \S+, lowest mean test MSE \S+", text, re.M):
            fail.append(f"{w}: no ranking line for {s}")
    # LM on the patches is refused at once by its cost, and says why.
    if not re.search(r"patches, lm: 3 of 3 runs failed:\s+.*multiply-adds", text):
        fail.append(f"{w}: LM on the patches is not refused for its cost")
    if not re.search(r"bike, sgd: 3 of 3 runs failed:\s+.*diverged", text):
        fail.append(f"{w}: SGD at the reference's rate does not diverge on bike")
    # Every budgeted run that did not fail or stop on its own ends at its
    # budget: a step under way is stopped within it, not after.
    for m in re.finditer(r"\b(abalone|bike|sdf|patches|sinx2)\s+(\S+)\s+3\s+\S+ ± \S+\s+\S+ ± \S+\s+\S+ ± \S+\s+\S+ ± \S+\s+([0-9.]+) ±", text):
        budget = 5 if m.group(1) == "patches" else 1
        if m.group(2) in (default, "sgd", "adam") and not 0.9 * budget <= float(m.group(3)) <= 1.1 * budget:
            fail.append(f"{w}: {m.group(1)} / {m.group(2)} ran {m.group(3)} s of its {budget} s budget")
    # The paired tests: one row per data set and other method.
    for s in sets:
        for meth in ["sgd", "adam", "lbfgs", "lm"]:
            if not re.search(rf"\b{s}\s+{re.escape(default)}\s+{re.escape(meth)}\s+\d", text):
                fail.append(f"{w}: no paired test for {s} / {meth}")
    # The variants and what auto gave each.
    for s in ["abalone", "bike", "sin", "abalone400"]:
        for v in ["analytic+auto", "analytic+safeguard+datainit+restarts", "analytic+damping=0.01+datainit+restarts"]:
            if not re.search(rf"\b{s}\s+{re.escape(v)}\s+3\s", text):
                fail.append(f"{w}: no row for the variant {v} on {s}")
        kept = re.findall(rf"(?:^|\s){s}\s+\d\s+\S+\s+\d+\s+[0-9.]+\s+\S+\s+kept", text)
        if len(kept) != 3:
            fail.append(f"{w}: {len(kept)} runs of analytic+auto on {s} with a kept variant, want 3")
        # The prose: a race on all four sets, every variant with starts in every
        # run: five variants, eight where the rows are few (the balanced arms).
        rows = len(re.findall(rf"(?:^|\s){s}\s+\d\s+\S+\s+\d+\s+[0-9.]+\s", text))
        raced = len(re.findall(rf"(?:^|\s){s}\s+\d\s+\S+\s+[1-9]\d*\s+[0-9.]+\s", text))
        if rows not in (15, 24) or raced != rows:
            fail.append(f"{w}: on {s}, {raced} of {rows} variant rows with starts over 3 runs, want all of 15 or 24: the prose says every variant races")
    for v in ["analytic+auto+validate", "adam+validate", "lbfgs+validate"]:
        if not re.search(rf"\babalone400\s+{re.escape(v)}\s+3\s", text):
            fail.append(f"{w}: no validation row for {v}")
    move = num(r"L-BFGS from there: \d+ iterations \([a-z ]+\), training MSE [0-9.]+ \(([0-9.e+-]+) % lower\)", text, w)
    if move is not None and move > 1:
        fail.append(f"{w}: the polish lowered the analytic end point's loss by {move} %, the prose says it barely moves")


def check6(text):
    w = "notebook 6"
    # The explorer: its static state in a headless run, or its live one.
    if "No notebook front end answered" not in text and "iteration" not in text:
        fail.append(f"{w}: the explorer showed neither its static state nor a status line")
    # The same from code: initial, hidden step, pattern update, output step.
    lines = re.findall(r"^sin \(\d+ rows\), h = 16, .*iteration (\d+), training MSE ([0-9.e+-]+), (\d+) flips; ([^;]+); status", text, re.M)
    if len(lines) < 4:
        fail.append(f"{w}: {len(lines)} status lines from code, want 4")
        return
    init, hid, pat, out = lines[-4:]
    sur = re.match(r"hidden step: surrogate ([0-9.e+-]+)", hid[3])
    if not sur or not float(sur.group(1)) < float(hid[1]):
        fail.append(f"{w}: the prose says the hidden step's true loss lies above its surrogate: {hid}")
    if pat[1] != hid[1] or int(pat[2]) == 0 or "pattern update" not in pat[3]:
        fail.append(f"{w}: the pattern update changed the loss or flipped nothing: {pat}")
    if not float(out[1]) < float(init[1]):
        fail.append(f"{w}: the output step did not bring the loss below where it began: {init} {out}")


checks = {"01-critical-points.ipynb": check1, "02-alternating-updates.ipynb": check2, "03-optimizer-comparison.ipynb": check3,
          "04-five-data-sets.ipynb": check4, "05-deeper-optima.ipynb": check5,
          "06-explore.ipynb": check6}
names = [pathlib.Path(a).name for a in args] or sorted(checks)
for name in names:
    text, images, prose = load(name)
    check_rankings(name, text, prose)
    # Every figure the notebook draws, so that a lost display fails.
    want = {"01-critical-points.ipynb": 4, "02-alternating-updates.ipynb": 7, "03-optimizer-comparison.ipynb": 10,
            "04-five-data-sets.ipynb": 5, "05-deeper-optima.ipynb": 5, "06-explore.ipynb": 3}.get(name, 1)
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
