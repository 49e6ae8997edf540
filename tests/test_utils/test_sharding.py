"""Image sharding and the merge of per-rank summaries (in process); the
sharded tools against one process run in tests/test_tools/
test_pipeline_cluster.py."""
from mmseg_cobra.offline.label_writers import (EXISTS, NO_FOREGROUND, WRITTEN,
                                               WriteSummary)
from mmseg_cobra.utils.sharding import first_by_index, shard, sum_over_ranks


def test_image_i_goes_to_rank_i_mod_world():
    items = list(range(10))
    parts = [shard(items, r, 3) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(sum(parts, [])) == items
    assert shard(items) == items  # one process: everything


def test_sum_over_one_rank_is_a_copy():
    import numpy as np
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    b = sum_over_ranks(a)
    assert np.array_equal(a, b) and b is not a


def test_summaries_merge_like_one_process():
    ids = [f'img{i}' for i in range(30)]
    status = {}
    for i, img_id in enumerate(ids):
        status[img_id] = (WRITTEN if i %
                          5 else EXISTS) if i % 7 else f'seed {i} missing'
        if i % 11 == 3:
            status[img_id] = f'{NO_FOREGROUND} (thresholds 0.3/0.6)'
    whole = WriteSummary.of(status)
    order = {k: i for i, k in enumerate(ids)}
    parts = [
        WriteSummary.of({k: status[k]
                         for k in shard(ids, r, 3)}) for r in range(3)
    ]
    merged = WriteSummary.merge(parts, order)
    assert merged == whole
    assert list(merged.skipped_ids) == [
        k for k in ids if status[k].startswith('seed')
    ]
    assert merged.exit_code() == 1 and merged.exit_code(True) == 0
    assert WriteSummary.merge(None, order) is None


def test_first_by_index_keeps_dataset_order():
    order = {'a': 0, 'b': 1, 'c': 2, 'd': 3}
    parts = [{'c': 3, 'a': 1}, {'d': 4, 'b': 2}]
    assert list(first_by_index(parts, order, 3)) == ['a', 'b', 'c']
    assert first_by_index(parts, order, None) == dict(a=1, b=2, c=3, d=4)
