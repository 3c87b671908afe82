"""More of the bad-input and fault corpus (issue 12): a new user's tables through the CLI.

Like ``test_faults.py``, every case asserts the exit code, the message, that no traceback is
shown and that nothing was half-written or destroyed; the success cases assert what the user
gets (columns, categories, keys, dtypes).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_faults import check, leftovers


def _table(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "bmi": np.round(rng.normal(27, 4, n), 1),
        "lab": rng.choice(["None", "NA", "high", "low"], n),  # 'None'/'NA' are categories
        "grp": rng.choice(["a", "b", "c"], n),
    })


@pytest.fixture()
def old_model(tmp_path, model_file) -> Path:
    """An existing model file at the output path (it must survive every failure)."""
    p = tmp_path / "m.tsmodel"
    shutil.copy(model_file, p)
    return p


FAST = ["--model", "ctgan", "--epochs", "1", "--batch-size", "60", "--seed", "0", "--quiet"]


@pytest.mark.parametrize("sep, decimal", [(";", ","), ("\t", ".")], ids=["semicolon", "tab"])
def test_locale_csv_round_trips_with_none_and_na_categories(run, tmp_path, sep, decimal):
    df = _table()
    src = tmp_path / "export.csv"  # ';' with decimal commas, or tabs, in a file named .csv
    df.to_csv(src, sep=sep, decimal=decimal, index=False)
    res = run("fit", src, "-o", tmp_path / "m.tsmodel", *FAST)
    check(res, 0, "x 4 columns")
    out = tmp_path / "out.csv"
    check(run("sample", tmp_path / "m.tsmodel", "-n", "400", "-o", out, "--seed", "0"), 0,
          "Wrote 400 rows")
    # written as the input was (separator and decimal mark): reads back the same way
    back = pd.read_csv(out, sep=sep, keep_default_na=False, dtype=str)
    assert list(back.columns) == list(df.columns)
    assert set(back["lab"]) <= {"None", "NA", "high", "low"} and "" not in set(back["lab"])
    assert {"None", "NA"} & set(back["lab"])  # the 'missing-looking' categories survive
    assert pd.to_numeric(back["bmi"].str.replace(decimal, ".")).between(0, 100).all()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("model", ["ar", "ctgan", "tvae"])
def test_table_with_nothing_to_model_is_refused(run, tmp_path, old_model, model):
    src = tmp_path / "ids.csv"
    src.write_text("customer_id\n" + "".join(f"C{i:05d}\n" for i in range(100)))
    before = old_model.read_bytes()
    res = run("fit", src, "-o", old_model, "--model", model, "--epochs", "1", "--quiet")
    check(res, 3, "would model no column")
    assert "customer_id" in res.output
    assert old_model.read_bytes() == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("args", [
    ["--model", "ar"], ["--model", "ctgan"], ["--model", "tvae"],
    ["--model", "ctgan", "--route", "marginals"], ["--model", "tvae", "--route", "marginals"],
], ids=["ar", "ctgan", "tvae", "ctgan-marginals", "tvae-marginals"])
def test_huge_epsilon_is_refused_up_front(run, tmp_path, old_model, args):
    src = tmp_path / "d.csv"
    _table().to_csv(src, index=False)
    before = old_model.read_bytes()
    res = run("fit", src, "-o", old_model, "--epsilon", "1e9", "--epochs", "1", "--quiet", *args)
    check(res, 2, "must be None or a float in (0, 1000]")
    assert old_model.read_bytes() == before and leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def id_case(run, tmp_path_factory):
    """A table with an integer ID column, fitted and sampled through the CLI."""
    d = tmp_path_factory.mktemp("idcase")
    df = _table(150).assign(ID=np.arange(70_001, 70_151))[["ID", "age", "bmi", "lab", "grp"]]
    df.loc[::10, "bmi"] = np.nan  # missing numbers, written as empty fields
    df.to_csv(d / "real.csv", index=False)
    res = run("fit", d / "real.csv", "-o", d / "m.tsmodel", *FAST)
    assert res.exit_code == 0, res.output
    assert "excluded from modelling: 'ID' (id)" in res.output
    return d, df


def test_id_table_sample_then_evaluate_with_the_model(run, id_case):
    d, _ = id_case
    out = d / "eval"
    out.mkdir()
    check(run("sample", d / "m.tsmodel", "-n", "300", "-o", out / "syn.csv", "--seed", "1"), 0,
          "Wrote 300 rows")
    res = run("evaluate", d / "real.csv", out / "syn.csv", "--model", d / "m.tsmodel",
              "-o", out / "r.html", "--json", out / "r.json", "--no-progress")
    assert res.exit_code in (0, 1), res.output  # a verdict, not a refusal of the release
    check(res, res.exit_code, "Column 'ID' of the real table is not in the synthetic table")
    params = json.loads((out / "r.json").read_text())["parameters"]
    assert "ID" in params["columns_excluded"] and "ID" not in params["columns"]


def test_id_table_oversampled_keeps_keys_and_dtypes(run, id_case):
    d, df = id_case
    out = d / "aug.csv"
    res = run("sample", d / "m.tsmodel", "--oversample", "grp=a", "--ratio", "1.5", "--data",
              d / "real.csv", "-o", out, "--seed", "0")
    check(res, 0, "synthetic rows of grp=a")
    aug = pd.read_csv(out)
    real = pd.read_csv(d / "real.csv")
    assert aug.dtypes.to_dict() == real.dtypes.to_dict()  # ID stays int64, bmi float64
    assert aug["ID"].is_unique and aug["ID"].notna().all()
    assert (aug["ID"].iloc[len(real):] > real["ID"].max()).all()  # new keys after the real
    pd.testing.assert_frame_equal(aug.iloc[: len(real)], real)  # real rows untouched
    assert (aug["grp"] == "a").sum() == int(np.ceil(1.5 * real["grp"].value_counts()
                                                    .drop("a").max()))


def test_condition_on_a_number_and_on_a_class_never_seen(run, tmp_path, small_csv):
    meta = tmp_path / "meta.json"
    check(run("metadata", small_csv, "-o", meta), 0, "Wrote")
    doc = json.loads(meta.read_text())
    doc["columns"]["sex"]["public_domain"] = ["Female", "Male", "Other"]  # 'Other': 0 rows
    meta.write_text(json.dumps(doc))
    model = tmp_path / "m.tsmodel"
    check(run("fit", small_csv, "-o", model, "--metadata", meta, *FAST), 0, "Trained CTGAN")
    out = tmp_path / "o.csv"
    check(run("sample", model, "-n", "20", "-o", out, "--condition", "sex=Other"), 2,
          "saw no training row with sex='Other'")
    assert not out.exists() and leftovers(tmp_path) == []
    res = run("sample", model, "-n", "20", "-o", out, "--condition", "hours-per-week=40")
    check(res, 0, "Wrote 20 rows")
    assert "must be a number" not in res.output


def test_error_lists_a_few_values_only(run, tmp_path, model_file):
    many = tmp_path / "many.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"age": rng.integers(18, 90, 300), "workclass": "Private", "education-num": 9,
                  "sex": [f"s{i}" for i in range(300)], "hours-per-week": 40,
                  "income": "<=50K"}).to_csv(many, index=False)
    res = run("sample", model_file, "--oversample", "sex=nope", "--ratio", "0.5", "--data",
              many, "-o", tmp_path / "o.csv")
    check(res, 2, "more)")
    assert len(res.output) < 500 and "s299" not in res.output
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("bad", ["html", "json"])
def test_evaluate_unwritable_output_leaves_the_other_unwritten(run, tmp_path, small_csv, bad):
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    paths = {"html": str(tmp_path / "r.html"), "json": str(tmp_path / "ok.json")}
    paths[bad] = f"/proc/r.{bad}"
    res = run("evaluate", small_csv, small_csv, "-o", paths["html"], "--json", paths["json"],
              "--no-progress")
    check(res, 5, "does not take new files")
    assert list(tmp_path.iterdir()) == []


def test_audit_refuting_the_claim_exits_1(run, tmp_path, small_csv, monkeypatch):
    import tabsynth.audit as audit_mod

    meta = tmp_path / "meta.json"
    check(run("metadata", small_csv, "-o", meta), 0, "Wrote")

    def refuted(df, metadata, **kw):
        return {"method": "one-run", "epsilon_lower": 3.2, "confidence": 0.95,
                "claimed_epsilon": 1.0, "delta": 1e-6, "n_canaries": 10, "n_guesses": 5,
                "n_correct": 5, "positive_control_epsilon_lower": None, "passed": False}

    monkeypatch.setattr(audit_mod, "audit_one_run", refuted)
    out = tmp_path / "audit.json"
    res = run("audit", small_csv, "--metadata", meta, "--epsilon", "1", "-o", out)
    check(res, 1, "the claim is refuted")
    assert json.loads(out.read_text())["passed"] is False  # the evidence is kept


def test_marginals_route_shows_every_phase(run, tmp_path, monkeypatch):
    """Selection (scoring candidates), batch-norm refresh and DP statistics show on the bar."""
    import tabsynth.models.marginal_fit as mf
    import tabsynth.models.marginal_fitter as fitter

    for name, value in (("STEPS_PER_ROUND", 2), ("FINAL_STEPS", 2), ("BATCH", 64),
                        ("ROUNDS", 2)):
        monkeypatch.setattr(mf, name, value)
    monkeypatch.setattr(fitter, "EVAL_ROWS", 64)
    src = tmp_path / "d.csv"
    _table(200).to_csv(src, index=False)
    res = run("fit", src, "-o", tmp_path / "m.tsmodel", "--epsilon", "5", "--route",
              "marginals", "--model", "ctgan")
    check(res, 0, "CTGAN marginals")
    for phase in ("DP statistics", "round 1: fitting", "round 1: scoring candidate marginals",
                  "round 1: batch-norm statistics", "round 3: fitting"):
        assert phase in res.output, phase


@pytest.mark.parametrize("which, code, words", [
    ("real", 3, "real table file does not exist"),
    ("synthetic", 3, "synthetic table file does not exist"),
    ("holdout", 3, "holdout table file does not exist"),
    ("metadata", 3, "metadata file"),
    ("model", 4, "model file"),
])
def test_evaluate_missing_input_has_the_tables_code(run, tmp_path, small_csv, which, code,
                                                    words):
    """The same fault gets the same code in every command: a missing table or metadata file
    exits 3 (as in fit), a missing model file 4 (as in sample and info), not click's 2."""
    missing = str(tmp_path / "missing.file")
    real = missing if which == "real" else small_csv
    synth = missing if which == "synthetic" else small_csv
    extra = {"holdout": ["--holdout", missing], "metadata": ["--metadata", missing],
             "model": ["--model", missing]}.get(which, [])
    out = tmp_path / "out"
    out.mkdir()
    res = run("evaluate", real, synth, *extra, "-o", out / "r.html", "--json", out / "r.json",
              "--no-progress")
    check(res, code, words)
    assert "does not exist" in res.output and "Usage:" not in res.output
    assert list(out.iterdir()) == []


