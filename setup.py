import os.path as osp
from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open(osp.join('mmseg_cobra', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(path: str) -> list:
    with open(path) as f:
        return [
            line.split('#')[0].strip() for line in f
            if line.split('#')[0].strip()
        ]


setup(
    name='mmseg_cobra',
    version=read_version(),
    description='CoBra weakly supervised semantic segmentation for '
    'mmsegmentation 1.x',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(
        exclude=('configs', 'tools', 'tests', 'benchmarks')),
    # the configs and tools travel inside the package (mmseg_cobra/.mim/
    # configs and .mim/tools link to configs/ and tools/; a wheel gets
    # copies), where mmengine resolves `mmseg_cobra::` bases, where OpenMIM's
    # `mim run` looks, and where `python -m mmseg_cobra <tool>` finds them
    package_data={
        'mmseg_cobra': [
            '.mim/model-index.yml', '.mim/configs/*.py', '.mim/configs/*/*.py',
            '.mim/configs/*/*/*.py', '.mim/tools/*.py', '.mim/tools/*.sh',
            '.mim/tools/*/*.py'
        ]
    },
    include_package_data=False,
    python_requires='>=3.9',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={
        'tests': read_requirements('requirements/tests.txt'),
        'coco': ['pycocotools'],
    },
    zip_safe=False,
)
