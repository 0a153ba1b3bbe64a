"""`encoder sim --scheduler`: the shards on a Dask cluster give the results of a local run."""

import json

import pytest

from encoder.cli import main
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from rtl_helpers import need_tool


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield c
    c.close()


def _shard_results(run):
    out = {}
    for d in sorted((run / "shards").iterdir()):
        r = json.loads((d / "result.json").read_text())
        out[d.name] = {k: r[k] for k in ("checked", "mismatches", "vectors") if k in r}
    return out


def test_sim_on_a_local_dask_cluster_equals_the_local_run(tmp_path, cluster, capsys):
    need_tool("iverilog")
    design = tmp_path / "d"
    write_design(generate(synthetic_ir("tiny_conv", "qkeras", seed=4), "programmable"), design)
    common = ["sim", str(design), "--vectors", "120", "--jobs", "2", "--seed", "3",
              "--build-dir", str(tmp_path / "build")]
    assert main(common + ["--out", str(tmp_path / "local")]) == 0
    assert main(common + ["--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address]) == 0
    a = json.loads((tmp_path / "local" / "summary.json").read_text())
    b = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert b["scheduler"] == cluster.scheduler_address and a["scheduler"] is None
    for key in ("status", "checked", "mismatches", "latency_seen", "shards", "stimulus"):
        assert a[key] == b[key], key
    assert [(m["name"], m["hash"]) for m in a["models"]] == [(m["name"], m["hash"]) for m in b["models"]]
    assert a["status"] == "pass" and a["checked"] >= 120
    assert _shard_results(tmp_path / "local") == _shard_results(tmp_path / "dask")


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    design = tmp_path / "d"
    write_design(generate(synthetic_ir("tiny_dense", "qkeras", seed=1), "constant"), design)
    rc = main(["sim", str(design), "--vectors", "5", "--out", str(tmp_path / "r"), "--scheduler", "tcp://127.0.0.1:9",
               "--build-dir", str(tmp_path / "build")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "cannot connect" in err and "\n" not in err
    assert not (tmp_path / "r").exists()