def test_sampling_a_model_with_no_columns_is_refused(run, tmp_path, model_file, monkeypatch):
    """A file written before fit refused such tables: refused at once, not a hang."""
    import tabsynth.models.registry as registry

    real_load = registry.load_with_manifest

    def no_columns(path, **kw):
        model, manifest = real_load(path, **kw)
        model.columns_ = []
        return model, manifest

    monkeypatch.setattr(registry, "load_with_manifest", no_columns)
    out = tmp_path / "o.csv"
    check(run("sample", model_file, "-n", "10", "-o", out), 4, "models no column")
    assert list(tmp_path.iterdir()) == []


def test_report_names_the_signed_model_it_read(run, tmp_path, id_case):
    """A reviewer checks that the report's ledger came from the signed model: the report
    (JSON and HTML) carries the model file's sha256, the digest the model's signature signs."""
    pytest.importorskip("cryptography")
    d, _ = id_case
    key = tmp_path / "k.pem"
    check(run("keygen", "-o", key), 0, "Wrote")
    model = tmp_path / "m.tsmodel"
    shutil.copy(d / "m.tsmodel", model)
    check(run("sign", model, "--key", key), 0, "Signed")
    check(run("sample", model, "-n", "200", "-o", tmp_path / "syn.csv", "--seed", "2"), 0,
          "Wrote")
    res = run("evaluate", d / "real.csv", tmp_path / "syn.csv", "--model", model,
              "-o", tmp_path / "r.html", "--json", tmp_path / "r.json", "--no-progress")
    assert res.exit_code in (0, 1), res.output
    signed = json.loads((tmp_path / "m.tsmodel.sig").read_text())["sha256"]
    params = json.loads((tmp_path / "r.json").read_text())["parameters"]
    assert params["model_file"] == "m.tsmodel" and params["model_file_sha256"] == signed
    assert signed in (tmp_path / "r.html").read_text()
    check(run("verify", model, "--key", tmp_path / "k.pub.pem"), 0, "Signature OK")


