"""Write the synthetic WSSS dataset (VOC layout) used by the demo and tests.

    python tools/dataset_converters/synthetic.py data/synthetic \
        --num-train 200 --num-val 50 --num-classes 4 --seed 0
"""
import sys

from mmseg_cobra.cli import tool_parser
from mmseg_cobra.datasets.synthetic import generate_synthetic_voc
from mmseg_cobra.utils.errors import run_cli


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('root', help='the folder the dataset is written to')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--num-classes', type=int, default=4)
    parser.add_argument(
        '--size', type=int, nargs=2, default=(160, 160), metavar=('H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    ids = generate_synthetic_voc(args.root, args.num_train, args.num_val,
                                 args.num_classes, tuple(args.size), args.seed)
    print(f'wrote {len(ids["train_aug"])} train_aug and {len(ids["val"])} '
          f'val images to {args.root}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
