"""cpo from Python: backtests, run folders, stores, Black-76 and sweeps.

A thin layer over libcpo.so (include/cpo/api.h, cpo/dataset.h,
cpo/black76.h) through cffi: every number comes from the C library, and
arrays come to numpy without a copy where their layout allows (a run's
ledger columns are the engine's own arrays; a store's bars, funding and
chains its columns).

    import cpo
    run = cpo.run("configs/monthly_equal_8.ini", overrides={"costs.fee_bps": 5})
    run.summary["sharpe"], run.ledger.equity.tail()
    run.attribution("asset")
    same = cpo.load_run("runs/monthly_equal_8")
    store = cpo.Store("out/demo/crypto-daily.h5")
    store.bars("BTCUSDT").close
    cpo.black76(fwd, strike, t_years, vol, right="call")
    cpo.sweep("configs/sweep_drift_band.ini", jobs=2)
    env = cpo.Env("configs/env_daily_8.ini")      # learning agents (cpo/env.py)
    obs, info = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Tables become pandas DataFrames: a first column of times is the index
(UTC timestamps), numbers are float64, text is str; the '#' notes of a
file are in DataFrame.attrs["notes"].  Errors raise cpo.Error, whose text
is the C library's "path:line:col: what is wrong (what was expected)".
"""
import json
import os

import numpy as np
import pandas as pd

from ._lib import ffi, lib

__all__ = ["Error", "Run", "Store", "run", "load_run", "sweep", "black76", "implied_vol",
           "ATTRIBUTION_KINDS", "Env", "VecEnv", "Box"]

__version__ = "0.1.0"

# The attribution tables of a run (attribution_<kind>.csv).
ATTRIBUTION_KINDS = ("asset", "asset_series", "risk", "factor", "factor_rolling", "greek")

# cpo_col_type (cpo/table.h)
_F64, _TIME, _I64, _I32, _I8, _STR, _CHARS = range(7)
_NUMPY = {_F64: "<f8", _TIME: "<i8", _I64: "<i8", _I32: "<i4", _I8: "|i1"}


class Error(Exception):
    """A failure of the C library: code name ("ECONFIG"), path, line, col and
    the message, str() as "path:line:col: what is wrong (what was expected)"."""

    def __init__(self, err):
        buf = ffi.new("char[2048]")
        lib.cpo_error_format(err, buf, 2048)
        self.code = ffi.string(lib.cpo_error_name(err.code)).decode()
        self.path = ffi.string(err.path).decode(errors="replace")
        self.line = err.line
        self.col = err.col
        self.message = ffi.string(err.msg).decode(errors="replace")
        super().__init__(ffi.string(buf).decode(errors="replace"))


def _check(rc, err):
    if rc:
        raise Error(err)


class _View:
    """One column's memory as numpy sees it; holds what owns the memory."""

    def __init__(self, owner, ptr, n, stride, typestr):
        self.owner = owner
        self.__array_interface__ = {
            "version": 3, "shape": (n,), "typestr": typestr, "strides": (stride,),
            "data": (int(ffi.cast("uintptr_t", ptr)), True)}


def _column(owner, col, n):
    """A numpy array (or list of str) of n values of a cpo_col."""
    if n == 0 or col.data == ffi.NULL:
        if col.type in (_STR, _CHARS):
            return np.array([], dtype=object)
        return np.array([], dtype=_NUMPY[col.type])
    if col.type in _NUMPY:
        return np.asarray(_View(owner, col.data, n, col.stride, _NUMPY[col.type]))
    if col.type == _CHARS:
        raw = np.asarray(_View(owner, col.data, n, col.stride, f"|S{col.size}"))
        return np.array([b.decode(errors="replace") for b in raw], dtype=object)
    ptrs = ffi.cast("const char **", col.data)
    step = col.stride // ffi.sizeof("char *")
    return np.array([ffi.string(ptrs[i * step]).decode(errors="replace") for i in range(n)],
                    dtype=object)


def _times(ms):
    """int64 ms since 1970 (CPO_TIME_NONE = INT64_MIN is NaT) as UTC times."""
    return pd.DatetimeIndex(ms.view("datetime64[ms]")).tz_localize("UTC")


def _frame(owner, table):
    """A cpo_table as a DataFrame: its first column the index when it holds
    times; owner keeps the table's memory alive as long as the arrays."""
    n = lib.cpo_table_rows(table)
    data, index = {}, None
    for k in range(lib.cpo_table_cols(table)):
        col = lib.cpo_table_col(table, k)
        name = ffi.string(col.name).decode()
        values = _column(owner, col, n)
        if col.type == _TIME:
            values = _times(values)
        if k == 0 and (col.type == _TIME or (n == 0 and name == "ts")):
            index = pd.DatetimeIndex(values, tz="UTC", name=name)
            continue
        data[name] = values
    df = pd.DataFrame(data, index=index, copy=False)
    notes = lib.cpo_table_notes(table)
    df.attrs["notes"] = ffi.string(notes).decode() if notes != ffi.NULL else ""
    df.attrs["name"] = ffi.string(lib.cpo_table_name(table)).decode()
    return df


