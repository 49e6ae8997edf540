"""Write the synthetic WSSS dataset (VOC layout) used by the demo and tests.

    python tools/dataset_converters/synthetic.py data/synthetic \
        --num-train 200 --num-val 50 --num-classes 4 --seed 0
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmseg_cobra.datasets.synthetic import generate_synthetic_voc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--num-classes', type=int, default=4)
    parser.add_argument(
        '--size', type=int, nargs=2, default=(160, 160), metavar=('H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    ids = generate_synthetic_voc(args.out_dir, args.num_train, args.num_val,
                                 args.num_classes, tuple(args.size), args.seed)
    print(f'wrote {len(ids["train_aug"])} train_aug and {len(ids["val"])} '
          f'val images to {args.out_dir}')


if __name__ == '__main__':
    main()
