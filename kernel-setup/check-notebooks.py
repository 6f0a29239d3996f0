"""Asserts on the outputs of the executed notebooks in build/notebooks/."""
import json, re, sys, pathlib

out = pathlib.Path(__file__).resolve().parent.parent / "build" / "notebooks"
fail = []

def load(name):
    nb = json.loads((out / name).read_text())
    text, images = [], 0
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if "text" in o:
                text.append("".join(o["text"]))
            data = o.get("data", {})
            images += "image/png" in data or "image/svg+xml" in data
            if "text/html" in data:
                text.append("".join(data["text/html"]))
    return "\n".join(text), images

for name in ["01-critical-points.ipynb", "02-alternating-updates.ipynb", "03-optimizer-comparison.ipynb"]:
    text, images = load(name)
    if images < 1:
        fail.append(f"{name}: no image in the outputs")
    print(f"{name}: {images} images")

text, _ = load("01-critical-points.ipynb")
for step in ["hidden", "output"]:
    m = re.search(rf"after the {step} step: relative gradient ([0-9.e+-]+)", text)
    if not m or float(m.group(1)) > 1e-10:
        fail.append(f"notebook 1: {step}-step gradient missing or above 1e-10: {m and m.group(1)}")
m = re.search(r"at perturbed W: hidden relative gradient ([0-9.e+-]+)", text)
if not m or float(m.group(1)) < 1e-6:
    fail.append("notebook 1: gradient at perturbed weights missing or not larger than at the solution")
if "analytic  smallest eigenvalue" not in text or "adam      smallest eigenvalue" not in text:
    fail.append("notebook 1: Hessian spectra missing")

text, _ = load("02-alternating-updates.ipynb")
m1 = re.search(r"after 10 alternations: training MSE", text)
m2 = re.search(r"resumed to 30 alternations", text)
if not (m1 and m2):
    fail.append("notebook 2: save/resume lines missing")

text, _ = load("03-optimizer-comparison.ipynb")
sets = ["abalone", "bike", "sdf", "sinx2"]
methods = ["analytic", "analytic-safeguard", "sgd", "adam", "lbfgs"]
for s in sets:
    for meth in methods:
        if not re.search(rf"^{s} \| {meth} \| ", text, re.M):
            fail.append(f"notebook 3: no table row for {s} / {meth}")

for f in fail:
    print("FAIL:", f)
print(f"{0 if fail else 1} passed, {len(fail)} failed")
sys.exit(1 if fail else 0)
