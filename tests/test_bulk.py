"""Bulk jobs (copy_engine/bulk.py, `python -m copy_engine bulk`): resumable after interruptions
at several points, skip reasons, CSV shape and quoting, no duplicates, workers, bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from copy_engine import bulk
from copy_engine.cli import main
from copy_engine.store import open_db
from copy_engine.store.favourites import approvable, list_favourites

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["product_id", "product_name", "channel", "rank", "text", "overall", "predicted_ctr", "faithfulness",
          "flags", "settings"]  # fmt: skip

CATALOG = (
    "Product Name,Brand Name,Category,Selling Price,About Product\n"
    'Trail Mug,Peakware,Home | Mugs,$19.99,"Keeps coffee hot 6 hours | Leak-proof lid"\n'
    ",NoName,Misc,$1,a row without a name\n"
    "Desk Lamp,Lumo,Home | Lighting,$34.99,Dimmable | USB-C\n"
    '"=SUM(A1:A9)",Evil,Misc,$2,a name that looks like a formula\n'
    "Trail Mug,Peakware,Home | Mugs,$19.99,the same product again\n"
    'Café Crème Tin,"Maison, Paris",Grocery,€7,"Ground coffee | ""Dark"" roast"\n'
    "Blank Widget,Nobody,Misc,$3,the model writes nothing usable for it\n"
    "Tea Cup,Leafwell,Home,$9,Porcelain\n"
)
USABLE = ["Trail Mug", "Desk Lamp", "=SUM(A1:A9)", "Café Crème Tin", "Tea Cup"]  # Blank Widget gets nothing


class CatalogFake:
    """conftest's fake generator, writing nothing usable for 'Blank Widget', counting calls per product."""

    max_concurrency = 16  # like a llama.cpp server: concurrent requests are served together

    def __init__(self, base, fail_on=None, delay_s=0.0):
        self.base, self.fail_on, self.delay_s = base, fail_on, delay_s
        self.name, self.device, self.dtype, self.backend = base.name, base.device, base.dtype, base.backend
        self.adapter_names, self.always_on = base.adapter_names, base.always_on
        self.products: list[str] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def complete(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        name = prompt.rsplit("Product: ", 1)[-1].split("\n", 1)[0].strip()
        with self._lock:
            self.products.append(name)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.fail_on and self.fail_on(name, len(self.products)):
                raise RuntimeError("backend went away")
            if name == "Blank Widget":
                return ["\n"] * n
            outs = self.base.complete(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)
            if name.startswith("="):  # copy that starts like a spreadsheet formula
                outs = [f"{name} {o.split('. ', 1)[-1]}" for o in outs]
            return outs
        finally:
            with self._lock:
                self.active -= 1

    def complete_scored(self, prompt, n, decoding, *, seed=0, adapter_weights=None):
        from copy_engine.generator import Sample

        return [Sample(t) for t in self.complete(prompt, n, decoding, seed=seed, adapter_weights=adapter_weights)]


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture
def engine(fake_generator, fake_embedder):
    from conftest import FakeCtrPredictor

    return bulk.Engine(CatalogFake(fake_generator), fake_embedder, FakeCtrPredictor())


def settings(**kw) -> bulk.BulkSettings:
    return bulk.BulkSettings(**{"channels": ("headline", "email_subject"), "n": 2, **kw})


def read_csv(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, as the library export"
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows = [dict(zip(header, r)) for r in reader]
    assert all(len(r) == len(header) for r in rows)
    return [{"_header": header, **r} for r in rows]


def variant_keys(db, job_id):
    return [
        (r["position"], r["channel"], r["rank"])
        for r in db.query("SELECT position, channel, rank FROM bulk_job_variants WHERE job_id = ?", [job_id])
    ]


def test_job_writes_every_usable_product_with_skip_reasons(tmp_path, catalog, engine):
    db = open_db(tmp_path / "c.db")
    job = bulk.create_job_from_catalog(db, catalog, settings())
    assert job.startswith("bulk-")
    seen = []
    progress = bulk.run_job(db, job, engine=engine, on_progress=seen.append)
    assert progress.status == "done" and progress.total == 8
    assert progress.done == 5 and progress.skipped == 3
    assert seen[-1].finished == 8 and "products/min" in seen[-1].line() and "ETA" in seen[-1].line()

    summary = bulk.job_summary(db, job)
    reasons = {s["product_name"] or f"row {s['row_number']}": s["reason"] for s in summary["skipped"]}
    assert reasons["row 3"] == "no product name"
    assert reasons["Trail Mug"] == "duplicate of row 2"
    assert reasons["Blank Widget"].startswith("nothing usable after the sampling rounds")
    assert summary["variants"] == 5 * 2 * 2
    assert 0 < summary["mean_scores"]["overall"] <= 1 and 0 <= summary["mean_scores"]["quality"] <= 1

    # Every variant is a draft favourite with its scores, settings and the job id.
    favs = list_favourites(db, job_id=job)
    assert len(favs) == 20 and {f["status"] for f in favs} == {"draft"}
    assert all(f["settings"]["job_id"] == job and "overall" in f["scores"] for f in favs)
    assert all(f["settings"]["n"] == 2 and f["settings"]["creativity"] == 0.5 for f in favs)
    assert list_favourites(db, job_id="another-job") == []
    assert sorted({f["product_name"] for f in favs}) == sorted(USABLE)


def test_csv_shape_quoting_and_formula_safety(tmp_path, catalog, engine):
    db = open_db(tmp_path / "c.db")
    job = bulk.create_job_from_catalog(db, catalog, settings())
    bulk.run_job(db, job, engine=engine)
    out = tmp_path / "out.csv"
    assert bulk.write_job_csv(db, job, out) == 20
    rows = read_csv(out)
    assert rows[0]["_header"] == [*HEADER[:7], "quality", *HEADER[7:]]  # the usable-copy judge scores every variant
    assert len(rows) == 20
    # Catalog order, then the channels in the order asked, then rank.
    names = list(dict.fromkeys(r["product_name"] for r in rows))
    assert names == ["Trail Mug", "Desk Lamp", "'=SUM(A1:A9)", "Café Crème Tin", "Tea Cup"]
    mug = [(r["channel"], r["rank"]) for r in rows if r["product_name"] == "Trail Mug"]
    assert mug == [("headline", "1"), ("headline", "2"), ("email_subject", "1"), ("email_subject", "2")]
    assert all(not r["text"].startswith(("=", "+", "-", "@")) for r in rows), "formula-safe text cells"
    assert any(r["text"].startswith("'") and "=SUM" in r["text"] for r in rows)
    cafe = next(r for r in rows if r["product_name"] == "Café Crème Tin")
    assert "Café Crème" in cafe["text"], "UTF-8 kept"
    for r in rows:
        assert 0 <= float(r["overall"]) <= 1 and 0 <= float(r["faithfulness"]) <= 1
        assert isinstance(json.loads(r["flags"]), list)
        assert json.loads(r["settings"])["channel"] == r["channel"]
        assert int(r["product_id"]) > 0


def test_quality_column_appears_when_variants_have_a_quality_score(tmp_path, catalog, engine, monkeypatch):
    import copy_engine.generate as gen_module

    real = gen_module.generate

    def with_quality(*args, **kwargs):
        result = real(*args, **kwargs)
        for v in result.variants:
            v.scores["quality"] = 0.75
        return result

    monkeypatch.setattr(gen_module, "generate", with_quality)
    db = open_db(tmp_path / "c.db")
    job = bulk.create_job_from_catalog(db, catalog, settings(limit=2))
    bulk.run_job(db, job, engine=engine)
    bulk.write_job_csv(db, job, tmp_path / "q.csv")
    rows = read_csv(tmp_path / "q.csv")
    assert rows[0]["_header"] == [*HEADER[:7], "quality", *HEADER[7:]]
    assert {r["quality"] for r in rows} == {"0.75"}


def test_interrupted_between_products_resumes_without_duplicates(tmp_path, catalog, engine):
    db = open_db(tmp_path / "c.db")
    job = bulk.create_job_from_catalog(db, catalog, settings())

    def die_after_two(p):
        if p.done == 2:
            raise KeyboardInterrupt  # Ctrl-C right after the second product was committed

    with pytest.raises(KeyboardInterrupt):
        bulk.run_job(db, job, engine=engine, on_progress=die_after_two)
    p = bulk.job_progress(db, job)
    assert p.done == 2 and p.status == "paused"
    written = set(engine.generator.products)
    calls_before = len(engine.generator.products)

    assert bulk.run_job(db, job, engine=engine).status == "done"
    later = engine.generator.products[calls_before:]
    assert not written & set(later), "products already written are not generated again"
    keys = variant_keys(db, job)
    assert len(keys) == len(set(keys)) == 20
    assert len(list_favourites(db, job_id=job)) == 20


def test_failure_in_the_middle_of_a_product_loses_nothing_and_resumes(tmp_path, catalog, engine):
    db = open_db(tmp_path / "c.db")
    job = bulk.create_job_from_catalog(db, catalog, settings())
    # Desk Lamp's first channel is written, then the backend dies during its second channel.
    lamp_calls = []

    def fail(name, _):
        if name == "Desk Lamp":
            lamp_calls.append(1)
            return len(lamp_calls) == 2
        return False

    engine.generator.fail_on = fail
    with pytest.raises(bulk.BulkJobError, match="backend went away"):
        bulk.run_job(db, job, engine=engine)
    p = bulk.job_progress(db, job)
    assert p.status == "failed" and "backend went away" in p.error
    assert p.done == 1, "Trail Mug (before the failure) is kept"
    assert not list_favourites(db, job_id=job, product_id=_pid(db, "Desk Lamp")), "half a product is never saved"

    engine.generator.fail_on = None
    assert bulk.run_job(db, job, engine=engine).status == "done"
    keys = variant_keys(db, job)
    assert len(keys) == len(set(keys)) == 20
    lamp = list_favourites(db, job_id=job, product_id=_pid(db, "Desk Lamp"))
    assert sorted((f["channel"], f["settings"]["job_id"]) for f in lamp) == sorted(
        [("headline", job)] * 2 + [("email_subject", job)] * 2
    )


def _pid(db, name):
    return db.execute("SELECT id FROM products WHERE name = ?", [name]).fetchone()[0]


def test_ctrl_c_inside_a_worker_pauses_the_job(tmp_path, catalog, engine):
    db = open_db(tmp_path / "c.db")
    job = bulk.create_job_from_catalog(db, catalog, settings())
    original = engine.generator.complete
    count = {"n": 0}

    def interrupted(*a, **k):
        count["n"] += 1
        if count["n"] == 5:
            raise KeyboardInterrupt
        return original(*a, **k)

    engine.generator.complete = interrupted
    with pytest.raises(KeyboardInterrupt):
        bulk.run_job(db, job, engine=engine)
    assert bulk.job_progress(db, job).status == "paused"
    engine.generator.complete = original
    assert bulk.run_job(db, job, engine=engine).status == "done"
    assert len(set(variant_keys(db, job))) == len(variant_keys(db, job)) == 20


def test_kill_9_mid_job_then_rerun_the_same_command(tmp_path, catalog):
    """A real kill -9 of the CLI process while products are in flight; the same command then completes."""
    out = tmp_path / "out.csv"
    env = {**os.environ, "COPYLAB_DB": str(tmp_path / "k.db"), "COPYLAB_HOME": str(tmp_path / "home"),
           "HF_HUB_OFFLINE": "1", "COPYLAB_FAKE_DELAY_S": "0.15"}  # fmt: skip
    cmd = [sys.executable, str(ROOT / "tests" / "bulk_fake_cli.py"), "bulk", "--catalog", str(catalog),
           "--channel", "headline", "--channel", "email_subject", "--n", "2", "--workers", "2",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "2/8 products" in line or "3/8 products" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, lines
    assert not out.exists(), "the CSV is only written once the job is complete"
    db = open_db(tmp_path / "k.db")
    job = bulk.list_jobs(db)[0]["id"]
    before = bulk.job_progress(db, job)
    assert before.status == "running" and before.finished < 8  # killed: no chance to say otherwise
    kept = sorted(variant_keys(db, job))

    env["COPYLAB_FAKE_DELAY_S"] = "0"
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    # The killed run's heartbeat is still fresh, but a dead pid on this host is recognised at once.
    assert r.returncode == 0, r.stderr
    # This fake writes for Blank Widget too: 6 products, 2 skipped (no name, duplicate).
    assert "8/8 products (2 skipped)" in r.stderr and "products/min" in r.stderr
    keys = variant_keys(db, job)
    assert len(keys) == len(set(keys)) == 24 and set(kept) <= set(keys)
    assert len(read_csv(out)) == 24
    assert f"job {job}: 6 products written, 2 skipped, 24 variants" in r.stdout


def test_same_command_twice_is_one_job_and_does_not_regenerate(tmp_path, catalog, fake_engine, monkeypatch, capsys):
    monkeypatch.setenv("COPYLAB_DB", str(tmp_path / "c.db"))
    argv = ["bulk", "--catalog", str(catalog), "--channel", "headline", "--n", "2", "--limit", "4",
            "--out", str(tmp_path / "a.csv")]  # fmt: skip
    assert main(argv) == 0
    first = (tmp_path / "a.csv").read_bytes()
    calls = len(fake_engine.calls)
    assert main([*argv[:-1], str(tmp_path / "b.csv")]) == 0
    assert len(fake_engine.calls) == calls, "a finished job only rewrites its CSV"
    assert (tmp_path / "b.csv").read_bytes() == first
    db = open_db(tmp_path / "c.db")
    assert len(bulk.list_jobs(db)) == 1
    assert main([*argv[:-2], "--creativity", "0.9", "--out", str(tmp_path / "c.csv")]) == 0
    assert len(bulk.list_jobs(db)) == 2, "other settings are another job"
    assert len(read_csv(tmp_path / "a.csv")) == 3 * 2, "--limit 4 takes 4 rows: 3 usable, one without a name"


def test_workers_generate_several_products_at_once_with_the_same_copy(tmp_path, catalog, fake_generator, fake_embedder):
    from conftest import FakeCtrPredictor

    class CountingEmbedder:
        def __init__(self):
            self.active = self.max_active = 0
            self.lock = threading.Lock()

        def encode(self, texts):
            with self.lock:
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            time.sleep(0.005)
            try:
                return fake_embedder.encode(texts)
            finally:
                with self.lock:
                    self.active -= 1

    texts = {}
    for workers in (1, 4):
        gen, emb = CatalogFake(fake_generator, delay_s=0.05), CountingEmbedder()
        db = open_db(tmp_path / f"w{workers}.db")
        job = bulk.create_job_from_catalog(db, catalog, settings())
        bulk.run_job(db, job, workers=workers, engine=bulk.Engine(gen, emb, FakeCtrPredictor()))
        texts[workers] = bulk.job_csv(db, job).splitlines()[1:]
        texts[workers] = [line.split(",", 4)[1:] for line in texts[workers]]
        if workers == 4:
            assert gen.max_active > 1, "several products were in flight at once"
            assert emb.max_active == 1, "the local scorers take turns (torch threads on few cores thrash)"
    assert texts[1] == texts[4], "same settings and seed give the same copy whatever the number of workers"


def test_a_generator_without_max_concurrency_gets_one_product_at_a_time(
    tmp_path, catalog, fake_generator, fake_embedder
):
    from conftest import FakeCtrPredictor

    gen = CatalogFake(fake_generator, delay_s=0.02)
    gen.max_concurrency = None  # like the in-process transformers generator
    assert bulk.concurrency(gen, 4) == 1 and bulk.concurrency(CatalogFake(fake_generator), 4) == 4
    db = open_db(tmp_path / "serial.db")
    job = bulk.create_job_from_catalog(db, catalog, settings())
    assert bulk.run_job(db, job, workers=4, engine=bulk.Engine(gen, fake_embedder, FakeCtrPredictor())).done == 5
    assert gen.max_active == 1


def test_all_products_in_the_database(tmp_path, fake_engine, monkeypatch, capsys):
    from copy_engine.store.products import add_product

    monkeypatch.setenv("COPYLAB_DB", str(tmp_path / "c.db"))
    db = open_db()
    for name in ("Tea Cup", "Desk Lamp", "Trail Mug"):
        add_product(db, {"name": name})
    assert main(["bulk", "--all", "--channel", "headline", "--n", "1", "--out", str(tmp_path / "all.csv")]) == 0
    rows = read_csv(tmp_path / "all.csv")
    assert [r["product_name"] for r in rows] == ["Tea Cup", "Desk Lamp", "Trail Mug"]


def test_named_job_and_pause_cancel(tmp_path, catalog, engine):
    db = open_db(tmp_path / "c.db")
    job = bulk.create_job_from_catalog(db, catalog, settings(), name="spring-2026")
    assert job == "spring-2026"
    assert bulk.create_job_from_catalog(db, catalog, settings(), name="spring-2026") == job
    with pytest.raises(Exception, match="another catalog or other settings"):
        bulk.create_job_from_catalog(db, catalog, settings(n=3), name="spring-2026")

    def pause_after_first(p):
        if p.done == 1:
            bulk.request_stop(db, job, "paused")

    p = bulk.run_job(db, job, engine=engine, on_progress=pause_after_first)
    assert p.status == "paused" and p.done == 1
    p = bulk.run_job(db, job, engine=engine)
    assert p.status == "done" and p.done == 5
    bulk.request_stop(db, job, "cancelled")
    assert bulk.job_progress(db, job).status == "done", "a finished job stays done"


def test_approvable_uses_quality_and_faithfulness(tmp_path):
    favs = [
        {"id": 1, "status": "draft", "scores": {"quality": 0.9, "faithfulness": 0.95}},
        {"id": 2, "status": "draft", "scores": {"quality": 0.6, "faithfulness": 0.95}},
        {"id": 3, "status": "draft", "scores": {"faithfulness": 0.9}},  # written before the quality judge
        {"id": 4, "status": "approved", "scores": {"quality": 0.9, "faithfulness": 0.9}},
        {"id": 5, "status": "draft", "scores": {"overall": 0.99}},
        {"id": 6, "status": "draft", "scores": {"quality": 0.8, "faithfulness": 0.8}},
    ]
    assert approvable(favs, 0.8) == [1, 3]
    with pytest.raises(Exception, match="between 0 and 1"):
        approvable(favs, 1.5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--channel", "billboard"], "unknown channel"),
        (["--n", "20"], "between 1 and 8"),
        (["--sentiment", "3"], "sentiment must be between"),
        (["--workers", "0"], "--workers must be between"),
        (["--limit", "0"], "--limit must be"),
        (["--job", "bad name!"], "job name"),
        (["--catalog", "/no/such.csv"], "not found"),
        (["--out", "/no/such/folder/out.csv"], "does not exist"),
        (["--catalog", "{empty}"], "empty"),
        (["--all"], "no products"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, catalog, args, message, monkeypatch, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    base = {"--catalog": str(catalog), "--channel": "headline", "--n": "2", "--out": str(tmp_path / "o.csv")}
    argv = []
    given = dict(zip(args[::2], args[1::2])) if args != ["--all"] else {}
    for flag, value in base.items():
        if flag == "--catalog" and args == ["--all"]:
            argv += ["--all"]
            continue
        argv += [flag, given.pop(flag, value)]
    for flag, value in given.items():
        argv += [flag, value]
    argv = [str(empty) if a == "{empty}" else a for a in argv]
    monkeypatch.setenv("COPYLAB_DB", str(tmp_path / "h" / "c.db"))
    assert main(["bulk", *argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "o.csv").exists()


def test_bad_input_from_the_shell_is_one_line_without_a_traceback(tmp_path, catalog):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "COPYLAB_HOME": str(tmp_path / "h")}
    cmd = [sys.executable, "-m", "copy_engine", "bulk", "--catalog", str(catalog), "--channel", "billboard",
           "--n", "2", "--out", str(tmp_path / "o.csv")]  # fmt: skip
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown channel" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.real_model
def test_real_model_three_products(tmp_path, shared_data, real_settings, monkeypatch, capsys):
    """Three catalog products, two channels, the real Gemma model, scorers and CTR predictor."""
    monkeypatch.setenv("COPYLAB_HOME", str(real_settings.home))
    monkeypatch.setenv("COPYLAB_DB", str(tmp_path / "real.db"))
    out = tmp_path / "real.csv"
    argv = ["bulk", "--catalog", str(shared_data / "products" / "amazon_products_sample.csv"), "--channel",
            "ad_headline", "--n", "2", "--limit", "3", "--workers", "2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "3/3 products" in err and "products/min" in err
    rows = read_csv(out)
    db = open_db(tmp_path / "real.db")
    job = bulk.list_jobs(db)[0]["id"]
    p = bulk.job_progress(db, job)
    assert p.done + p.skipped == 3 and p.done >= 2
    assert len(rows) == 2 * p.done
    for r in rows:
        assert 0 < len(r["text"]) <= 30 and r["channel"] == "ad_headline"
        assert json.loads(r["settings"])["model"] != "fake-generator"
    assert len(list_favourites(db, job_id=job)) == len(rows)
