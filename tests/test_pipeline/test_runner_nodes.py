"""The pipeline runner's side of a several-node job: a joining node that
fails tells node 0 (with its error), and node 0 words that report so the
user sees which node stopped and where its log is."""
import sys

import pytest

from mmseg_cobra.pipeline.context import PipelineError
from mmseg_cobra.pipeline.launchers import StageLauncher, free_port_pair
from mmseg_cobra.pipeline.layout import WorkDirLayout
from mmseg_cobra.pipeline.rendezvous import JobRendezvous
from mmseg_cobra.pipeline.runner import CoBraPipeline


def _node(port, node_rank, work_dir):
    """A runner of node ``node_rank`` of a two-node job, without a
    pipeline config (only its node-to-node part is exercised here)."""
    pipe = CoBraPipeline.__new__(CoBraPipeline)
    pipe.launch = StageLauncher(
        'pytorch',
        nproc=1,
        nnodes=2,
        node_rank=node_rank,
        master_addr='127.0.0.1',
        master_port=port,
        python=sys.executable)
    pipe.layout = WorkDirLayout(work_dir)
    pipe.join_timeout = 30.0
    pipe.rendezvous = None
    return pipe


def test_a_failing_joining_node_reports_to_node0(tmp_path, monkeypatch):
    port = free_port_pair()
    driver = JobRendezvous('127.0.0.1', port + 1, drives=True)
    node0 = _node(port, 0, str(tmp_path))
    node0.rendezvous = driver
    assert node0._node_failure() is None

    def fail(self):
        raise PipelineError('stage masks failed (exit 1); log: x.log')

    monkeypatch.setattr(CoBraPipeline, '_follow', fail)
    with pytest.raises(PipelineError, match='stage masks failed'):
        _node(port, 1, str(tmp_path))._join()
    message = node0._node_failure()
    assert message.startswith('node 1 of this job stopped: PipelineError: '
                              'stage masks failed (exit 1); log: x.log')
    assert f'{tmp_path}/logs/<stage>.node1.log' in message


def test_joining_needs_several_nodes(tmp_path):
    pipe = _node(free_port_pair(), 1, str(tmp_path))
    pipe.launch.nnodes = 1
    with pytest.raises(PipelineError, match='--nnodes > 1'):
        pipe._join()
