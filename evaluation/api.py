"""``evaluate``: score a synthetic release against the real table and apply a policy."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ._audit import audit_metric, audit_veto, validate_audit
from ._csvdialect import check_csv_format
from ._table_io import load_table
from ._tables import check_ignored, drop_ignored, normalise_metadata, prepare, subsample
from ._threads import limited_threads
from ._types import MetricResult
from .errors import check_param
from .fidelity import PAIR_BINNINGS, fidelity_metrics
from .policy import Policy, load_policy, verdict
from .privacy_risk import privacy_risk_metrics
from .report import Report, environment, summarize_ledger
from .scenario import check_conditions, rare_rows, scenario_conformance
from .scenario import to_json as scenario_json
from .utility import utility_metrics

DEFAULT_MAX_ROWS = 100_000
PRIVACY_MAX_ROWS = 20_000

_STEPS = ("load and check tables", "fidelity: column shapes", "fidelity: column pair trends",
          "fidelity: detection", "fidelity: rarest class", "utility", "privacy risk", "plots",
          "policy")


def _dp_metric(summary: dict[str, Any] | None, audit: dict[str, Any] | None) -> MetricResult:
    title = "Differential privacy ε"
    desc = ("The (ε, δ) differential-privacy guarantee recorded in the generator's privacy "
            "ledger; it bounds what any attacker can learn about one row.")
    nan = float("nan")
    if summary is None:
        return MetricResult(name="dp_epsilon", group="privacy", value=nan, title=title,
                            description=desc, higher_is_better=False,
                            reason="no privacy ledger was supplied (no DP guarantee)")
    eps = summary.get("epsilon")
    void = (None if summary.get("dp") is not False
            else f"not a DP release: {summary.get('dp_reason')}")
    if eps is None:
        return MetricResult(name="dp_epsilon", group="privacy", value=nan, title=title,
                            description=desc, higher_is_better=False,
                            reason=void or "the ledger records no epsilon (the generator is "
                            "not DP)")
    veto = void or audit_veto(audit, float(eps))
    details: dict[str, Any] = {"delta": summary.get("delta"), "from": summary.get("source")}
    if veto:
        details["veto"] = veto
    return MetricResult(name="dp_epsilon", group="privacy", value=float(eps), title=title,
                        description=desc, higher_is_better=False, details=details)


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(_STEPS), desc="evaluate", file=sys.stderr, leave=False,
                            unit="step")
        self.started = False

    def __call__(self, label: str) -> None:
        if self.bar is None:
            return
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(label)

    def close(self) -> None:
        if self.bar is not None:
            if self.started:
                self.bar.update(1)
            self.bar.close()


def evaluate(
    real: pd.DataFrame | str,
    synthetic: pd.DataFrame | str,
    *,
    holdout: pd.DataFrame | str | None = None,
    metadata: Mapping[str, Any] | Any | None = None,
    target: str | None = None,
    ledger: Mapping[str, Any] | Any | None = None,
    audit: Mapping[str, Any] | None = None,
    policy: str | Mapping[str, Any] | Policy | None = None,
    random_state: int | None = None,
    progress: bool = True,
    max_rows: int = DEFAULT_MAX_ROWS,
    conditions: Mapping[str, Any] | None = None,
    pair_binning: str = "own",
    generator: Mapping[str, Any] | None = None,
    protected: str | list[str] | None = None,
    positive: Any = None,
    csv_format: Mapping[str, Any] | None = None,
    ignore_columns: Sequence[str] | None = None,
) -> Report:
    """Score a synthetic table against the real (training) table and apply a policy.

    Parameters
    ----------
    real, synthetic, holdout
        DataFrames or CSV/Parquet paths. ``real`` is the table the generator was trained on;
        ``holdout`` real rows it never saw (needed for utility and most privacy figures).
    metadata
        tabsynth ``Metadata.to_dict()``, SDV single-table metadata (dict or JSON path) or an
        object with ``to_dict``; column kinds are inferred from dtypes when omitted.
        Columns of sdtype ``id``/``text`` are not evaluated.
    target
        Column to predict for utility and the rarest-class fidelity.
    ledger
        The generator's privacy ledger as JSON (``Ledger.to_dict()``) or an object with
        ``to_dict``; reported and checked against ``dp_epsilon``. A privacy summary with a
        DP flag is accepted too (``Oversampler.privacy_report_``, the ``attrs["tabsynth"]``
        block of an oversampled frame, or any ``{"dp": false, "reason": ...}``): a release
        flagged not DP, or one holding real rows, FAILs ``dp_epsilon`` with that reason.
    audit
        An empirical privacy audit as JSON (keys in :data:`tabsynth.evaluation._audit.
        AUDIT_KEYS`: ``method``, ``epsilon_lower``, ``confidence``, ``claimed_epsilon``,
        ``delta``, ``n_canaries``, ``n_guesses``, ``n_correct``,
        ``positive_control_epsilon_lower``, ``passed``). Reported as the
        ``audit_epsilon_lower`` figure; an audit that failed, or whose lower bound exceeds
        the claimed ε, FAILs ``dp_epsilon``.
    policy
        YAML/JSON path, dict or :class:`Policy`; the built-in default when None.
    random_state
        Seed for subsampling and models; the report is deterministic for a fixed seed.
    progress
        Show a progress bar over the steps (tqdm, on stderr).
    max_rows
        Tables longer than this are subsampled uniformly (seeded) before scoring; the report
        records it. Detection uses at most 10,000 rows per side, privacy risk at most 20,000.
    conditions
        The scenario a release was generated under (as ``tabsynth sample --condition``): a
        mapping ``column -> value | [values] | (low, high)`` (inclusive; ``None`` leaves an end
        open). The rarest-class section then compares the release with the real rows meeting
        the conditions, ``scenario_conformance`` counts the release rows that do not, and page
        one names the scenario (:mod:`tabsynth.evaluation.scenario`).
    pair_binning
        How Column Pair Trends bins a numeric column paired with a categorical one: ``"own"``
        (default; each table on its own range, SDMetrics' QualityReport, equal to it to 1e-6)
        or ``"real"`` (both tables on the real table's range). The report labels the choice.
    generator
        What produced the release, for page one (e.g. ``{"model": "TVAE", "route":
        "dpsgd"}``); ``tabsynth evaluate --model`` fills it from the model file.
    protected
        Protected column(s) (``["sex", "race"]``): adds the fairness section
        (:mod:`tabsynth.evaluation.fairness`, ``Report.fairness``): group shares in real vs
        synthetic and, with ``target`` and ``holdout``, a model trained on each scored on the
        holdout (accuracy, ROC AUC, demographic-parity difference, equalised-odds gap).
    positive
        The favourable class of ``target`` for the fairness figures (default: the rarest).
    csv_format
        How CSV paths are read: ``{"sep": ";", "decimal": ",", "na_values": ["N/A"]}``, any
        key optional. By default each file's separator and decimal mark are sniffed by the
        rules ``tabsynth fit`` uses, and pandas' default tokens (``NA``, ``N/A``, ``null``,
        ``None``...) mean missing; ``na_values`` makes only the empty field and those tokens
        missing, as ``tabsynth fit --na-values`` does; without it, the ``na_values`` of
        tabsynth ``metadata`` apply. A model file's ``csv_format`` entry (what ``tabsynth
        evaluate --model`` passes) is accepted as is. The report's parameters say how each
        CSV file was read.
    ignore_columns
        Columns left out of the comparison in every table that has them (a release's extra
        column, real columns that were not synthesised); the report's parameters
        (``columns_ignored``) and warnings name them. A name in no table, the target, or
        every column is an :class:`EvaluationParameterError`.

    Raises
    ------
    EvaluationDataError
        The tables cannot be compared (every problem listed at once).
    EvaluationParameterError
        A bad argument (``max_rows``, ``audit``, ``csv_format``).
    PolicyError
        The policy is malformed.
    """
    check_param("evaluate", "max_rows", max_rows,
                isinstance(max_rows, int) and not isinstance(max_rows, bool) and max_rows >= 100,
                "an int >= 100")
    audit_d = validate_audit(audit)
    check_param("evaluate", "pair_binning", pair_binning, pair_binning in PAIR_BINNINGS,
                f"one of {list(PAIR_BINNINGS)}")
    csv_fmt = check_csv_format(csv_format)
    ignored = check_ignored(ignore_columns, target)
    pol = load_policy(policy)  # fail fast on a bad policy, before any work
    bar = _Progress(progress)
    try:
        with limited_threads():
            return _evaluate(real, synthetic, holdout, metadata, target, ledger, audit_d, pol,
                             random_state, max_rows, bar,
                             {"conditions": conditions, "pair_binning": pair_binning,
                              "generator": generator, "protected": protected,
                              "positive": positive, "csv_format": csv_fmt,
                              "ignore_columns": ignored})
    finally:
        bar.close()


def _subsampled(t_real, t_syn, t_hold, cols, max_rows, rng_sub):
    """The evaluated columns of each table, subsampled (seeded) to ``max_rows``; the notes."""
    subsampling = []
    frames: dict[str, pd.DataFrame | None] = {}
    for t in (t_real, t_syn, t_hold):
        if t is None:
            frames["holdout"] = None
            continue
        df = t.frame[cols]
        if t.sample is not None and t.sample["rows_read"] < t.sample["rows_total"]:
            subsampling.append(
                f"{t.role}: {t.sample['rows_total']:,} rows subsampled uniformly to "
                f"{t.sample['rows_read']:,} (seed {t.sample['seed']}) while reading "
                + t.sample.get("what", f"the partitioned Parquet dataset "
                                       f"({t.sample['files']:,} files)"))
        if len(df) > max_rows:
            subsampling.append(f"{t.role}: {len(df):,} rows subsampled uniformly to "
                               f"{max_rows:,} (seeded)")
            df = subsample(df, max_rows, rng_sub)
        frames[t.role] = df
    return frames, subsampling


def _load(real, synthetic, holdout, max_rows, seeds, csv_fmt):
    """The three tables; a partitioned Parquet folder is read as a seeded uniform sample of
    ``max_rows`` rows, a CSV file under ``csv_fmt``."""
    read = [int(s.generate_state(1)[0]) for s in seeds[4].spawn(3)]
    t_real = load_table(real, "real", max_rows=max_rows, seed=read[0], csv_format=csv_fmt)
    t_syn = load_table(synthetic, "synthetic", max_rows=max_rows, seed=read[1],
                       csv_format=csv_fmt)
    t_hold = (None if holdout is None
              else load_table(holdout, "holdout", max_rows=max_rows, seed=read[2],
                              csv_format=csv_fmt))
    return t_real, t_syn, t_hold


def _score(r, s, h, t_real, t_syn, kinds, target, conditions, options, seeds, step):
    """Every figure: fidelity (+ scenario), utility, fairness, privacy risk."""
    seed_det, seed_util, seed_priv = seeds
    step(_STEPS[1])
    metrics: list[MetricResult] = fidelity_metrics(
        r, s, kinds, target=target, random_state=seed_det, step=step,
        pair_binning=options["pair_binning"], conditions=conditions,
    )
    if conditions:
        metrics.append(scenario_conformance(t_syn.frame, conditions, kinds))
    step(_STEPS[5])
    metrics += utility_metrics(r, s, h, kinds, target=target, random_state=seed_util,
                               conditions=conditions)
    fairness = None
    if options.get("protected") is not None:
        from .fairness import fairness_section

        fairness = fairness_section(r, s, h, kinds, protected=options["protected"],
                                    target=target, positive=options.get("positive"),
                                    random_state=seed_util,
                                    shares_from=(t_real.frame, t_syn.frame))
    step(_STEPS[6])
    metrics += privacy_risk_metrics(r, s, h, kinds=dict(kinds), target=target,
                                    random_state=seed_priv, max_rows=PRIVACY_MAX_ROWS,
                                    progress=None)
    return metrics, fairness


def _plots(r, s, kinds, metrics, target, conditions) -> dict[str, Any]:
    from .plots import marginal_plots, pair_heatmap, rare_class_plot

    shapes = next(m for m in metrics if m.name == "column_shapes")
    trends = next(m for m in metrics if m.name == "column_pair_trends")
    scores = {row["column"]: row["score"] for row in shapes.details.get("columns", [])}
    plots = {
        "marginals": marginal_plots(r, s, kinds, scores),
        "pair_heatmap": pair_heatmap(trends.details.get("pairs", []), list(kinds)),
    }
    rare = rare_rows(r, s, kinds, target, conditions)
    if not isinstance(rare, str):
        plots["rare_class"] = rare_class_plot(
            rare[1], rare[2], kinds, next(m for m in metrics if m.name == "minority_column_shapes"))
    return plots


def _parameters(target, random_state, max_rows, options, conditions, subsampling, kinds,
                excluded, meta, pol) -> dict[str, Any]:
    return {
        "target": target,
        "random_state": random_state,
        "max_rows": max_rows,
        "pair_binning": options["pair_binning"],
        "conditions": scenario_json(conditions),
        "generator": None if not options["generator"] else dict(options["generator"]),
        "subsampling": subsampling + [
            "detection: at most 10,000 rows per side (balanced, seeded)",
            f"privacy risk: at most {PRIVACY_MAX_ROWS:,} rows per table",
        ],
        "columns": {c: k for c, k in kinds.items()},
        "columns_excluded": excluded,
        "columns_ignored": list(options["ignore_columns"]),
        "metadata_supplied": meta is not None,
        "policy_source": pol.source,
    }


def _csv_read(*tables) -> dict[str, Any]:
    """``{"csv_read": {role: "separator ';', decimal mark ','; missing: ..."}}`` for the
    tables read from CSV files (nothing when none was)."""
    read = {t.role: (f"separator {t.csv['sep']!r}, decimal mark {t.csv['decimal']!r}; "
                     f"missing: {t.csv['missing']}")
            for t in tables if t is not None and t.csv is not None}
    return {"csv_read": read} if read else {}


def _evaluate(real, synthetic, holdout, metadata, target, ledger, audit, pol, random_state,
              max_rows, step, options) -> Report:
    step(_STEPS[0])
    options = dict(options)
    meta = normalise_metadata(metadata)
    seeds = np.random.SeedSequence(random_state).spawn(5)
    csv_fmt = dict(options["csv_format"])
    if csv_fmt.get("na_values") is None and meta is not None and meta.get("na_values"):
        # tabsynth metadata names the table's missing tokens (``tabsynth fit`` reads with them)
        csv_fmt = check_csv_format(csv_fmt | {"na_values": meta["na_values"]})
    t_real, t_syn, t_hold = _load(real, synthetic, holdout, max_rows, seeds, csv_fmt)
    ignored_note = drop_ignored(options["ignore_columns"],
                                 [t for t in (t_real, t_syn, t_hold) if t is not None])
    given_cols = [str(c) for c in t_real.frame.columns]
    kinds, notes = prepare(t_real, t_syn, t_hold, metadata=meta, target=target)
    notes = ignored_note + notes
    if options.get("protected") is not None:  # fail fast, before any figure
        from .fairness import check_protected

        options["protected"] = check_protected(options["protected"], kinds, target)
    excluded = [c for c in given_cols if c not in kinds]
    conditions = check_conditions(options["conditions"], t_real.frame, kinds)

    rng_sub = np.random.default_rng(seeds[0])
    frames, subsampling = _subsampled(t_real, t_syn, t_hold, list(kinds), max_rows, rng_sub)
    r, s, h = frames["real"], frames["synthetic"], frames["holdout"]
    metrics, fairness = _score(r, s, h, t_real, t_syn, kinds, target, conditions, options,
                               [int(x.generate_state(1)[0]) for x in seeds[1:4]], step)
    ledger_summary = summarize_ledger(ledger)
    metrics.append(_dp_metric(ledger_summary, audit))
    metrics.append(audit_metric(audit))

    step(_STEPS[7])
    plots = _plots(r, s, kinds, metrics, target, conditions)
    step(_STEPS[8])
    checks = pol.apply(metrics)
    passed, text = verdict(checks)
    return Report(
        metrics=metrics, checks=checks, passed=passed, verdict=text,
        datasets={"real": t_real.summary(), "synthetic": t_syn.summary(),
                  "holdout": None if t_hold is None else t_hold.summary()},
        privacy=ledger_summary,
        parameters=_parameters(target, random_state, max_rows, options, conditions,
                               subsampling, kinds, excluded, meta, pol)
        | _csv_read(t_real, t_syn, t_hold),
        environment=environment(),
        created=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        warnings=notes, policy=pol.to_dict(), plots=plots, audit=audit, fairness=fairness,
    )


__all__ = ["evaluate"]
