"""The Python package against the C library and the files `cpo run`,
`cpo sweep` and `cpo options price` write (every expected value here comes
from the program's own output, read by pandas and json, or from h5py over
the store file: readers independent of the package)."""
import json
import math
import re
import pathlib
import subprocess

import numpy as np
import pandas as pd
import pytest

import cpo
from conftest import ROOT, config_on


def read_file_table(path):
    """A CSV file of a run folder as pandas reads it: '#' lines skipped,
    numbers as the shortest round trip, 'nan' missing, blanks as ""."""
    lines = pathlib.Path(path).read_text().splitlines()
    skip = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return pd.read_csv(path, skiprows=skip, float_precision="round_trip",
                       keep_default_na=False, na_values=["nan"], dtype=str)


def assert_table_equals_file(df, path):
    """Every column of the file equals the DataFrame's (index included)."""
    f = read_file_table(path)
    flat = df.reset_index() if isinstance(df.index, pd.DatetimeIndex) else df
    assert list(flat.columns) == list(f.columns), path
    assert len(flat) == len(f), path
    for col in f.columns:
        want, got = f[col], flat[col]
        if pd.api.types.is_datetime64_any_dtype(got):
            assert (pd.to_datetime(want, utc=True).values == got.values).all(), (path, col)
        elif pd.api.types.is_float_dtype(got):
            # float() rounds correctly (pandas' own string parser may not).
            w = np.array([float(x) if x else math.nan for x in want])
            g = got.to_numpy(dtype=float)
            same = (w == g) | (np.isnan(w) & np.isnan(g))
            assert same.all(), (path, col, w[~same][:3], g[~same][:3])
        else:
            assert list(want.fillna("")) == list(got), (path, col)


@pytest.fixture(scope="module")
def monthly(stores, cpo_bin, tmp_path_factory):
    """configs/monthly_equal_8.ini run in memory, and by `cpo run` into a folder."""
    tmp = tmp_path_factory.mktemp("monthly")
    cfg = config_on(stores, "monthly_equal_8", tmp)
    subprocess.run([cpo_bin, "run", "--quiet", "-o", str(tmp / "run"), str(cfg)], check=True)
    return cpo.run(cfg), tmp / "run", cfg


def test_run__tables_equal_the_run_folder_files(monthly):
    run, folder, _ = monthly
    names = set(run.tables)
    assert {"ledger", "trades", "events"} <= names
    assert {"attribution_" + k for k in cpo.ATTRIBUTION_KINDS} <= names
    for name, df in run.tables.items():
        assert_table_equals_file(df, folder / f"{name}.csv")
    assert run.summary == json.loads((folder / "summary.json").read_text())


def test_run__ledger_is_indexed_by_utc_time_and_shares_the_engine_arrays(monthly):
    run, _, _ = monthly
    led = run.ledger
    assert isinstance(led.index, pd.DatetimeIndex) and str(led.index.tz) == "UTC"
    assert led.index.name == "ts"
    # The last step's equity is the summary's final equity (summary.json).
    assert led["equity"].iloc[-1] == run.summary["final_equity"]
    assert len(led) == run.summary["period"]["bars"]
    # No copy: the column's memory belongs to the C result, not to numpy.
    values = led["equity"].to_numpy()
    assert not values.flags.owndata
    # The P&L lines of each step add up to the change in equity (README).
    lines = ["price", "funding", "fees", "slippage", "liquidation", "revaluation", "options",
             "residual"]
    change = led["equity"].diff()
    change.iloc[0] = led["equity"].iloc[0] - run.summary["capital"]
    assert np.allclose(led[lines].sum(axis=1), change, rtol=0, atol=1e-6)


def test_load_run__equals_run(monthly):
    run, folder, _ = monthly
    loaded = cpo.load_run(folder)
    assert loaded.summary == run.summary
    # The folder has ledger_instruments (detail = instrument); a run in
    # memory keeps the totals ledger only.
    assert set(loaded.tables) - set(run.tables) <= {"ledger_instruments"}
    for name, df in run.tables.items():
        pd.testing.assert_frame_equal(df, loaded.tables[name], check_exact=True)
        assert df.attrs == loaded.tables[name].attrs


def test_run__from_text_and_overrides(monthly):
    run, _, cfg = monthly
    text = pathlib.Path(cfg).read_text()
    again = cpo.run(text, name=str(cfg))
    pd.testing.assert_frame_equal(again.ledger, run.ledger, check_exact=True)
    free = cpo.run(cfg, overrides={"costs.fee_bps": 0, "costs.slippage_bps": 0})
    assert free.ledger["fees"].abs().sum() == 0.0
    assert free.ledger["slippage"].abs().sum() == 0.0
    assert free.summary["final_equity"] > run.summary["final_equity"]
    assert free.summary["settings"]["costs"]["fee_bps"] == "0"


