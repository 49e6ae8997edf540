"""The pipeline runner on stages of its own (the real stage table's
commands are the tools, tested in tests/test_tools): a stage runs its
commands in order and records what its record function returns, with
its time and peak memory; a failing command stops the run naming the
stage, its exit status and this run's log lines, and records nothing; a
recorded stage is skipped. In a several-node job, a joining node that
fails tells node 0 (with its error), and node 0 words that report so the
user sees which node stopped and where its log is."""
import json
import os.path as osp
import sys
import types

import pytest

from mmseg_cobra.pipeline.context import Command, PipelineError
from mmseg_cobra.pipeline.launchers import StageLauncher, free_port_pair
from mmseg_cobra.pipeline.layout import WorkDirLayout
from mmseg_cobra.pipeline.rendezvous import JobRendezvous
from mmseg_cobra.pipeline.runner import CoBraPipeline
from mmseg_cobra.pipeline.stage_process import StageSignals
from mmseg_cobra.pipeline.stages import Stage


def _runner(work_dir):
    """A one-process runner without a pipeline config: what
    ``_run_stage`` and ``_pending`` read."""
    pipe = CoBraPipeline.__new__(CoBraPipeline)
    pipe.cfg = {}
    pipe.verbose = False
    pipe.layout = WorkDirLayout(work_dir)
    pipe.launch = StageLauncher(python=sys.executable)
    pipe.in_checkout = False
    pipe.cwd = work_dir
    pipe.ctx = types.SimpleNamespace(tag='[pipeline]', out=work_dir)
    pipe.signals = StageSignals(grace=1.0)
    pipe._fingerprints = {}
    pipe._peak_rss_mb = {}
    return pipe


def _append(path, word, status=0):
    """A command that appends ``word`` to ``path``, prints it, exits with
    ``status``."""
    code = (f'open({path!r}, "a").write({word!r} + " "); '
            f'print("said", {word!r}); raise SystemExit({status})')
    return Command([sys.executable, '-c', code])


def _stage(name, commands, record):
    return Stage(name, (), 'irn', None, (), (), commands, record)


def test_a_stage_runs_its_commands_and_is_recorded(tmp_path, capsys):
    work = str(tmp_path)
    pipe = _runner(work)
    said = str(tmp_path / 'said')
    stage = _stage('masks',
                   lambda ctx: [_append(said, 'one'),
                                _append(said, 'two')],
                   lambda ctx: dict(mask_dir=osp.join(ctx.out, 'masks')))
    assert pipe._pending('masks')
    pipe._run_stage(stage)
    assert open(said).read() == 'one two '  # in order
    with open(pipe.layout.record('masks')) as f:
        record = json.load(f)
    assert record['mask_dir'] == osp.join(work, 'masks')
    assert record['seconds'] >= 0 and record['peak_rss_mb'] > 0
    log = open(pipe.layout.log('masks')).read()
    assert log.count(f'$ {sys.executable} -c') == 2
    assert 'said one' in log and 'said two' in log
    out = capsys.readouterr().out
    assert '[pipeline] masks (stage ' in out
    assert '[pipeline] masks: finished in 0:00:0' in out
    # recorded: the next run skips it
    assert not pipe._pending('masks')
    assert '[pipeline] masks: done before, skipped' in capsys.readouterr().out


def test_a_failing_command_stops_the_stage_unrecorded(tmp_path):
    pipe = _runner(str(tmp_path))
    said = str(tmp_path / 'said')
    log_path = pipe.layout.log('seeds')
    pipe._run_stage(  # an earlier run's log lines stay out of the error
        _stage('seeds', lambda ctx: [_append(said, 'earlier')],
               lambda ctx: {}))
    stage = _stage(
        'seeds',
        lambda ctx: [_append(said, 'first', status=3),
                     _append(said, 'never')],
        lambda ctx: pytest.fail('a failed stage is not recorded'))
    with pytest.raises(PipelineError) as err:
        pipe._run_stage(stage)
    message = str(err.value)
    assert message.startswith(
        f'stage seeds failed (exit 3); log: {log_path}\n')
    assert 'said first' in message and 'said earlier' not in message
    assert open(said).read() == 'earlier first '  # stopped at the failure


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