@pytest.mark.parametrize("model", ["ARSynthesizer", "CTGAN", "TVAE"])
def test_python_fit_of_an_empty_or_unmodellable_frame_is_a_data_error(model):
    """From Python (no CLI): a typed DataError naming the problem, never pandas' internals."""
    import tabsynth
    from tabsynth.errors import DataError

    cls = getattr(tabsynth, model)
    for frame, words in ((pd.DataFrame(), "no columns"),
                         (pd.DataFrame({"a": []}), "no rows"),
                         (pd.DataFrame({"tags": [[1], [2]] * 20, "b": range(40)}),
                          "lists or records")):
        with pytest.raises(DataError, match=words):
            cls(epochs=1, verbose=False).fit(frame)


def test_dp_condition_on_a_class_below_one_row_says_prior(run, tmp_path, small_csv,
                                                            monkeypatch):
    """DP: whether a row had the value must not be told, so no refusal: a one-line warning
    that the rows come from the prior. The DP estimate is forced below one row (the real draw
    depends on OS-entropy noise; test_augment's version skips when it lands above)."""
    import tabsynth.models.conditions as conditions

    meta = tmp_path / "meta.json"
    check(run("metadata", small_csv, "-o", meta), 0, "Wrote")
    doc = json.loads(meta.read_text())
    doc["columns"]["sex"]["public_domain"] = ["Female", "Male", "Other"]
    meta.write_text(json.dumps(doc))
    model = tmp_path / "m.tsmodel"
    res = run("fit", small_csv, "-o", model, "--metadata", meta, "--epsilon", "3", *FAST)
    check(res, 0, "Privacy spent")
    real_frequency = conditions._frequency

    def below_one_row(transformer, span, category):
        if transformer.discrete_spans[span].categories[category] == "Other":
            return 0.0
        return real_frequency(transformer, span, category)

    monkeypatch.setattr(conditions, "_frequency", below_one_row)
    out = tmp_path / "o.csv"
    res = run("sample", model, "-n", "20", "-o", out, "--condition", "sex=Other", "--seed", "0")
    check(res, 0, "sex='Other': the model's DP estimate of this class is below one row")
    assert "prior" in res.output and res.output.count("DP estimate") == 1
    assert set(pd.read_csv(out)["sex"]) == {"Other"} and leftovers(tmp_path) == []


