"""Build the tutorial notebooks from plain Python cell lists (committed without outputs).

Run ``python notebooks/_build.py`` after editing; ``tests/test_notebooks.py`` executes them.
``TABSYNTH_NOTEBOOK_QUICK=1`` (set by the test) shrinks epochs so CI stays fast.
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

SETUP = """import os
QUICK = os.environ.get("TABSYNTH_NOTEBOOK_QUICK") == "1"   # CI runs the notebooks on tiny settings
EPOCHS = 2 if QUICK else 30"""


def md(text: str) -> nbf.NotebookNode:
    return nbf.v4.new_markdown_cell(text.strip())


def code(text: str) -> nbf.NotebookNode:
    return nbf.v4.new_code_cell(text.strip())


QUICKSTART = [
    md("""
# tabsynth quickstart: fit, sample, save, load, evaluate

This notebook trains the autoregressive synthesizer (`ARSynthesizer`, the best measured model
of the toolkit) on the bundled sample of the UCI Adult census table,
generates rows (also conditionally), saves and reloads the model, and scores the release with
the evaluator. It uses only the public API."""),
    code(SETUP),
    code("""import tabsynth
from tabsynth import ARSynthesizer, Metadata, datasets
from tabsynth.evaluation import evaluate
from sklearn.model_selection import train_test_split

df = datasets.load("adult")
train, holdout = train_test_split(df, test_size=0.2, stratify=df["income"], random_state=0)
train.shape, holdout.shape"""),
    md("""## Metadata
Column types are detected; id-like and free-text columns would be excluded with a warning.
You can declare public knowledge (a category domain, numeric bounds): it costs no privacy budget
when training with differential privacy."""),
    code("""meta = Metadata.detect(train)
{name: col["sdtype"] for name, col in meta.to_dict()["columns"].items()}"""),
    md("## Fit a model and sample\nWithout a budget it stops early on a validation split of the training rows."),
    code("""model = ARSynthesizer(epochs=EPOCHS, random_state=0, verbose=False).fit(train, metadata=meta)
synthetic = model.sample(len(train), random_state=1)
synthetic.head()"""),
    md("Conditions on categories, sets of values and numeric ranges are met exactly (masked logits, no rejection loop)."),
    code("""rich = model.sample(200, conditions={"income": ">50K", "age": (60, None)}, random_state=2)
assert (rich["income"] == ">50K").all() and (rich["age"] >= 60).all()
rich[["income", "age"]].describe(include="all")"""),
    md("## Save and load\nA model file is data, never code: a JSON manifest plus safetensors weights."),
    code("""path = model.save("adult_quickstart.tsmodel")
again = tabsynth.load(path)
assert again.sample(50, random_state=1).equals(model.sample(50, random_state=1))
path"""),
    md("## Evaluate the release\nFidelity, utility on the holdout and privacy risk, against the default policy."),
    code("""report = evaluate(train, synthetic, holdout=holdout, target="income", random_state=0, progress=False)
print(report.verdict)
report.to_frame()[["group", "name", "value", "status"]]"""),
    code("""report.to_html("quickstart_report.html")
report  # rendered inline in Jupyter"""),
]


FRAUD = [
    md("""
# Fraud: a DP model, rare-class oversampling, and a downstream classifier vs SMOTE

Fraud is about 6% of the claims in the bundled vehicle-insurance table. We train a
differentially private model (epsilon = 1), oversample the fraud class with exact conditional
generation, and compare a downstream classifier trained on (a) the real rows, (b) real + SMOTE-NC,
(c) real + tabsynth oversampling, on a real holdout. Finally we write the sign-off report."""),
    code(SETUP),
    code("""import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score
from sklearn.model_selection import train_test_split
from tabsynth import Oversampler, datasets
from tabsynth.evaluation import evaluate

df = datasets.load("fraud")                      # PolicyNumber (a row id) is dropped
target = "FraudFound_P"
if QUICK:                                        # CI: a stratified quarter of the table
    df = df.groupby(target, group_keys=False).sample(frac=0.25, random_state=0)
train, holdout = train_test_split(df, test_size=0.25, stratify=df[target], random_state=0)
train[target].value_counts()"""),
    md("""## Declare the public codebook
Only what the data set's *published documentation* says may be declared public: a domain read
off the rows (`df[col].unique()`) is a leak, since a value present in one row would then be
generated thousands of times. `tabsynth.datasets.codebooks` holds, as constants with their
citation, what the Kaggle data card and the calendar give for this table: the label's `{0, 1}`,
month and weekday names, week of month 1-5, the years 1994-1996. Declaring them costs no
privacy budget and keeps the rare class from being folded into "other" by DP category
discovery; the ledger and the report list what was declared public. Every other column's
categories, the other numeric bounds and every frequency are measured with DP."""),
    code("""from tabsynth import Metadata
from tabsynth.datasets import codebooks
meta = Metadata.from_dtypes(train)   # types from dtypes and names only, never the values
meta = codebooks.declare_public(meta, "fraud")   # the label is re-typed categorical here
print(codebooks.SOURCES["fraud"])
{c: meta[c].public_domain or meta[c].public_bounds for c in meta.modelled_columns
 if meta[c].public_domain or meta[c].public_bounds}"""),
    md("""## Oversample fraud with a DP model
`Oversampler` follows imbalanced-learn's `fit_resample(X, y)`: it returns the real rows plus
synthetic fraud rows up to the requested minority/majority ratio. Sampling from a DP model is
post-processing, so the oversampling costs no extra privacy budget; the ledger says what the
model spent."""),
    code("""X, y = train.drop(columns=[target]), train[target]
over = Oversampler(model="tvae", epsilon=1.0, sampling_strategy=0.5, random_state=0,
                   metadata=meta, model_params={"epochs": EPOCHS, "batch_size": 1000, "verbose": False})
X_res, y_res = over.fit_resample(X, y)
print(over.privacy_spent_)
y_res.value_counts()"""),
    md("## Downstream classifier: real vs SMOTE-NC vs tabsynth"),
    code("""def encode(frame):
    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = pd.Categorical(out[c], categories=sorted(df[c].dropna().unique()))
    return out

def pr_auc(X_train, y_train):
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    clf.fit(encode(X_train), y_train)
    return average_precision_score(holdout[target], clf.predict_proba(encode(holdout.drop(columns=[target])))[:, 1])

from imblearn.over_sampling import SMOTENC
cat_cols = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
X_codes = X.copy()
for c in cat_cols:
    X_codes[c] = X_codes[c].astype("category").cat.codes
smote = SMOTENC(categorical_features=[X.columns.get_loc(c) for c in cat_cols],
                sampling_strategy=0.5, random_state=0)
X_sm, y_sm = smote.fit_resample(X_codes, y)
for c in cat_cols:   # back to labels
    X_sm[c] = pd.Categorical.from_codes(X_sm[c], X[c].astype("category").cat.categories)

results = pd.Series({
    "(a) real only": pr_auc(X, y),
    "(b) real + SMOTE-NC (non-private)": pr_auc(X_sm, y_sm),
    "(c) real + tabsynth (DP model)": pr_auc(X_res, y_res),
}, name="PR-AUC on the real holdout")
results.round(3)"""),
    md("""SMOTE-NC interpolates between real fraud rows: it reads the real minority rows again and
gives no privacy guarantee. The tabsynth rows come from a model whose whole training was DP.
(On tiny CI settings the figures are not meaningful; see `benchmarks/bench_rare.py` for the
measured comparison over 5 seeds.)"""),
    md("## The sign-off report of the synthetic fraud rows' model"),
    code("""model = over.model_
release = model.sample(len(train), random_state=1)
report = evaluate(train, release, holdout=holdout, target=target, ledger=model.ledger_,
                  random_state=0, progress=False)
report.to_html("fraud_report.html")
print(report.verdict)
report.to_frame()[["group", "name", "value", "status"]]"""),
]


