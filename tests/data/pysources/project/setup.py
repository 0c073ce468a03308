import setuptools
from setuptools import setup as build

BASE = [
    "numpy==1.18.5",
    'scipy>=1.5',
]
EXTRA = {"cuda": ["cupy==12.0"]}


def read(name):
    return open(name).read().splitlines()


setuptools.setup(
    name="demo",
    install_requires=BASE + ["psycopg2-binary==2.9.9", f"x=={1}", "tor" "ch==2.1.0"],
    setup_requires=read("build.txt"),
    extras_require=EXTRA,
)
build(install_requires=["pyyaml==6.0.1"])