def test_metadata_names_the_na_tokens(run, tmp_path):
    """NA tokens can be declared in the metadata file (issue 12 item 2): 'n/a' is read as missing
    and written back as 'n/a', while 'None' / 'NA' stay categories; --na-values overrides."""
    df = _table(200).astype({"bmi": "object"})
    df.loc[::10, "bmi"] = "n/a"
    src = tmp_path / "lab.csv"
    df.to_csv(src, index=False)
    meta = {"schema_version": 1, "primary_key": None, "na_values": ["n/a"], "columns": {
        "age": {"sdtype": "numerical", "representation": "int"},
        "bmi": {"sdtype": "numerical", "representation": "float"},
        "lab": {"sdtype": "categorical"}, "grp": {"sdtype": "categorical"}}}
    mpath = tmp_path / "meta.json"
    mpath.write_text(json.dumps(meta))
    check(run("fit", src, "--metadata", mpath, "-o", tmp_path / "m.tsmodel", *FAST), 0,
          "x 4 columns")
    out = tmp_path / "out.csv"
    check(run("sample", tmp_path / "m.tsmodel", "-n", "400", "-o", out, "--seed", "0"), 0,
          "Wrote 400 rows")
    back = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert set(back["bmi"]) - {"n/a"}, "numbers are generated"
    assert (back["bmi"] == "n/a").any()  # the missing token of the input, not ''
    assert "" not in set(back["bmi"])
    assert {"None", "NA"} & set(back["lab"])  # still categories
    # without the declaration the column holds text in a numerical column: a clear refusal
    meta.pop("na_values")
    mpath.write_text(json.dumps(meta))
    res = run("fit", src, "--metadata", mpath, "-o", tmp_path / "m2.tsmodel", *FAST)
    assert res.exit_code == 3 and "Traceback" not in res.output, res.output
    assert "n/a" in res.output or "--na-values" in res.output
    assert not (tmp_path / "m2.tsmodel").exists()


def test_metadata_na_values_must_be_strings(tmp_path):
    from tabsynth import Metadata
    from tabsynth.errors import MetadataError

    m = Metadata.from_dict({"schema_version": 1, "columns": {"a": {"sdtype": "categorical"}},
                            "na_values": ["NA"]})
    assert m.na_values == ["NA"] and Metadata.from_dict(m.to_dict()) == m
    assert "na_values" not in Metadata.from_dict(
        {"schema_version": 1, "columns": {"a": {"sdtype": "categorical"}}}).to_dict()
    for bad in ("NA", [1, 2], {"x": 1}):
        with pytest.raises(MetadataError, match="na_values must be a list of strings"):
            Metadata.from_dict({"schema_version": 1, "columns": {"a": {"sdtype": "categorical"}},
                                "na_values": bad})