def test_run__errors_name_the_file_line_and_what_was_expected(monthly, tmp_path):
    _, _, cfg = monthly
    with pytest.raises(cpo.Error) as e:
        cpo.run(cfg, overrides={"costs.fill": "tomorrow"})
    assert e.value.code == "ECONFIG"
    assert str(e.value) == (f'{cfg}: fill = "tomorrow" is not valid (expected next_open or '
                            'close)')
    with pytest.raises(cpo.Error, match=r"is not SECTION\.KEY = value"):
        cpo.run(cfg, overrides=["fee_bps 5"])
    bad = tmp_path / "bad.ini"
    bad.write_text("[backtest]\ndata = x.h5\n[costs]\nfee_bsp = 1\n")
    with pytest.raises(cpo.Error) as e:
        cpo.run(bad)
    assert e.value.line == 4 and 'unknown key "fee_bsp" in [costs]' in e.value.message
    with pytest.raises(cpo.Error, match="no summary.json"):
        cpo.load_run(tmp_path)


def test_run__options_book_tables_equal_the_files(stores, cpo_bin, tmp_path):
    cfg = config_on(stores, "short_strangle_hedged", tmp_path)
    subprocess.run([cpo_bin, "run", "--quiet", "-o", str(tmp_path / "run"), str(cfg)], check=True)
    run = cpo.run(cfg)
    assert {"options", "option_trades", "explain", "explain_by"} <= set(run.tables)
    for name, df in run.tables.items():
        assert_table_equals_file(df, tmp_path / "run" / f"{name}.csv")
    loaded = cpo.load_run(tmp_path / "run")
    for name, df in run.tables.items():
        pd.testing.assert_frame_equal(df, loaded.tables[name], check_exact=True)