class Run:
    """The results of one backtest: summary (summary.json as a dict) and its
    tables as DataFrames, named as the run folder's CSV files: ledger,
    trades, events, attribution_<kind>, and options, option_trades, explain,
    explain_by for runs with options (ledger_instruments too when read from
    a folder of a run with detail = instrument)."""

    def __init__(self, handle):
        self._handle = handle
        self.summary = json.loads(ffi.string(lib.cpo_results_summary(handle)).decode())
        self.tables = {}
        for k in range(lib.cpo_results_count(handle)):
            t = lib.cpo_results_table(handle, k)
            df = _frame(handle, t)
            self.tables[df.attrs["name"]] = df

    @property
    def ledger(self):
        """One row per step: equity, the P&L lines, gross, net, cash_<CCY>."""
        return self.tables["ledger"]

    @property
    def trades(self):
        return self.tables["trades"]

    @property
    def events(self):
        return self.tables["events"]

    def attribution(self, kind="asset"):
        """The attribution table of kind: asset, asset_series, risk, factor,
        factor_rolling or greek (attribution_<kind>.csv)."""
        if kind not in ATTRIBUTION_KINDS:
            raise ValueError(f"attribution kind {kind!r} is not known (expected one of: "
                             f"{', '.join(ATTRIBUTION_KINDS)})")
        return self.tables["attribution_" + kind]

    def __repr__(self):
        s = self.summary
        return (f"<cpo.Run {s.get('config')}: {s['period']['bars']} bars, total return "
                f"{s['total_return']:.4f}, sharpe {s['sharpe']}>")


def _overrides(overrides):
    if not overrides:
        return []
    if isinstance(overrides, str):
        overrides = [overrides]
    items = overrides.items() if isinstance(overrides, dict) else overrides
    out = []
    for item in items:
        if isinstance(item, str):  # "SECTION.KEY = value", checked by the library
            out.append(item)
            continue
        key, value = item
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        out.append(f"{str(key).strip()} = {str(value).strip()}")
    return out


def run(config, overrides=None, *, name=None):
    """Run a backtest in memory as `cpo run` runs it, writing nothing.

    config is the path of an INI file, or the INI text itself (when it holds
    a newline); name is then the path messages give and relative paths
    (data, plugin) start from (default "config.ini" in the current folder).
    overrides is a dict {"SECTION.KEY": value} (or a list of "SECTION.KEY =
    value"), as a [sweep] section names keys: {"costs.fee_bps": 5,
    "weigh.meanvar.risk_aversion": 2}."""
    config = os.fspath(config)
    text = None
    if "\n" in config:
        text, config = config, name or "config.ini"
    ov = [ffi.new("char[]", o.encode()) for o in _overrides(overrides)]
    ov_arr = ffi.new("const char *[]", ov) if ov else ffi.NULL
    out = ffi.new("cpo_results **")
    err = ffi.new("cpo_error *")
    rc = lib.cpo_results_run(out, config.encode(),
                             text.encode() if text is not None else ffi.NULL,
                             ov_arr, len(ov), err)
    _check(rc, err)
    return Run(ffi.gc(out[0], lib.cpo_results_free))


def load_run(run_dir):
    """A run folder written by `cpo run` (summary.json and its CSV files)
    read into a Run: the same tables as run() gives."""
    out = ffi.new("cpo_results **")
    err = ffi.new("cpo_error *")
    _check(lib.cpo_results_load(out, os.fspath(run_dir).encode(), err), err)
    return Run(ffi.gc(out[0], lib.cpo_results_free))


def sweep(config, jobs=None, objective="sharpe"):
    """Backtest every point of the config's [sweep] grid on `jobs` threads
    (default: every core) as `cpo sweep` does, writing nothing, and return
    the leaderboard (the columns of leaderboard.csv, best first by
    objective: sharpe, cagr, total_return, max_drawdown, volatility, calmar,
    final_equity)."""
    out = ffi.new("cpo_table **")
    err = ffi.new("cpo_error *")
    _check(lib.cpo_sweep_leaderboard(out, os.fspath(config).encode(), int(jobs or 0),
                                     objective.encode(), err), err)
    table = ffi.gc(out[0], lib.cpo_table_free)
    return _frame(table, table).set_index("rank")


