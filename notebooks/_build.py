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

This notebook trains a synthesizer on the bundled sample of the UCI Adult census table,
generates rows (also conditionally), saves and reloads the model, and scores the release with
the evaluator. It uses only the public API."""),
    code(SETUP),
    code("""import tabsynth
from tabsynth import CTGAN, TVAE, Metadata, datasets
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
    md("## Fit a model and sample"),
    code("""model = TVAE(epochs=EPOCHS, batch_size=500, random_state=0, verbose=False).fit(train, metadata=meta)
synthetic = model.sample(len(train), random_state=1)
synthetic.head()"""),
    md("A categorical condition is met exactly; numeric ranges use bounded rejection."),
    code("""rich = model.sample(200, conditions={"income": ">50K"}, random_state=2)
assert (rich["income"] == ">50K").all()
rich["income"].value_counts()"""),
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


def write(name: str, cells: list[nbf.NotebookNode]) -> None:
    nb = nbf.v4.new_notebook()
    nb["cells"] = cells
    nb["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                     "language": "python"},
                      "language_info": {"name": "python"}}
    nbf.write(nb, HERE / name)


NOTEBOOKS = {"01_quickstart.ipynb": QUICKSTART}

if __name__ == "__main__":
    for name, cells in NOTEBOOKS.items():
        write(name, cells)
        print("wrote", name)
