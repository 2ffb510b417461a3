"""Write the notebooks in notebooks/ (run: python notebooks/make_notebooks.py).

The notebooks are executed by the test suite (tests/test_notebooks.py).
"""

from pathlib import Path

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# fmmreg quickstart\n\n"
        "Finite mixture regression with Stata `fmm`'s numbers. We reproduce Stata's [FMM] Example 1b "
        "(3-class normal mixture of log medical expenditure, class membership on `totchr`) and fit a "
        "Poisson mixture of doctor visits."
    ),
    nbf.v4.new_code_cell(
        "from pathlib import Path\n\nimport pandas as pd\n\nfrom fmmreg import fmm\n\n"
        'DATA = Path("..") / "datasets" if Path("../datasets").exists() else Path("datasets")\n'
        'mus03sub = pd.read_csv(DATA / "mus03sub.csv")\n'
        "mus03sub.head()"
    ),
    nbf.v4.new_code_cell(
        "res = fmm(\n"
        "    3,\n"
        '    "lmedexp ~ income + age + I(age**2) + totchr + C(sex)",\n'
        "    data=mus03sub,\n"
        '    family="gaussian",\n'
        '    class_formula="~ totchr",\n'
        ")\n"
        "res"
    ),
    nbf.v4.new_markdown_cell(
        "The default search ran 20 cheap starts and refined the best 3; every start's log likelihood is kept. "
        "Stata reports `Log likelihood = -4712.3871`."
    ),
    nbf.v4.new_code_cell("print(res.summary())\nassert abs(res.llf - (-4712.3871)) < 1e-4\nres.starts.head()"),
    nbf.v4.new_markdown_cell(
        "fmmreg orders classes by their mean fitted response. Stata's own labels for this example "
        "follow its start values; `relabel` reorders classes after the fact (here: by descending "
        "residual variance, which is Stata's order for this example)."
    ),
    nbf.v4.new_code_cell(
        "import numpy as np\n\n"
        'lnsig = [res.params[(res.component_equation(k), "lnsigma")] for k in (1, 2, 3)]\n'
        "stata_order = res.relabel(list(np.argsort(lnsig)[::-1] + 1))\n"
        'stata_order.params.loc["2.Class"]'
    ),
    nbf.v4.new_code_cell("stata_order.posterior.head()"),
    nbf.v4.new_markdown_cell("## Doctor visits: a Poisson mixture with class membership on income"),
    nbf.v4.new_code_cell(
        'nmes = pd.read_csv(DATA / "nmes1988.csv")\n'
        'visits = fmm(3, "visits ~ age + chronic", data=nmes, family="poisson", class_formula="~ income")\n'
        "visits"
    ),
    nbf.v4.new_code_cell("visits.class_shares"),
]
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
nbf.write(nbf.v4.new_notebook(cells=cells, metadata=KERNEL), Path(__file__).with_name("quickstart.ipynb"))

report = [
    nbf.v4.new_markdown_cell(
        "# Choosing K, postestimation and report tables\n\n"
        "Doctor visits in NMES 1988 (Deb & Trivedi 1997): how many latent classes, which count model, "
        "and what the classes look like."
    ),
    nbf.v4.new_code_cell(
        'from pathlib import Path\n\nimport matplotlib\n\nmatplotlib.use("Agg")\nimport pandas as pd\n\n'
        "from fmmreg import compare, fmm, select_k\n\n"
        'DATA = Path("..") / "datasets" if Path("../datasets").exists() else Path("datasets")\n'
        'nmes = pd.read_csv(DATA / "nmes1988.csv")'
    ),
    nbf.v4.new_markdown_cell("Fit K = 1..3 Poisson mixtures and compare them by BIC (smaller is better)."),
    nbf.v4.new_code_cell(
        'choice = select_k("visits ~ age + chronic", nmes, k=range(1, 4), family="poisson")\nchoice.table'
    ),
    nbf.v4.new_code_cell("choice.best_k"),
    nbf.v4.new_markdown_cell(
        "A two-class negative binomial mixture with class membership on income, the model of Deb & Trivedi."
    ),
    nbf.v4.new_code_cell(
        'nb2 = fmm(2, "visits ~ age + chronic + insurance", data=nmes, family="nbreg", class_formula="~ income")\nnb2'
    ),
    nbf.v4.new_code_cell("nb2.lcprob()"),
    nbf.v4.new_code_cell("nb2.lcmean()"),
    nbf.v4.new_code_cell("nb2.ic()"),
    nbf.v4.new_code_cell('comparison = compare({"Poisson K=3": choice.results[3], "NB2 K=2": nb2})\ncomparison'),
    nbf.v4.new_code_cell("print(comparison.to_markdown())"),
    nbf.v4.new_markdown_cell("Posterior class probabilities, predictions for new data and a tidy table."),
    nbf.v4.new_code_cell('nb2.predict(newdata=nmes.head(), kind="classposteriorpr")'),
    nbf.v4.new_code_cell('nb2.predict(newdata=nmes.head(), kind="mu", marginal=True)'),
    nbf.v4.new_code_cell("nb2.to_frame().head()"),
    nbf.v4.new_code_cell("fig = nb2.plot_posterior()"),
    nbf.v4.new_markdown_cell("A hurdle model: zeros from a point mass, positive counts from a zero-truncated Poisson."),
    nbf.v4.new_code_cell(
        'hurdle = fmm(None, "visits ~ age + chronic", data=nmes, family=["pointmass", "tpoisson"])\n'
        "print(hurdle.summary())"
    ),
]
nbf.write(nbf.v4.new_notebook(cells=report, metadata=KERNEL), Path(__file__).with_name("postestimation.ipynb"))
