"""The library's fault points (``utils.fault``): no-ops without a plugin;
with one, its ``fault_point`` and ``training_hooks`` are what run."""
import pytest

from mmseg_cobra.utils import fault
from mmseg_cobra.utils.errors import UserError

PLUGIN = '''
calls = []
def fault_point(site, path):
    calls.append((site, path))
def training_hooks():
    return ['a hook']
'''


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(fault, '_plugin', None)
    return monkeypatch


def test_without_a_plugin_every_point_is_a_no_op(fresh):
    fresh.delenv(fault.PLUGIN_ENV, raising=False)
    fault.fault_point('seed', '/no/such/file')
    assert fault.training_hooks() == [] and fault.fault_plugin() is None


def test_the_plugin_is_loaded_once_and_called(fresh, tmp_path):
    path = tmp_path / 'plugin.py'
    path.write_text(PLUGIN)
    fresh.setenv(fault.PLUGIN_ENV, str(path))
    fault.fault_point('seed.partial', 'x.tmp')
    fault.fault_point('stage_done.seeds')
    plugin = fault.fault_plugin()
    assert plugin.calls == [('seed.partial', 'x.tmp'),
                            ('stage_done.seeds', None)]
    assert fault.training_hooks() == ['a hook']


def test_a_plugin_that_is_not_there_is_named(fresh, tmp_path):
    fresh.setenv(fault.PLUGIN_ENV, str(tmp_path / 'gone.py'))
    with pytest.raises(UserError, match='gone.py: no such Python file'):
        fault.fault_point('seed')
