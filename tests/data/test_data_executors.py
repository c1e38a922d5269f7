"""The data check's model fits run on a local process pool or a Dask cluster with the same results."""

from __future__ import annotations

import pytest

from clearsight.core.datacheck import DataCheckReport
from clearsight.data import simulate as sim
from clearsight.data.check import check_table
from clearsight.executors import DaskExecutor, Executor, LocalExecutor


def _report(executor: Executor | None) -> DataCheckReport:
    data = sim.feature_backdoor(sim.flip_targeted(sim.transactions(rows=5000, seed=8), 15,
                                                  mode="account_takeover", seed=1), 0.01, seed=2)
    return check_table(data.table(), executor=executor)


def _comparable(report: DataCheckReport) -> str:
    return report.model_copy(update={"seconds": 0.0}).model_dump_json()


@pytest.fixture(scope="module")
def serial() -> str:
    report = _report(None)
    assert report.flagged and report.triggers and report.effect is not None  # the comparison is not vacuous
    return _comparable(report)


def test_process_pool_matches_the_serial_run(serial: str) -> None:
    assert _comparable(_report(LocalExecutor(2))) == serial


def test_dask_local_cluster_matches_the_serial_run(serial: str) -> None:
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       scheduler_port=0, dashboard_address=None)
    try:
        got = _comparable(_report(DaskExecutor(cluster.scheduler_address)))
    finally:
        cluster.close()
    assert got == serial
