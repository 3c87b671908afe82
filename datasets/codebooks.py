"""Public codebooks of the bundled tables, copied from each data set's published documentation.

Every value here was typed from a document about the data set, never read from its rows:
declaring it public costs no privacy budget because anyone could have written it down
without seeing a single record. A column whose documentation lists no values is NOT here:
its categories (and frequencies) are measured with DP (thresholded discovery), so a value
that occurs in a few rows can be dropped, as it should be.

Sources
-------
adult
    UCI Machine Learning Repository, "Adult" (Becker & Kohavi 1996, CC BY 4.0), the file
    ``adult.names`` shipped with the data (https://archive.ics.uci.edu/dataset/2/adult):
    section "Attribute Information" lists every value of the 8 categorical attributes and
    the classes ``>50K, <=50K``. Its extraction rule ``((AAGE>16) && (AGI>100) &&
    (AFNLWGT>1) && (HRSWK>0))`` gives the lower bounds of ``age`` (17) and
    ``hours-per-week`` (1). The upper bounds (age 90, hours 99) are NOT in ``adult.names``:
    they are the top-codes of the Census Bureau's CPS public-use files, declared here as
    public knowledge of the survey. ``education-num`` is the rank of the 16 documented
    ``education`` levels (1-16). Missing values (``?`` in the source) are not categories.
fraud
    Kaggle "Vehicle Insurance Claim Fraud Detection" (shivamb/vehicle-claim-fraud-detection;
    Oracle sample data "carclaims", 1994-96): the data card names ``FraudFound_P`` as the
    fraud flag and documents no value lists. Declared here: the label ``{0, 1}``, the
    calendar (month and weekday names of the accident and claim date columns; week of month
    1-5) and the data period 1994-1996. Note: the full 15,420-row source has one row whose
    ``MonthClaimed`` and ``DayOfWeekClaimed`` are ``"0"`` (../shared/datasets/SOURCES.md);
    it is not in the bundled 8,000-row sample. All other columns are measured with DP.
stroke
    Kaggle "Stroke Prediction Dataset" (fedesoriano/stroke-prediction-dataset), data card
    section "Attribute Information", which lists ``gender``, ``ever_married``,
    ``work_type``, ``Residence_type``, ``smoking_status`` and the 0/1 flags
    ``hypertension``, ``heart_disease``, ``stroke``. Erratum: the card spells the work type
    ``"Govt_jov"``; the data set's own files use ``"Govt_job"``, which we keep. No numeric
    bounds are documented (age, glucose and bmi are measured with DP).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CODEBOOKS", "PUBLIC_BOUNDS", "PUBLIC_DOMAINS", "SOURCES", "declare_public"]

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

#: Category lists, per table and column, in the documents' order.
PUBLIC_DOMAINS: dict[str, dict[str, list[Any]]] = {
    "adult": {  # adult.names, "Attribute Information"
        "workclass": ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov",
                      "Local-gov", "State-gov", "Without-pay", "Never-worked"],
        "education": ["Bachelors", "Some-college", "11th", "HS-grad", "Prof-school",
                      "Assoc-acdm", "Assoc-voc", "9th", "7th-8th", "12th", "Masters",
                      "1st-4th", "10th", "Doctorate", "5th-6th", "Preschool"],
        "marital-status": ["Married-civ-spouse", "Divorced", "Never-married", "Separated",
                           "Widowed", "Married-spouse-absent", "Married-AF-spouse"],
        "occupation": ["Tech-support", "Craft-repair", "Other-service", "Sales",
                       "Exec-managerial", "Prof-specialty", "Handlers-cleaners",
                       "Machine-op-inspct", "Adm-clerical", "Farming-fishing",
                       "Transport-moving", "Priv-house-serv", "Protective-serv",
                       "Armed-Forces"],
        "relationship": ["Wife", "Own-child", "Husband", "Not-in-family", "Other-relative",
                         "Unmarried"],
        "race": ["White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"],
        "sex": ["Female", "Male"],
        "native-country": ["United-States", "Cambodia", "England", "Puerto-Rico", "Canada",
                           "Germany", "Outlying-US(Guam-USVI-etc)", "India", "Japan",
                           "Greece", "South", "China", "Cuba", "Iran", "Honduras",
                           "Philippines", "Italy", "Poland", "Jamaica", "Vietnam", "Mexico",
                           "Portugal", "Ireland", "France", "Dominican-Republic", "Laos",
                           "Ecuador", "Taiwan", "Haiti", "Columbia", "Hungary", "Guatemala",
                           "Nicaragua", "Scotland", "Thailand", "Yugoslavia", "El-Salvador",
                           "Trinadad&Tobago", "Peru", "Hong", "Holand-Netherlands"],
        "income": [">50K", "<=50K"],
    },
    "fraud": {  # the card's label; the calendar
        "FraudFound_P": [0, 1],
        "Month": _MONTHS,
        "MonthClaimed": _MONTHS,
        "DayOfWeek": _WEEKDAYS,
        "DayOfWeekClaimed": _WEEKDAYS,
    },
    "stroke": {  # Kaggle data card, "Attribute Information"
        "gender": ["Male", "Female", "Other"],
        "hypertension": [0, 1],
        "heart_disease": [0, 1],
        "ever_married": ["No", "Yes"],
        "work_type": ["children", "Govt_job", "Never_worked", "Private", "Self-employed"],
        "Residence_type": ["Rural", "Urban"],
        "smoking_status": ["formerly smoked", "never smoked", "smokes", "Unknown"],
        "stroke": [0, 1],
    },
}

#: Numeric bounds declared public, per table and column (see the module docstring).
PUBLIC_BOUNDS: dict[str, dict[str, list[float]]] = {
    "adult": {"age": [17, 90], "hours-per-week": [1, 99], "education-num": [1, 16]},
    "fraud": {"WeekOfMonth": [1, 5], "WeekOfMonthClaimed": [1, 5], "Year": [1994, 1996]},
    "stroke": {},
}

SOURCES: dict[str, str] = {
    "adult": "UCI Adult, adult.names 'Attribute Information' and extraction rule; "
             "upper bounds: CPS public-use top-codes",
    "fraud": "Kaggle shivamb/vehicle-claim-fraud-detection data card (label); calendar",
    "stroke": "Kaggle fedesoriano/stroke-prediction-dataset data card, "
              "'Attribute Information'",
}

CODEBOOKS: dict[str, dict[str, Any]] = {
    name: {"domains": PUBLIC_DOMAINS[name], "bounds": PUBLIC_BOUNDS[name],
           "source": SOURCES[name]}
    for name in PUBLIC_DOMAINS
}


def declare_public(metadata: Any, name: str) -> Any:
    """Declare the published codebook of bundled table ``name`` on ``metadata`` (in place).

    Columns absent from ``metadata`` (e.g. dropped ids) are skipped; a documented column
    that was typed numerical is re-typed categorical before its domain is declared.
    Returns ``metadata``.
    """
    if name not in CODEBOOKS:
        raise ValueError(f"No codebook for {name!r}. Available: {', '.join(sorted(CODEBOOKS))}.")
    columns = set(metadata.modelled_columns)
    for column, domain in PUBLIC_DOMAINS[name].items():
        if column in columns:
            if metadata[column].sdtype not in ("categorical", "boolean"):
                metadata.update_column(column, sdtype="categorical")
            metadata.update_column(column, public_domain=list(domain))
    for column, bounds in PUBLIC_BOUNDS[name].items():
        if column in columns and metadata[column].sdtype == "numerical":
            metadata.update_column(column, public_bounds=list(bounds))
    return metadata