class Store:
    """An HDF5 store written by `cpo data import` (or `cpo data synth`),
    read whole: its parts as DataFrames whose columns are the store's
    arrays (no copy but text)."""

    def __init__(self, path):
        out = ffi.new("cpo_dataset **")
        err = ffi.new("cpo_error *")
        _check(lib.cpo_store_read(out, os.fspath(path).encode(), err), err)
        self.path = os.fspath(path)
        self._ds = ffi.gc(out[0], lib.cpo_dataset_free)

    def _part(self, part, name=None):
        out = ffi.new("cpo_table **")
        err = ffi.new("cpo_error *")
        _check(lib.cpo_dataset_table(out, self._ds, part.encode(),
                                     name.encode() if name is not None else ffi.NULL, err), err)
        table = ffi.gc(out[0], lib.cpo_table_free)
        return _frame((table, self._ds), table)

    @property
    def instruments(self):
        """One row per instrument, indexed by symbol."""
        return self._part("instruments").set_index("symbol")

    @property
    def symbols(self):
        return list(self.instruments.index)

    def bars(self, symbol):
        """open, high, low, close, volume, mark, index of symbol by bar open
        (and mark_high, mark_low when the store has its mark-price klines)."""
        return self._part("bars", symbol)

    def funding(self, symbol):
        """rate, mark, index of the perpetual symbol by event time."""
        return self._part("funding", symbol)

    def chains(self, underlying="BTC"):
        """The option chain snapshots of underlying as a long table by
        snapshot time: expiry, strike, right, name, marks, IV, forward..."""
        return self._part("chain", underlying)

    def ivindex(self, name="BTC-DVOL"):
        return self._part("ivindex", name)

    @property
    def caps(self):
        """Market-cap snapshots: ts, rank, symbol, name, market_cap, ..."""
        return self._part("caps")

    @property
    def provenance(self):
        return self._part("provenance")

    def __repr__(self):
        return f"<cpo.Store {self.path}: {len(self.instruments)} instruments>"


# --- Black-76 ------------------------------------------------------------------

_GREEKS = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga")


def _doubles(*arrays):
    out = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in arrays])
    return [np.ascontiguousarray(a.ravel()) for a in out], out[0].shape


def _rights(right, shape):
    r = np.asarray(right)
    if r.dtype.kind in "US":
        codes = np.where(np.char.lower(r.astype(str)) == "call", 1,
                         np.where(np.char.lower(r.astype(str)) == "put", 2, 0))
    elif r.dtype == bool:
        codes = np.where(r, 1, 2)
    else:
        codes = r
    return np.ascontiguousarray(np.broadcast_to(codes, shape).ravel().astype(np.int8))


def _ptr(a, ctype="double *"):
    return ffi.cast(ctype, ffi.from_buffer(a))


def black76(fwd, strike, t_years, vol, right="call", rate=0.0):
    """Black-76 prices and Greeks (USD, cpo/black76.h), vectorised: the
    arguments broadcast together (right: "call"/"put", True for call, or 1/2).
    Returns a DataFrame with price, delta, gamma, vega, theta, rho, vanna,
    volga (a dict of floats for scalar inputs)."""
    (f, k, t, v, r), shape = _doubles(fwd, strike, t_years, vol, rate)
    rights = _rights(right, shape)
    n = f.size
    cols = {g: np.empty(n) for g in _GREEKS}
    out = ffi.new("cpo_black76_cols *", {g: _ptr(cols[g]) for g in _GREEKS})
    lib.cpo_black76_batch(n, _ptr(f), _ptr(k), _ptr(t), _ptr(r), _ptr(v),
                          _ptr(rights, "int8_t *"), out)
    if shape == ():
        return {g: float(cols[g][0]) for g in _GREEKS}
    return pd.DataFrame({g: cols[g].reshape(shape).ravel() for g in _GREEKS}, copy=False)


def implied_vol(price, fwd, strike, t_years, right="call", rate=0.0, status=False):
    """Implied volatility of Black-76 prices (USD, discounted), vectorised
    as black76.  NaN where there is none; with status=True also the solver's
    status names ("ok", "below_intrinsic", ...)."""
    (p, f, k, t, r), shape = _doubles(price, fwd, strike, t_years, rate)
    rights = _rights(right, shape)
    n = p.size
    vol = np.empty(n)
    st = np.empty(n, dtype=np.int8)
    lib.cpo_black76_iv_batch(n, _ptr(p), _ptr(f), _ptr(k), _ptr(t), _ptr(r),
                             _ptr(rights, "int8_t *"), _ptr(vol), _ptr(st, "int8_t *"))
    vol = vol.reshape(shape)
    if shape == ():
        vol = float(vol)
    if not status:
        return vol
    names = np.array([ffi.string(lib.cpo_iv_status_name(int(s))).decode() for s in st],
                     dtype=object).reshape(shape)
    return vol, names


# Learning agents on the engine (cpo/env.h): after the helpers they use.
from .env import Box, Env, VecEnv  # noqa: E402
