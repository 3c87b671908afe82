"""DP-SGD wiring, empirical audit, public API and import boundaries."""

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tabsynth.privacy as tp
from tabsynth.privacy import epsilon_lower_bound, gaussian_epsilon

PRIVACY_DIR = pathlib.Path(tp.__file__).parent


@pytest.mark.filterwarnings("ignore:Full backward hook:UserWarning")
def test_poisson_batches_and_training_step():
    torch = pytest.importorskip("torch")
    from torch import nn

    from tabsynth.privacy.dpsgd import make_private, poisson_batches

    batches = list(poisson_batches(40, 0.1, 200, np.random.default_rng(0)))
    sizes = np.array([len(b) for b in batches])
    assert (sizes == 0).any() and sizes.mean() == pytest.approx(4, abs=0.6)
    assert all(len(set(b)) == len(b) and (b < 40).all() for b in batches)

    torch.manual_seed(0)
    X, y = torch.randn(40, 3), torch.randn(40, 1)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    gsm, dpo = make_private(model, opt, noise_multiplier=1.0, max_grad_norm=1.0,
                            expected_batch_size=4, generator=torch.Generator().manual_seed(0))
    for idx in (np.array([], dtype=int), np.array([0, 5, 7])):
        before = [p.detach().clone() for p in model.parameters()]
        dpo.zero_grad()
        out = gsm(X[idx])
        loss = ((out - y[idx]) ** 2).mean() if len(idx) else out.sum() * 0.0
        loss.backward()
        dpo.step()
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_check_module_lists_problems():
    pytest.importorskip("torch")
    from torch import nn

    from tabsynth.privacy import IncompatibleModuleError
    from tabsynth.privacy.dpsgd import check_module, make_private

    bad = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with pytest.raises(IncompatibleModuleError, match="BatchNorm"):
        check_module(bad)
    with pytest.raises(tp.PrivacyParameterError, match="grad_sample_mode"):
        make_private(nn.Linear(2, 1), None, noise_multiplier=1.0, max_grad_norm=1.0,
                     expected_batch_size=1, grad_sample_mode="magic")


@pytest.mark.parametrize("mu", [0.5, 1.0, 2.0])
def test_audit_lower_bound_below_true_epsilon(mu):
    rng = np.random.default_rng(int(mu * 10))
    scores_in, scores_out = rng.normal(mu, 1, 3000), rng.normal(0, 1, 3000)
    res = epsilon_lower_bound(scores_in, scores_out, delta=1e-5)
    assert 0 < res.epsilon_lower <= gaussian_epsilon(mu, 1e-5)
    assert res.tpr_interval[0] <= res.tpr <= res.tpr_interval[1]


def test_audit_no_signal_gives_about_zero():
    rng = np.random.default_rng(7)
    res = epsilon_lower_bound(rng.normal(0, 1, 500), rng.normal(0, 1, 500))
    assert res.epsilon_lower < 0.3


def test_public_api():
    expected = {
        "BudgetError", "BudgetExceededError", "IncompatibleModuleError", "PrivacyError",
        "PrivacyParameterError", "PrivacyWarning", "SecureModeUnavailableError", "UtilityWarning",
        "LEDGER_SCHEMA_VERSION", "Ledger", "LedgerEntry", "PrivacyBudget", "check_delta",
        "default_delta", "ACCOUNTANTS", "calibrate_dpsgd", "compose", "compose_epsilon",
        "gaussian_epsilon", "max_steps_for", "normalize_history", "preprocessing_noise",
        "GmmModes", "Release", "bounds_grid", "discover_categories", "dp_bounds", "dp_count",
        "dp_gmm_modes", "dp_missing_rate", "dp_quantiles", "gaussian_histogram",
        "gmm_modes_from_histogram", "numeric_histogram", "quantiles_from_histogram",
        "threshold_for", "AuditResult", "clopper_pearson", "epsilon_lower_bound",
        "OneRunAuditResult", "one_run_audit", "one_run_epsilon_lower_bound",
        "check_delta_noisy", "resolve_budget", "ResolvedBudget", "SecureRandom", "noise_rng",
        "PreprocessingOverBudget",
    }
    assert set(tp.__all__) == expected
    assert all(hasattr(tp, name) for name in expected)
    assert callable(tp.make_private)  # lazy attribute


def test_import_is_light():
    code = ("import sys, tabsynth.privacy; from tabsynth.privacy import *; "
            "print('torch' in sys.modules, 'opacus' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_import_boundaries():
    for path in PRIVACY_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                assert not name.startswith("tabsynth"), f"{path.name} imports {name}"
                if name.split(".")[0] == "torch":
                    assert path.name == "dpsgd.py", f"{path.name} imports torch"