def test_store__equals_the_store_file(stores):
    h5py = pytest.importorskip("h5py")
    store = cpo.Store(stores["hourly"])
    with h5py.File(stores["hourly"], "r") as f:
        bars = store.bars("BTCUSDT")
        assert (bars.index.asi8 // 10**6 == f["bars/BTCUSDT/ts"][:]).all()
        for col in ("open", "high", "low", "close", "volume", "mark", "index"):
            np.testing.assert_array_equal(bars[col].to_numpy(), f[f"bars/BTCUSDT/{col}"][:])
        chain = store.chains("BTC")
        assert len(chain) == f["chains/BTC/ts"].shape[0]
        np.testing.assert_array_equal(chain["mark_iv"].to_numpy(), f["chains/BTC/mark_iv"][:])
        np.testing.assert_array_equal(chain["strike"].to_numpy(), f["chains/BTC/strike"][:])
        names = [n.decode() if isinstance(n, bytes) else n for n in f["chains/BTC/name"][:]]
        assert list(chain["name"]) == [n.rstrip("\0") for n in names]
        assert set(chain["right"]) <= {"call", "put"}
        fund = store.funding("BTCUSDT-PERP")
        np.testing.assert_array_equal(fund["rate"].to_numpy(), f["funding/BTCUSDT-PERP/rate"][:])
        assert (fund.index.asi8 // 10**6 == f["funding/BTCUSDT-PERP/ts"][:]).all()
    inst = store.instruments
    assert "BTCUSDT" in inst.index and inst.loc["BTCUSDT", "kind"] == "spot"
    with pytest.raises(cpo.Error, match="the store has no bars \"NOPE\""):
        store.bars("NOPE")


def test_store__daily_caps_and_provenance(stores):
    store = cpo.Store(stores["daily"])
    assert len(store.symbols) == 8  # README: the daily demo store has 8 coins
    caps = store.caps
    assert len(caps) > 0 and isinstance(caps.index, pd.DatetimeIndex)
    assert caps["market_cap"].min() > 0
    prov = store.provenance
    assert all(len(s) == 64 for s in prov["sha256"])


def test_black76__equals_cpo_options_price(cpo_bin, tmp_path):
    rng = np.random.default_rng(7)
    n = 200
    fwd = rng.uniform(20000, 80000, n)
    strike = fwd * rng.uniform(0.6, 1.5, n)
    t = rng.uniform(1 / 365, 2, n)
    vol = rng.uniform(0.2, 1.5, n)
    rate = rng.uniform(0, 0.05, n)
    right = np.where(rng.random(n) < 0.5, "call", "put")
    table = tmp_path / "plain.csv"
    pd.DataFrame({"type": right, "forward": fwd, "strike": strike, "expiry_years": t,
                  "rate": rate, "vol": vol}).to_csv(table, index=False, float_format="%.17g")
    out = subprocess.run([cpo_bin, "options", "price", str(table)], check=True,
                         capture_output=True, text=True).stdout
    want = pd.read_csv(pd.io.common.StringIO(out))
    got = cpo.black76(fwd, strike, t, vol, right=right, rate=rate)
    # The CLI prints 15 significant digits.
    for g in ("delta", "gamma", "vega", "theta", "rho", "vanna", "volga"):
        np.testing.assert_allclose(got[g], want[g], rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(got["price"], want["model_price"], rtol=1e-13)
    # The implied vol of those prices is the vol they came from.
    iv, status = cpo.implied_vol(got["price"].to_numpy(), fwd, strike, t, right=right, rate=rate,
                                 status=True)
    ok = status == "ok"
    assert ok.mean() > 0.95
    np.testing.assert_allclose(iv[ok], vol[ok], rtol=1e-9)


def test_black76__scalars_and_bad_inputs():
    one = cpo.black76(100.0, 100.0, 1.0, 0.2)
    # F = K = 100, T = 1, vol 0.2: 100 * (2 N(0.1) - 1) = 7.9655674554058 (Black-76 at the money)
    assert math.isclose(one["price"], 100 * (2 * 0.5398278372770290 - 1), rel_tol=1e-13)
    assert math.isnan(cpo.black76(-1.0, 100.0, 1.0, 0.2)["price"])
    vol, status = cpo.implied_vol([1.0, 200.0], 100.0, 100.0, 1.0, status=True)
    assert status[1] == "above_max" and math.isnan(vol[1])


def test_sweep__leaderboard_equals_cpo_sweep(stores, cpo_bin, tmp_path):
    cfg = config_on(stores, "sweep_drift_band", tmp_path)
    subprocess.run([cpo_bin, "sweep", "--quiet", "--no-plot", "-j", "2", "-o",
                    str(tmp_path / "sweep"), str(cfg)], check=True)
    board = cpo.sweep(cfg, jobs=2)
    assert_table_equals_file(board.reset_index(), tmp_path / "sweep" / "leaderboard.csv")
    assert list(board.index) == list(range(1, len(board) + 1))
    with pytest.raises(cpo.Error, match="walk-forward"):
        cpo.sweep(config_on(stores, "sweep_walkforward", tmp_path))


# --- the man pages and the completion against the program's tables -----------------

def program(cpo_bin, *args):
    return subprocess.run([cpo_bin, *args], check=True, capture_output=True, text=True).stdout


def test_man_and_completion__list_every_command_option_key_and_stage(cpo_bin):
    man = program(cpo_bin, "man", "cpo").replace("\\-", "-")
    man5 = program(cpo_bin, "man", "config").replace("\\-", "-")
    comp = program(cpo_bin, "completion", "bash")
    # Commands: as `cpo help` lists them.
    commands = [line.split()[0] for line in program(cpo_bin, "help").splitlines()
                if line.startswith("  ")]
    assert "run" in commands and "sweep" in commands
    for c in commands:
        assert f'.SS "cpo {c}"' in man, c
        assert f'    "{c}")' in comp, c
        # Every --option its usage shows is documented and completed.
        usage = subprocess.run([cpo_bin, c, "--help"], capture_output=True, text=True).stdout
        for opt in set(re.findall(r"--[a-z][a-z-]*", usage)):
            assert f"fB--{opt[2:]}" in man, (c, opt)
            assert opt in comp, (c, opt)
    for sub in ("data import", "data info", "data synth", "data formats", "options price"):
        assert f'.SS "cpo {sub}"' in man and f'    "{sub}")' in comp, sub
    # Config keys: the program's own lists (cpo_config_section_keys).
    from cpo._lib import ffi, lib
    sections = []
    while lib.cpo_config_section_name(len(sections)) != ffi.NULL:
        sections.append(ffi.string(lib.cpo_config_section_name(len(sections))).decode())
    assert {"backtest", "costs", "strategy"} <= set(sections)
    for section in sections:
        keys = ffi.string(lib.cpo_config_section_keys(section.encode())).decode()
        assert f".SS [{section}]" in man5
        for key in keys.split(", "):
            assert f".TP\n\\fB{key}\\fR" in man5, (section, key)
    # Stages: as `cpo strategies` lists them.
    stages = [line.split()[:2] for line in program(cpo_bin, "strategies").splitlines()
              if not line.startswith(" ")]
    assert len(stages) > 20
    for role, name in stages:
        assert f".SS [{role}.{name}]" in man5, (role, name)
        assert f"{role}.{name}" in comp, (role, name)