MEDICAL = [
    md("""
# Medical data compliance: privacy budget choices and the sign-off report

The bundled stroke table holds health records (5,110 patients). We train DP models at several
privacy budgets, plot quality against epsilon, and display the compliance report a privacy
officer signs."""),
    code(SETUP),
    code("""import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import train_test_split
from tabsynth import TVAE, Metadata, datasets
from tabsynth.datasets import codebooks
from tabsynth.evaluation import evaluate

df = datasets.load("stroke").sample(frac=1.0, random_state=0)   # rows come sorted by age: shuffle
target = "stroke"
train, holdout = train_test_split(df, test_size=0.2, stratify=df[target], random_state=0)
# Under DP the types come from dtypes and names only (never the values), and what we declare
# public - the data card's codebook and an age range we choose - costs no privacy budget and
# is listed in the report. Metadata.detect would read the values: keep it for public data.
meta = Metadata.from_dtypes(train)
meta = codebooks.declare_public(meta, "stroke")   # the 0/1 flags become categorical here
meta.update_column("age", public_bounds=[0, 100])
{name: col["sdtype"] for name, col in meta.to_dict()["columns"].items()}"""),
    md("""## Quality against the privacy budget
Smaller epsilon = stronger guarantee and noisier model. Each model's whole pipeline (column
statistics and training) spends at most its epsilon; delta defaults to well below 1/n."""),
    code("""epsilons = [1.0, 3.0] if QUICK else [0.3, 1.0, 3.0, 10.0]
rows = []
for eps in epsilons:
    model = TVAE(epsilon=eps, epochs=EPOCHS, batch_size=1000, random_state=0, verbose=False)
    model.fit(train, metadata=meta)
    synthetic = model.sample(len(train), random_state=1)
    rep = evaluate(train, synthetic, random_state=0, progress=False)   # fidelity figures suffice here
    figures = rep.to_frame().set_index("name")["value"]
    rows.append({"epsilon": eps, "spent": model.privacy_spent_["epsilon"],
                 "column_shapes": figures["column_shapes"],
                 "column_pair_trends": figures["column_pair_trends"]})
quality = pd.DataFrame(rows)
quality"""),
    code("""ax = quality.plot(x="epsilon", y=["column_shapes", "column_pair_trends"], marker="o", logx=True)
ax.set_xlabel("epsilon (log scale)"); ax.set_ylabel("score (1 = identical)")
ax.set_title("Fidelity of DP-TVAE on the stroke table")
plt.show()"""),
    md("## The sign-off report\nThe model at epsilon = 1, with its ledger: what was measured, what was declared public, what it cost."),
    code("""model = TVAE(epsilon=1.0, epochs=EPOCHS, batch_size=1000, random_state=0, verbose=False).fit(train, metadata=meta)
print(model.ledger_.summary())
release = model.sample(len(train), random_state=1)
report = evaluate(train, release, holdout=holdout, target=target, ledger=model.ledger_,
                  metadata=meta, random_state=0, progress=False)
report.to_html("stroke_report.html")
report   # the full report, inline"""),
]


def write(name: str, cells: list[nbf.NotebookNode]) -> None:
    nb = nbf.v4.new_notebook()
    nb["cells"] = cells
    nb["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                     "language": "python"},
                      "language_info": {"name": "python"}}
    nbf.write(nb, HERE / name)


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_fraud_oversampling.ipynb": FRAUD,
    "03_medical_compliance.ipynb": MEDICAL,
}

if __name__ == "__main__":
    for name, cells in NOTEBOOKS.items():
        write(name, cells)
        print("wrote", name)
