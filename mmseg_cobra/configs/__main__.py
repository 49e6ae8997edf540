"""``python -m mmseg_cobra.configs list|export CONFIG DEST``: the configs
shipped with mmseg_cobra, and a copy of one with every base it needs."""
import argparse
import sys

from mmseg_cobra.configs import export_config, list_configs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog='python -m mmseg_cobra.configs',
        description='List or export the configs shipped with mmseg_cobra.')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('list', help='list the configs')
    exp = sub.add_parser(
        'export',
        help='copy a config and every base it needs from '
        'mmseg_cobra into DEST (mmseg:: bases stay external)')
    exp.add_argument('config', help='e.g. cobra/cobra_r152_deits_voc.py')
    exp.add_argument('dest')
    args = parser.parse_args(argv)
    if args.command == 'list':
        print('\n'.join(list_configs()))
        return
    try:
        files = export_config(args.config, args.dest)
    except FileNotFoundError as exc:
        sys.exit(f'error: {exc}')
    print(f'wrote {len(files)} files under {args.dest}:')
    for path in files:
        print(f'  {path}')
    print('train it with mmseg\'s tools/train.py: the config carries '
          "custom_imports=dict(imports=['mmseg_cobra'])")


if __name__ == '__main__':
    main()
