"""``python -m mmseg_cobra <tool> [args]``: run a tool of the installed
package (``python -m mmseg_cobra`` lists them).

    python -m mmseg_cobra train configs/cobra/cobra_r152_deits_voc.py
    python -m mmseg_cobra check_dataset my_configs/cobra_voc.py
    python -m mmseg_cobra dist_train.sh CONFIG 4
"""
import os
import runpy
import sys

from mmseg_cobra.utils.tools import list_tools, tool_path


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ('-h', '--help'):
        print(__doc__.strip() + '\n\ntools:\n  ' + '\n  '.join(list_tools()))
        return
    try:
        path = tool_path(sys.argv[1])
    except FileNotFoundError as exc:
        sys.exit(f'error: {exc}')
    if path.endswith('.sh'):
        os.execvp('bash', ['bash', path] + sys.argv[2:])
    sys.argv = [path] + sys.argv[2:]
    runpy.run_path(path, run_name='__main__')


if __name__ == '__main__':
    main()
