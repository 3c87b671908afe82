"""Throughput and peak memory at scale (issue 16 item 7): a generated ``--rows`` x 30 table.

The table (20 numerics from a 4-factor model, 2 integer counts, 8 categoricals of 4-40 levels
cut from the factors, 5% missing cells in two columns) is written once as a partitioned Parquet
dataset of 100,000-row files, seeded, in bounded memory. Every phase then runs in a fresh child
process, which reports its own peak resident memory (``VmHWM``; beside it the peak of its
anonymous part, ``RssAnon``: the rest is file pages it maps, the memory-mapped training table's
page cache, which the kernel reclaims), so phases do not inherit each other's peaks:

* ``stats``    - the statistics pass of a streaming fit (partial aggregates per record batch);
* ``encode``   - statistics + encoding every row into the memory-mapped training matrix;
* ``epoch``    - a whole streamed AR fit at ``epochs=1`` (statistics, encoding and one epoch
                 over the memory-mapped matrix); with 2 workers the epoch trains in 2
                 processes (:func:`tabsynth.fit_distributed`; statistics and encoding in
                 this one), and the workers' peak RSS is reported beside this process's;
* ``sample``   - ``--sample-rows`` rows in memory, and the same rows to a partitioned Parquet
                 folder (``tabsynth.sampling.sample_to_dataset``): the ratio is the issue's
                 ">= 80% of in-memory throughput", printed on the same number of cores (a
                 Parquet worker generates with one torch thread, so that the files do not
                 depend on the worker count; in-memory sampling at ``workers`` = w runs
                 cores // w threads) and against in-memory sampling on every core.

Each phase runs with 1 and 2 workers (``--workers 1,2``): statistics and encoding on a
2-worker Dask LocalCluster at 2 (each partition's aggregates and cells computed on a worker),
sampling with 2 worker processes, the epoch's training in 2 processes.
Goals: peak RSS independent of the row count (<= 2 GB at 10M rows),
statistics >= 1M rows/s per core, sampling to Parquet >= 80% of in-memory sampling throughput.

    python benchmarks/bench_scale.py --rows 10000000            # the issue's size
    python benchmarks/bench_scale.py --rows 1000000 --phases stats,sample-parquet --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FILE_ROWS = 100_000
PHASES = ("stats", "encode", "epoch", "sample-memory", "sample-parquet")
MODEL = "model.tsmodel"  # the model the sampling phases load (fitted once on 200k rows)


# ------------------------------------------------------------------------------ the table
def _part(index: int, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, index])
    z = rng.normal(size=(rows, 4))
    load = np.random.default_rng([seed, 10**6]).normal(size=(4, 20))  # same loadings per part
    x = z @ load + 0.5 * rng.normal(size=(rows, 20))
    cols: dict[str, object] = {f"x{i:02d}": np.round(x[:, i], 3) for i in range(20)}
    cols["count_a"] = rng.poisson(np.exp(1.0 + 0.3 * z[:, 0].clip(-3, 3)))
    cols["count_b"] = rng.negative_binomial(2, 0.2, size=rows)
    for i, levels in enumerate((4, 6, 8, 10, 12, 20, 30, 40)):
        score = z[:, i % 4] + 0.7 * rng.normal(size=rows)
        cuts = np.quantile(np.random.default_rng([seed, i]).normal(size=4096) * 1.22,
                           np.linspace(0, 1, levels + 1)[1:-1])
        cols[f"c{i}"] = pd.Series(np.asarray([f"L{j:02d}" for j in range(levels)])[
            np.digitize(score, cuts)], dtype="str")
    df = pd.DataFrame(cols)
    df.loc[rng.random(rows) < 0.05, "x03"] = np.nan
    df.loc[rng.random(rows) < 0.05, "c1"] = None
    return df


def write_table(folder: Path, rows: int, seed: int) -> Path:
    """``rows`` rows as ``part-NNNNN.parquet`` files of :data:`FILE_ROWS` (reused if present)."""
    done = folder / "_DONE"
    if done.exists() and done.read_text() == f"{rows} {seed}":
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        _part(i, min(FILE_ROWS, rows - start), seed).to_parquet(
            folder / f"part-{i:05d}.parquet", index=False)
    done.write_text(f"{rows} {seed}")
    return folder


def declared_metadata():
    """Column types from names and dtypes, with public bounds/domains from the generator (the
    DP settings of the streaming fit; never read off the rows)."""
    from tabsynth import Metadata

    md = Metadata.from_dtypes(_part(0, 10, 0))
    for name, col in md.columns.items():
        if name.startswith("x"):
            col.public_bounds = (-40.0, 40.0)
        elif name.startswith("count"):
            col.public_bounds = (0, 200)
    return md


# ------------------------------------------------------------------------------ phases
def _parquet_ratios(row: dict, results: list[dict]) -> str:
    """A Parquet sampling row against the in-memory rows: on the same number of cores (a
    Parquet worker generates with one torch thread, for files that do not depend on the
    worker count; in-memory sampling with ``workers`` = w uses cores // w threads), and
    against in-memory sampling on every core (``workers`` = 1)."""
    mem = [r for r in results if r["phase"] == "sample-memory"]
    same = [r for r in mem if r["cores"] == row["cores"]]
    full = [r for r in mem if r["workers"] == 1]
    out = ""
    if same:
        out += (f", {row['rows_per_s'] / same[-1]['rows_per_s']:.0%} of in-memory sampling on "
                f"the same {row['cores']} core(s)")
    if full:
        out += (f", {row['rows_per_s'] / full[-1]['rows_per_s']:.0%} of in-memory on all "
                f"{full[-1]['cores']} core(s)")
    return out


def _model_loads(path: Path) -> bool:
    """Whether the cached sampling model exists and this version can load it (a file of an
    earlier network layout is fitted again)."""
    from tabsynth import load
    from tabsynth.errors import TabsynthError

    if not path.exists():
        return False
    try:
        load(path, device="cpu")
    except TabsynthError:
        return False
    return True


def _peak_mb() -> float:
    """This process's peak resident memory: ``VmHWM`` (fresh at exec; ``ru_maxrss`` is not:
    a child started with fork + exec keeps the parent's peak as its floor)."""
    mb = _status_mb("self", "VmHWM")
    return mb if mb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _status_mb(pid: int | str, key: str) -> float | None:
    """``key`` (``VmHWM``, ``RssAnon``...) of ``/proc/PID/status`` in MB; None if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return None


def _descendants(root: int) -> list[int]:
    """Pids of the processes below ``root`` (from ``/proc/*/stat``'s parent pids)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                parent[int(d.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    out: list[int] = []
    frontier = {root}
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier]
        out += kids
        frontier = set(kids)
    return out


class _AnonPeak:
    """Polled every 0.1 s in a thread (Linux; else ``None``): the highest ``RssAnon`` of this
    process (the resident memory that is its own, without the file pages it maps: the
    memory-mapped training table's pages are page cache, which the kernel reclaims), and
    with ``children``, the highest ``VmHWM`` of any process below it (``children_mb``: the
    training processes). A child's own ``VmHWM`` starts afresh at exec; ``RUSAGE_CHILDREN``'s
    ``ru_maxrss`` does not (it keeps the RSS the parent had when it forked the child as a
    floor). A child's growth in its last 0.1 s can be missed."""

    def __init__(self, children: bool = False) -> None:
        import threading

        self.mb: float | None = None
        self.children_mb: float | None = None
        self._children = children
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        me = os.getpid()
        while True:
            mb = _status_mb("self", "RssAnon")
            if mb is None:  # not Linux
                return
            self.mb = mb if self.mb is None else max(self.mb, mb)
            for pid in _descendants(me) if self._children else ():
                hwm = _status_mb(pid, "VmHWM")
                if hwm is not None:
                    self.children_mb = max(self.children_mb or 0.0, hwm)
            if self._stop.wait(0.1):
                return

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return self.mb


def run_phase(phase: str, folder: Path, rows: int, workers: int, sample_rows: int,
              seed: int) -> dict:
    """One phase in this process: ``{seconds, rows_per_s, peak_rss_mb, peak_anon_mb, ...}``."""
    in_workers = phase == "epoch" and workers > 1  # the epoch trains in child processes
    anon = _AnonPeak(children=in_workers)
    from tabsynth import ARSynthesizer

    out: dict[str, object] = {"phase": phase, "workers": workers, "rows": rows}
    if phase in ("stats", "encode", "epoch"):
        import contextlib

        from tabsynth.engine import DaskEngine
        from tabsynth.metadata import Metadata
        from tabsynth.models.streaming import encode_to_memmap, streamed_stats
        from tabsynth.sources import open_source
        from tabsynth.transformer import DataTransformer

        source = open_source(str(folder))
        md = Metadata.detect(source.head(10_000))
        with contextlib.ExitStack() as stack:
            if workers > 1 and phase != "epoch":  # statistics on a 2-worker LocalCluster
                source.engine = stack.enter_context(DaskEngine(n_workers=workers))
            start = time.perf_counter()
            if phase == "epoch":  # the whole streamed fit at one epoch (workers: processes)
                from tabsynth import fit_distributed

                model = ARSynthesizer(epochs=1, random_state=seed, verbose=False,
                                      device="cpu")
                fit_distributed(model, source, md, nproc=workers)
            else:
                # as a streamed fit computes them (the AR family skips the mixture fits)
                stats = streamed_stats(source, md, seed, mixtures=ARSynthesizer._uses_modes)
                if phase == "encode":
                    tr = DataTransformer(md, stats, numeric_encoding="bins", n_bins=64)
                    with encode_to_memmap(source, tr.column_codes, tr.column_domains) as codes:
                        out["memmap_mb"] = codes.nbytes / 2**20
            seconds = time.perf_counter() - start
        out.update(seconds=seconds, rows_per_s=rows / seconds,
                   rows_per_s_per_worker=rows / seconds / workers)
    elif phase == "sample-memory":
        from tabsynth import load

        model = load(folder / MODEL, device="cpu")
        model.sample(10_000, random_state=0)
        start = time.perf_counter()
        for s in range(0, sample_rows, 1_000_000):
            model.sample(min(1_000_000, sample_rows - s), random_state=s)
        seconds = time.perf_counter() - start
        out.update(seconds=seconds, rows_per_s=sample_rows / seconds)
    else:  # sample-parquet
        from tabsynth import load
        from tabsynth.sampling import sample_to_dataset

        model = load(folder / MODEL, device="cpu")
        model.sample(10_000, random_state=0)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            sample_to_dataset(model, Path(tmp) / "out", sample_rows,
                              partitions=max(8, workers * 4), workers=workers, random_state=0,
                              progress=False, model_file=folder / MODEL)
            seconds = time.perf_counter() - start
        out.update(seconds=seconds, rows_per_s=sample_rows / seconds)
    out["peak_rss_mb"] = _peak_mb()
    out["peak_anon_mb"] = anon.stop()
    if in_workers:  # the training processes' own peak (the largest)
        out["worker_peak_rss_mb"] = anon.children_mb
    return out


def _anon(row: dict) -> str:
    mb = row.get("peak_anon_mb")
    text = "" if mb is None else f" (anonymous {mb:,.0f} MB)"
    if row.get("worker_peak_rss_mb") is not None:
        text += f"; training processes' peak RSS {row['worker_peak_rss_mb']:,.0f} MB"
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--phases", default=",".join(PHASES))
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--sample-rows", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folder", default=None, help="where the generated table lives (reused)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    folder = Path(args.folder or Path(tempfile.gettempdir()) / f"tabsynth-scale-{args.rows}")
    if args.child:
        phase, workers = args.child.split(":")
        print(json.dumps(run_phase(phase, folder, args.rows, int(workers), args.sample_rows,
                                   args.seed)))
        return 0
    phases = [p for p in args.phases.split(",") if p]
    if set(phases) - set(PHASES):
        ap.error(f"--phases from {PHASES}")
    start = time.perf_counter()
    write_table(folder, args.rows, args.seed)
    print(f"table: {args.rows:,} rows x 30 columns in {folder} "
          f"({sum(f.stat().st_size for f in folder.glob('*.parquet')) / 2**20:,.0f} MiB "
          f"Parquet; {time.perf_counter() - start:.0f} s to write or reuse); "
          f"{os.cpu_count()} cores")
    if any(p.startswith("sample") for p in phases) and not _model_loads(folder / MODEL):
        from tabsynth import ARSynthesizer

        small = pd.concat([_part(i, FILE_ROWS, args.seed) for i in range(2)], ignore_index=True)
        ARSynthesizer(epochs=3, random_state=args.seed, verbose=False,
                      device="cpu").fit(small).save(folder / MODEL)
    results = []
    for phase in phases:
        counts = [int(w) for w in args.workers.split(",")]
        for workers in counts:
            cmd = [sys.executable, __file__, "--rows", str(args.rows), "--folder", str(folder),
                   "--sample-rows", str(args.sample_rows), "--seed", str(args.seed),
                   "--child", f"{phase}:{workers}"]
            env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // workers)))
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(f"{phase} x{workers}: FAILED\n{proc.stderr[-2000:]}", flush=True)
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["cores"] = min(workers, os.cpu_count() or 1) if phase == "sample-parquet" \
                else int(env["OMP_NUM_THREADS"])
            results.append(row)
            extra = _parquet_ratios(row, results) if phase == "sample-parquet" else ""
            print(f"{phase:7s} workers {workers}: {row['seconds']:.1f} s, "
                  f"{row['rows_per_s']:,.0f} rows/s, peak RSS {row['peak_rss_mb']:,.0f} MB"
                  f"{_anon(row)}{extra}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
